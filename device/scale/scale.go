package scale

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/device/plc"
	"go.bug.st/serial"
)

// Config configures a Scale.
type Config struct {
	// Serial is the port and line settings. Serial.Port is required.
	Serial SerialLine
	// Instrument is the id the readings carry, such as "SC-01". Required.
	Instrument string
	// Clock stamps readings. Default: time.Now.
	Clock device.Clock
	// Timeout bounds each command from the moment it has the line to
	// itself: reopening the port, sending, and the whole reply. It must
	// cover the scale's own wait for a stable weight. The wait for the line
	// is bounded by the caller's context only. Default: 5s.
	Timeout time.Duration
}

// TimeoutError says that a scale did not answer a command in time. It
// matches plc.ErrTimeout and context.DeadlineExceeded with errors.Is.
type TimeoutError struct {
	Instrument string
	Command    string
	Timeout    time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s %s: no reply within %s", e.Instrument, e.Command, e.Timeout)
}

// Is reports whether target is plc.ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == plc.ErrTimeout }

// Unwrap returns context.DeadlineExceeded.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// errCommandTimeout is the cause of a context ended by Config.Timeout,
// which tells it apart from the caller's own deadline.
var errCommandTimeout = errors.New("command timeout")

// Scale is a balance or scale that speaks MT-SICS (level 0 and 1) over a
// serial line. It is safe for concurrent use: commands go on the wire one at
// a time, each waiting for the reply to the one before.
//
// Weights become Readings stamped with device.Clock; Raw is the reply line without
// its CR LF.
//
// A Scale opens its port on the first command, so a scale may be plugged in
// after the program starts. When the port fails, it is closed and reopened
// by a later command, at once the first time and then with a backoff that
// doubles from Serial.MinBackoff to Serial.MaxBackoff while opening fails.
//
// A reading is only ever paired with the command that asked for it.
// MT-SICS replies carry no sequence number, so after a command whose
// reply did not come (a timeout, the caller's context ending, a garbled
// line), the next command first resynchronises the line: it sends the
// MT-SICS cancel command @, which makes the scale drop what it was doing,
// reads until the scale's I4 answer to it (every late reply before it is
// discarded), and flushes the input; only then is the command sent. A
// resynchronisation that gets no I4 in time fails the command with a
// *TimeoutError for "@", and the next command tries again. @ resets the
// scale as at power-on, its tare memory included: a weighing whose command
// timed out must tare again. The port is
// kept open after a timeout, because reopening it would not stop a late
// reply.
//
// Every command returns an error for which errors.Is(err, plc.ErrTimeout) is
// true when the reply did not come within Timeout; errors.Is(err,
// ErrDisconnected) when the port could not be opened or failed; errors.Is
// with ErrOverload, ErrUnderload, ErrBusy, ErrLogical, ErrSyntax or
// ErrTransmission when the scale answered with that condition, and
// ErrMalformed when its answer could not be parsed (errors.As finds the
// *ResponseError with the line); ErrClosed after Close; or the
// caller's context error.
type Scale struct {
	cfg  Config
	wire chan struct{} // holds a token while a command is on the wire
	done chan struct{} // closed by Close
	once sync.Once

	// Owned by the holder of the wire token.
	port  serial.Port
	lines lineSplitter
	retry backoff
	buf   []byte
	// dirty: a command went on the wire and its reply was not read, so a
	// late reply may still come; the next command resynchronises first.
	dirty bool
}

// New returns a Scale for the configured port. It does not open the
// port.
func New(cfg *Config) (*Scale, error) {
	if cfg == nil {
		return nil, errors.New("scale: Config is required")
	}
	c := *cfg
	if err := c.Serial.check("Config.Serial"); err != nil {
		return nil, err
	}
	if c.Instrument == "" {
		return nil, errors.New("scale: Config.Instrument is required")
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("scale: Config.Timeout %s is negative", c.Timeout)
	}
	return &Scale{
		cfg:   c,
		wire:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		lines: lineSplitter{end: "\r\n"},
		retry: backoff{min: c.Serial.MinBackoff, max: c.Serial.MaxBackoff},
		buf:   make([]byte, 128),
	}, nil
}

