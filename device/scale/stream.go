package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/device"
	"github.com/shopspring/decimal"
	"go.bug.st/serial"
)

// StreamFormat describes the lines of a scale that streams its weight
// continuously, unasked, as many weighing indicators do.
//
// The pattern matches one line without its line ending. Its named groups
// say where the parts are: "status" (required) holds the token that says
// whether the weight is stable, "value" (required) the weight, and "unit"
// the unit, which may instead be fixed by Unit. Spaces inside the value are
// dropped, so fixed-width fields such as "-   12.5" parse.
type StreamFormat struct {
	// Pattern matches a whole weight line. Required.
	Pattern *regexp.Regexp
	// Stable lists the status tokens of a settled weight. Required.
	Stable []string
	// Unstable lists the status tokens of a weight still moving.
	Unstable []string
	// Overload and Underload list the status tokens of a load out of range.
	// A line with one of them is ErrOverload or ErrUnderload, whatever its
	// value.
	Overload  []string
	Underload []string
	// Unit is the unit of every weight when the pattern has no "unit" group;
	// it must be empty when it has one.
	Unit string
	// ImpliedDecimals is the number of decimals of a value sent without a
	// decimal point, as some fixed-width formats do: with 2, "+0001234" is
	// 12.34. A value with a point is taken as it is.
	ImpliedDecimals int32
}

// CommaStreamFormat is the format of indicators that send lines such as
// "ST,GS,+00012.34kg": ST for stable, US for unstable, OL for out of range;
// GS (gross) or NT (net); a signed value; the unit.
func CommaStreamFormat() StreamFormat {
	return StreamFormat{
		Pattern:  regexp.MustCompile(`^(?P<status>ST|US|OL),(?:GS|NT),(?P<value>[+-]? *[0-9.]+) *(?P<unit>[A-Za-z]+)$`),
		Stable:   []string{"ST"},
		Unstable: []string{"US"},
		Overload: []string{"OL"},
	}
}

// StreamWeight is the weight on one stream line.
type StreamWeight struct {
	Value  decimal.Decimal
	Unit   string // as the scale sent it, or StreamFormat.Unit
	Stable bool
}

// StreamLineError is a stream line that reports no weight: out of range, or
// not a weight line at all. It wraps ErrOverload, ErrUnderload or
// ErrMalformed.
type StreamLineError struct {
	Line   []byte // the line as received
	Err    error  // the condition
	Reason string // what is wrong with a malformed line; empty otherwise
}

func (e *StreamLineError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("stream line %q: %v: %s", e.Line, e.Err, e.Reason)
	}
	return fmt.Sprintf("stream line %q: %v", e.Line, e.Err)
}

// Unwrap returns the condition.
func (e *StreamLineError) Unwrap() error { return e.Err }

// StreamParser parses the lines of one StreamFormat. It is safe for
// concurrent use.
type StreamParser struct {
	f                      StreamFormat
	status, value, unit    int
	stable, unstable, over []string
	under                  []string
	implied                int32
}

// NewStreamParser checks a format and returns its parser.
func NewStreamParser(f StreamFormat) (*StreamParser, error) {
	if f.Pattern == nil {
		return nil, errors.New("scale: StreamFormat.Pattern is required")
	}
	p := &StreamParser{
		f:        f,
		status:   f.Pattern.SubexpIndex("status"),
		value:    f.Pattern.SubexpIndex("value"),
		unit:     f.Pattern.SubexpIndex("unit"),
		stable:   slices.Clone(f.Stable),
		unstable: slices.Clone(f.Unstable),
		over:     slices.Clone(f.Overload),
		under:    slices.Clone(f.Underload),
		implied:  f.ImpliedDecimals,
	}
	if p.status < 0 {
		return nil, fmt.Errorf("scale: StreamFormat.Pattern %q has no group named status", f.Pattern)
	}
	if p.value < 0 {
		return nil, fmt.Errorf("scale: StreamFormat.Pattern %q has no group named value", f.Pattern)
	}
	switch {
	case p.unit < 0 && f.Unit == "":
		return nil, fmt.Errorf("scale: StreamFormat.Unit is required: Pattern %q has no group named unit", f.Pattern)
	case p.unit >= 0 && f.Unit != "":
		return nil, fmt.Errorf("scale: StreamFormat.Unit %q must be empty: Pattern %q has a group named unit", f.Unit, f.Pattern)
	}
	if len(f.Stable) == 0 {
		return nil, errors.New("scale: StreamFormat.Stable is required")
	}
	seen := map[string]string{}
	for _, list := range []struct {
		name   string
		tokens []string
	}{{"Stable", f.Stable}, {"Unstable", f.Unstable}, {"Overload", f.Overload}, {"Underload", f.Underload}} {
		for _, tok := range list.tokens {
			if other, dup := seen[tok]; dup {
				return nil, fmt.Errorf("scale: StreamFormat.%s token %q is also in StreamFormat.%s", list.name, tok, other)
			}
			seen[tok] = list.name
		}
	}
	if f.ImpliedDecimals < 0 || f.ImpliedDecimals > 9 {
		return nil, fmt.Errorf("scale: StreamFormat.ImpliedDecimals %d is outside 0..9", f.ImpliedDecimals)
	}
	return p, nil
}

