package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.bug.st/serial"
)

// Errors of scales on a serial line.
var (
	// ErrDisconnected means the serial port could not be opened, or failed
	// while in use (the cable was pulled, the adapter vanished). The port is
	// closed and reopened on a later call.
	ErrDisconnected = errors.New("serial port disconnected")
	// ErrClosed is returned by calls on a closed Scale or Stream.
	ErrClosed = errors.New("scale closed")
)

// SerialParity is the parity of a serial line.
type SerialParity string

// The parities scales use.
const (
	ParityNone SerialParity = "none"
	ParityEven SerialParity = "even"
	ParityOdd  SerialParity = "odd"
)

// SerialLine says which serial port a scale is on, how the line is set up
// and how to get the port back after a failure.
type SerialLine struct {
	// Port is the name of the serial port, such as "/dev/ttyUSB0" or
	// "COM3". Required.
	Port string
	// BaudRate of the line. Default: 9600, the MT-SICS factory setting.
	BaudRate int
	// DataBits is 7 or 8. Default: 8.
	DataBits int
	// Parity of the line. Default: ParityNone.
	Parity SerialParity
	// StopBits is 1 or 2. Default: 1.
	StopBits int
	// MinBackoff is the wait before reopening a port after an attempt to
	// open it failed; the wait doubles on each failure up to MaxBackoff.
	// The first attempt after a working port failed is made at once.
	// Defaults: 100ms and 5s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// check fills the defaults of l and validates it; name is the field path
// used in messages, such as "Config.Serial".
func (l *SerialLine) check(name string) error {
	if l.Port == "" {
		return fmt.Errorf("scale: %s.Port is required", name)
	}
	if l.BaudRate == 0 {
		l.BaudRate = 9600
	}
	if l.BaudRate < 0 {
		return fmt.Errorf("scale: %s.BaudRate %d is negative", name, l.BaudRate)
	}
	if l.DataBits == 0 {
		l.DataBits = 8
	}
	if l.DataBits != 7 && l.DataBits != 8 {
		return fmt.Errorf("scale: %s.DataBits %d is neither 7 nor 8", name, l.DataBits)
	}
	if l.Parity == "" {
		l.Parity = ParityNone
	}
	if l.Parity != ParityNone && l.Parity != ParityEven && l.Parity != ParityOdd {
		return fmt.Errorf("scale: %s.Parity %q is not %q, %q or %q", name, l.Parity, ParityNone, ParityEven, ParityOdd)
	}
	if l.StopBits == 0 {
		l.StopBits = 1
	}
	if l.StopBits != 1 && l.StopBits != 2 {
		return fmt.Errorf("scale: %s.StopBits %d is neither 1 nor 2", name, l.StopBits)
	}
	if l.MinBackoff == 0 {
		l.MinBackoff = 100 * time.Millisecond
	}
	if l.MaxBackoff == 0 {
		l.MaxBackoff = 5 * time.Second
	}
	if l.MinBackoff < 0 {
		return fmt.Errorf("scale: %s.MinBackoff %s is negative", name, l.MinBackoff)
	}
	if l.MaxBackoff < l.MinBackoff {
		return fmt.Errorf("scale: %s.MaxBackoff %s is below MinBackoff %s", name, l.MaxBackoff, l.MinBackoff)
	}
	return nil
}

// pollInterval bounds how long a read blocks before the reader looks at its
// context and stop signal again.
const pollInterval = 25 * time.Millisecond

// open opens the port in raw mode; reads return after pollInterval at most.
func (l *SerialLine) open() (serial.Port, error) {
	mode := &serial.Mode{BaudRate: l.BaudRate, DataBits: l.DataBits, StopBits: serial.OneStopBit}
	if l.StopBits == 2 {
		mode.StopBits = serial.TwoStopBits
	}
	switch l.Parity {
	case ParityEven:
		mode.Parity = serial.EvenParity
	case ParityOdd:
		mode.Parity = serial.OddParity
	}
	p, err := serial.Open(l.Port, mode)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrDisconnected, l.Port, err)
	}
	if err := p.SetReadTimeout(pollInterval); err != nil {
		p.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrDisconnected, l.Port, err)
	}
	return p, nil
}

// backoff spaces out attempts to reopen a port. It is not safe for
// concurrent use: its owner serialises calls.
type backoff struct {
	min, max time.Duration
	next     time.Duration
	ready    chan struct{} // closed when the next attempt may be made; nil: now
	timer    *time.Timer
}

// wait blocks until the next attempt may be made.
func (b *backoff) wait(ctx context.Context, stop <-chan struct{}) error {
	if b.ready == nil {
		return nil
	}
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-stop:
		return ErrClosed
	}
}

// failed schedules the next attempt after a failed one.
func (b *backoff) failed() {
	switch {
	case b.next == 0:
		b.next = b.min
	case b.next < b.max:
		b.next = min(2*b.next, b.max)
	}
	ready := make(chan struct{})
	b.ready = ready
	b.timer = time.AfterFunc(b.next, func() { close(ready) })
}

// reset allows an immediate attempt and restarts the doubling.
func (b *backoff) reset() {
	b.stop()
	b.next, b.ready = 0, nil
}

func (b *backoff) stop() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// maxLineLen bounds a line from a scale. Longer lines are noise, such as a
// wrong baud rate, and are dropped whole.
const maxLineLen = 256

// lineSplitter cuts a byte stream into lines ended by end, which is
// "\r\n", "\n" or "\r". Under "\r\n", a bare "\n" also ends a line.
type lineSplitter struct {
	end      string
	buf      []byte
	overflow bool
	lines    [][]byte
}

// feed adds bytes; complete lines, without their ending, are queued.
func (s *lineSplitter) feed(p []byte) {
	term := s.end[len(s.end)-1]
	for len(p) > 0 {
		i := bytes.IndexByte(p, term)
		if i < 0 {
			s.add(p)
			return
		}
		s.add(p[:i])
		line := s.buf
		if s.end == "\r\n" {
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		if !s.overflow {
			s.lines = append(s.lines, bytes.Clone(line))
		}
		s.buf, s.overflow = s.buf[:0], false
		p = p[i+1:]
	}
}

func (s *lineSplitter) add(p []byte) {
	if s.overflow {
		return
	}
	// One more byte: the CR of a CR LF ending is in the buffer until the LF.
	if len(s.buf)+len(p) > maxLineLen+1 {
		s.overflow = true
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, p...)
}

// next pops the oldest complete line.
func (s *lineSplitter) next() ([]byte, bool) {
	if len(s.lines) == 0 {
		return nil, false
	}
	l := s.lines[0]
	s.lines = s.lines[1:]
	return l, true
}

func (s *lineSplitter) reset() {
	s.buf, s.overflow, s.lines = s.buf[:0], false, nil
}

// validLineEnd reports whether end is a line ending lineSplitter handles.
func validLineEnd(end string) bool {
	return end == "\r\n" || end == "\n" || end == "\r"
}

// quoteEnd renders a line ending for messages.
func quoteEnd(end string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(end)
}