// StableWeight sends S: the scale waits for a stable weight and returns it.
func (s *Scale) StableWeight(ctx context.Context) (device.Reading, error) {
	return s.weight(ctx, "S", "S")
}

// ImmediateWeight sends SI: the scale returns its weight now, stable or not;
// device.Reading.Stable says which.
func (s *Scale) ImmediateWeight(ctx context.Context) (device.Reading, error) {
	return s.weight(ctx, "SI", "S")
}

// Tare sends T: the scale waits for a stable weight and tares it. The
// reading is the tare weight.
func (s *Scale) Tare(ctx context.Context) (device.Reading, error) {
	return s.weight(ctx, "T", "T")
}

// TareWeight sends TA (MT-SICS level 1) and returns the tare weight in
// memory.
func (s *Scale) TareWeight(ctx context.Context) (device.Reading, error) {
	return s.weight(ctx, "TA", "TA")
}

// Zero sends Z: the scale waits for a stable weight and sets zero there.
func (s *Scale) Zero(ctx context.Context) error {
	_, _, err := s.command(ctx, "Z", "Z")
	return err
}

// ZeroImmediately sends ZI: the scale sets zero at once. stable reports
// whether the weight was stable when it did.
func (s *Scale) ZeroImmediately(ctx context.Context) (stable bool, err error) {
	r, _, err := s.command(ctx, "ZI", "ZI")
	if err != nil {
		return false, err
	}
	return r.Status == ReplyStable, nil
}

// Reset sends @: the scale cancels what it was doing, clears its tare and
// answers with its serial number.
func (s *Scale) Reset(ctx context.Context) (serialNumber string, err error) {
	return s.text(ctx, "@", "I4")
}

// SerialNumber sends I4 and returns the scale's serial number.
func (s *Scale) SerialNumber(ctx context.Context) (string, error) {
	return s.text(ctx, "I4", "I4")
}

// Model sends I2 and returns the fields of the answer: the type of the
// scale and, depending on the model, its capacity and unit.
func (s *Scale) Model(ctx context.Context) ([]string, error) {
	r, _, err := s.command(ctx, "I2", "I2")
	if err != nil {
		return nil, err
	}
	return r.Text, nil
}

// Close stops the Scale: a command on the wire returns ErrClosed, the
// port is closed and later calls return ErrClosed. Close waits for the
// command on the wire to end.
func (s *Scale) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		// Take the wire for good: no command runs after this.
		s.wire <- struct{}{}
		s.retry.stop()
		if s.port != nil {
			err = s.port.Close()
			s.port = nil
		}
	})
	return err
}

func (s *Scale) weight(ctx context.Context, cmd, reply string) (device.Reading, error) {
	r, line, err := s.command(ctx, cmd, reply)
	if err != nil {
		return device.Reading{}, err
	}
	if r.Unit == "" {
		return device.Reading{}, fmt.Errorf("%s %s: %w", s.cfg.Instrument, cmd,
			&ResponseError{Line: line, Err: ErrMalformed, Reason: "no weight"})
	}
	return device.Reading{
		Instrument: s.cfg.Instrument,
		Value:      r.Value,
		Unit:       r.Unit,
		Stable:     r.Status == ReplyStable || r.Status == ReplyDone,
		Time:       s.cfg.Clock().UTC(),
		Raw:        line,
		Source:     device.SourceDevice,
	}, nil
}

func (s *Scale) text(ctx context.Context, cmd, reply string) (string, error) {
	r, line, err := s.command(ctx, cmd, reply)
	if err != nil {
		return "", err
	}
	if len(r.Text) != 1 {
		return "", fmt.Errorf("%s %s: %w", s.cfg.Instrument, cmd,
			&ResponseError{Line: line, Err: ErrMalformed, Reason: "not one quoted field"})
	}
	return r.Text[0], nil
}