// Parse parses one line, with or without its CR LF. It returns a
// *StreamLineError that wraps ErrOverload or ErrUnderload when the status
// says the load is out of range, and ErrMalformed when the line does not
// match the pattern, has an unknown status token, or a value that is not a
// plain decimal number.
func (p *StreamParser) Parse(line []byte) (StreamWeight, error) {
	raw := bytes.Clone(line)
	fail := func(err error, reason string) (StreamWeight, error) {
		return StreamWeight{}, &StreamLineError{Line: raw, Err: err, Reason: reason}
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	m := p.f.Pattern.FindSubmatchIndex(line)
	if m == nil {
		return fail(ErrMalformed, "no match")
	}
	group := func(i int) ([]byte, bool) {
		if m[2*i] < 0 {
			return nil, false
		}
		return line[m[2*i]:m[2*i+1]], true
	}
	status, _ := group(p.status)
	var stable bool
	switch st := string(status); {
	case slices.Contains(p.over, st):
		return fail(ErrOverload, "")
	case slices.Contains(p.under, st):
		return fail(ErrUnderload, "")
	case slices.Contains(p.stable, st):
		stable = true
	case slices.Contains(p.unstable, st):
	default:
		return fail(ErrMalformed, fmt.Sprintf("status %q", status))
	}
	v, _ := group(p.value)
	v = bytes.ReplaceAll(v, []byte(" "), nil)
	value, reason := parseNumber(v)
	if reason != "" {
		return fail(ErrMalformed, reason)
	}
	if p.implied > 0 && bytes.IndexByte(v, '.') < 0 {
		value = value.Shift(-p.implied)
	}
	unit := p.f.Unit
	if p.unit >= 0 {
		u, _ := group(p.unit)
		if len(u) == 0 {
			return fail(ErrMalformed, "no unit")
		}
		unit = string(u)
	}
	return StreamWeight{Value: value, Unit: unit, Stable: stable}, nil
}

// StreamConfig configures a Stream.
type StreamConfig struct {
	// Serial is the port and line settings. Serial.Port is required.
	Serial SerialLine
	// Instrument is the id the readings carry, such as "SC-02". Required.
	Instrument string
	// Clock stamps readings. Default: time.Now.
	Clock device.Clock
	// Format describes the lines. Format.Pattern is required.
	Format StreamFormat
	// LineEnd ends each line: "\r\n", "\n" or "\r". Default: "\r\n", under
	// which a bare "\n" also ends a line.
	LineEnd string
}

// Stream reads a scale that streams its weight continuously. A
// goroutine reads the port from NewStream until Close, and reopens it
// when it fails, with the backoff of Serial.MinBackoff and MaxBackoff.
// Stream is safe for concurrent use.
type Stream struct {
	cfg    StreamConfig
	parser *StreamParser
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu      sync.Mutex
	latest  streamUpdate
	changed chan struct{}              // closed and replaced on every update
	waiters map[chan streamUpdate]bool // NextStable calls in progress
}

// streamUpdate is what the last line, or the last port failure, said.
type streamUpdate struct {
	reading device.Reading
	err     error
	set     bool
}

// result gives each caller its own copy of the raw line.
func (u streamUpdate) result() (device.Reading, error) {
	u.reading.Raw = bytes.Clone(u.reading.Raw)
	return u.reading, u.err
}

// NewStream checks cfg and starts reading the port.
func NewStream(cfg *StreamConfig) (*Stream, error) {
	if cfg == nil {
		return nil, errors.New("scale: StreamConfig is required")
	}
	c := *cfg
	if err := c.Serial.check("StreamConfig.Serial"); err != nil {
		return nil, err
	}
	if c.Instrument == "" {
		return nil, errors.New("scale: StreamConfig.Instrument is required")
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.LineEnd == "" {
		c.LineEnd = "\r\n"
	}
	if !validLineEnd(c.LineEnd) {
		return nil, fmt.Errorf(`device: StreamConfig.LineEnd "%s" is not "\r\n", "\n" or "\r"`, quoteEnd(c.LineEnd))
	}
	p, err := NewStreamParser(c.Format)
	if err != nil {
		return nil, err
	}
	s := &Stream{
		cfg:     c,
		parser:  p,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		waiters: map[chan streamUpdate]bool{},
	}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// Latest returns what the most recent line said: its reading, or the error
// it gave (out of range, malformed). While the port is down it returns an
// error for which errors.Is(err, ErrDisconnected) is true. Before the first
// line it waits for one, until ctx ends.
func (s *Stream) Latest(ctx context.Context) (device.Reading, error) {
	for {
		s.mu.Lock()
		u, changed := s.latest, s.changed
		s.mu.Unlock()
		if u.set {
			return u.result()
		}
		select {
		case <-changed:
		case <-s.done:
			return device.Reading{}, s.wrap(ErrClosed)
		case <-ctx.Done():
			return device.Reading{}, s.wrap(ctx.Err())
		}
	}
}

// NextStable waits for the next stable reading that arrives after the
// call. Unstable readings and malformed lines are skipped; a line out of
// range ends the wait with ErrOverload or ErrUnderload, and a port failure
// with ErrDisconnected, because a person waiting for a weight should hear of
// them.
func (s *Stream) NextStable(ctx context.Context) (device.Reading, error) {
	ch := make(chan streamUpdate, 1)
	s.mu.Lock()
	s.waiters[ch] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, ch)
		s.mu.Unlock()
	}()
	select {
	case u := <-ch:
		return u.result()
	case <-s.done:
		return device.Reading{}, s.wrap(ErrClosed)
	case <-ctx.Done():
		return device.Reading{}, s.wrap(ctx.Err())
	}
}

// Close stops reading, closes the port and waits for the reading goroutine
// to end. Calls in progress and later calls return ErrClosed.
func (s *Stream) Close() error {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
	return nil
}

func (s *Stream) wrap(err error) error {
	return fmt.Errorf("%s: %w", s.cfg.Instrument, err)
}

func (s *Stream) publish(u streamUpdate) {
	u.set = true
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = u
	close(s.changed)
	s.changed = make(chan struct{})
	if (u.err == nil && !u.reading.Stable) || errors.Is(u.err, ErrMalformed) {
		return
	}
	for ch := range s.waiters {
		ch <- u
		delete(s.waiters, ch)
	}
}

// run owns the port: it opens it, reads lines until it fails, and opens it
// again, until Close.
func (s *Stream) run() {
	defer s.wg.Done()
	retry := backoff{min: s.cfg.Serial.MinBackoff, max: s.cfg.Serial.MaxBackoff}
	defer retry.stop()
	lines := lineSplitter{end: s.cfg.LineEnd}
	buf := make([]byte, 256)
	for {
		if err := retry.wait(context.Background(), s.done); err != nil {
			return
		}
		port, err := s.cfg.Serial.open()
		if err != nil {
			retry.failed()
			s.publish(streamUpdate{err: s.wrap(err)})
			continue
		}
		retry.reset()
		lines.reset()
		err = s.read(port, &lines, buf)
		port.Close()
		if err == nil {
			return
		}
		s.publish(streamUpdate{err: s.wrap(fmt.Errorf("%w: %s: %w", ErrDisconnected, s.cfg.Serial.Port, err))})
	}
}

// read reads lines until the port fails (the error) or Close (nil).
func (s *Stream) read(port serial.Port, lines *lineSplitter, buf []byte) error {
	for {
		select {
		case <-s.done:
			return nil
		default:
		}
		n, err := port.Read(buf)
		if err != nil {
			return err
		}
		lines.feed(buf[:n])
		for {
			line, ok := lines.next()
			if !ok {
				break
			}
			w, err := s.parser.Parse(line)
			if err != nil {
				s.publish(streamUpdate{err: s.wrap(err)})
				continue
			}
			s.publish(streamUpdate{reading: device.Reading{
				Instrument: s.cfg.Instrument,
				Value:      w.Value,
				Unit:       w.Unit,
				Stable:     w.Stable,
				Time:       s.cfg.Clock().UTC(),
				Raw:        line,
				Source:     device.SourceDevice,
			}})
		}
	}
}