// command sends cmd and returns the first reply line that starts with the
// identifier reply, or an error reply. Other lines are left over from an
// earlier command that timed out, and are skipped.
func (s *Scale) command(ctx context.Context, cmd, reply string) (Response, []byte, error) {
	wrap := func(err error) error { return fmt.Errorf("%s %s: %w", s.cfg.Instrument, cmd, err) }
	select {
	case s.wire <- struct{}{}:
	case <-s.done:
		return Response{}, nil, wrap(ErrClosed)
	case <-ctx.Done():
		return Response{}, nil, wrap(ctx.Err())
	}
	defer func() { <-s.wire }()
	// The wire may have been free because Close had not yet taken it.
	select {
	case <-s.done:
		return Response{}, nil, wrap(ErrClosed)
	default:
	}

	ctx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout, errCommandTimeout)
	defer cancel()
	ctxErr := func() error {
		if errors.Is(context.Cause(ctx), errCommandTimeout) {
			return &TimeoutError{Instrument: s.cfg.Instrument, Command: cmd, Timeout: s.cfg.Timeout}
		}
		return wrap(ctx.Err())
	}

	if s.port == nil {
		if err := s.retry.wait(ctx, s.done); err != nil {
			if errors.Is(err, ErrClosed) {
				return Response{}, nil, wrap(err)
			}
			return Response{}, nil, wrap(fmt.Errorf("%w: waiting to reopen %s: %w", ErrDisconnected, s.cfg.Serial.Port, ctxErr()))
		}
		p, err := s.cfg.Serial.open()
		if err != nil {
			s.retry.failed()
			return Response{}, nil, wrap(err)
		}
		s.retry.reset()
		s.port = p
	}

	// A reply that came after its command timed out must not answer this
	// one.
	if s.dirty && cmd != "@" {
		if _, _, err := s.exchange(ctx, "@", "I4", ctxErr, wrap); err != nil {
			return Response{}, nil, fmt.Errorf("resynchronising before %s: %w", cmd, err)
		}
	}
	return s.exchange(ctx, cmd, reply, ctxErr, wrap)
}

// exchange flushes the input, sends cmd and reads its reply. A command
// whose reply is not read marks the line dirty; one whose reply is read
// (an error reply included) leaves it clean.
func (s *Scale) exchange(ctx context.Context, cmd, reply string, ctxErr func() error, wrap func(error) error) (Response, []byte, error) {
	s.lines.reset()
	if err := s.port.ResetInputBuffer(); err != nil {
		return Response{}, nil, wrap(s.drop(err))
	}
	if _, err := s.port.Write([]byte(cmd + "\r\n")); err != nil {
		return Response{}, nil, wrap(s.drop(err))
	}
	s.dirty = true
	for {
		for {
			line, ok := s.lines.next()
			if !ok {
				break
			}
			r, err := ParseMTSICS(line)
			_, generic := mtsicsErrors[r.Command]
			switch {
			case errors.Is(err, ErrMalformed):
				// A garbled line: what follows cannot be trusted to
				// answer the next command either.
				return r, line, wrap(err)
			case r.Command == reply && err == nil:
				s.dirty = false
				return r, line, nil
			case r.Command == reply || generic:
				// ES, ET and EL answer whatever command was sent.
				s.dirty = false
				return r, line, wrap(err)
			}
		}
		select {
		case <-s.done:
			return Response{}, nil, wrap(ErrClosed)
		case <-ctx.Done():
			return Response{}, nil, ctxErr()
		default:
		}
		n, err := s.port.Read(s.buf)
		if err != nil {
			return Response{}, nil, wrap(s.drop(err))
		}
		s.lines.feed(s.buf[:n])
	}
}

// drop closes a port that failed, so that the next command reopens it.
func (s *Scale) drop(cause error) error {
	s.port.Close()
	s.port = nil
	s.lines.reset()
	return fmt.Errorf("%w: %s: %w", ErrDisconnected, s.cfg.Serial.Port, cause)
}
