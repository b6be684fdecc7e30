package gs1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/device"
)

// ErrLineTooLong is wrapped by the *LineTooLongError that Scanner.Next
// returns for a line longer than ScannerConfig.MaxLineBytes.
var ErrLineTooLong = interlock.NewInvalid("scanned line too long")

// LineTooLongError reports a line that was skipped whole because it was
// longer than the limit. Scanner.Next can be called again after it.
type LineTooLongError struct {
	Instrument string
	Length     int // bytes in the skipped line, without its terminator
	Limit      int
}

// Error names the scanner, the line length and the limit.
func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("scanner %s: %v: %d bytes, limit %d", e.Instrument, ErrLineTooLong, e.Length, e.Limit)
}

// Unwrap returns ErrLineTooLong.
func (e *LineTooLongError) Unwrap() []error { return []error{ErrLineTooLong, interlock.ErrInvalid} }

// Scan is one barcode read by a scanner.
type Scan struct {
	Instrument string
	// Data is the line as the scanner sent it, without its terminator and
	// including any symbology identifier, so it can go to
	// Parser.ParseScan unchanged.
	Data      string
	Symbology Symbology     // the leading "]Xm" identifier of Data, if any
	Time      time.Time     // system time the line was complete, UTC
	Source    device.Source // always device.SourceScanner
	// Parsed is Data parsed by ScannerConfig.Parser with ParseScan; zero
	// when the scanner has no parser or the parse failed.
	Parsed Data
}

// DefaultMaxLineBytes is the line limit used when ScannerConfig.MaxLineBytes
// is zero: well above the largest 2D GS1 symbol a scanner would send.
const DefaultMaxLineBytes = 4096

// ScannerConfig configures a Scanner.
type ScannerConfig struct {
	Clock        device.Clock // stamps each scan; required
	Instrument   string       // the scanner's instrument id; required
	MaxLineBytes int          // longest accepted line; 0 means DefaultMaxLineBytes
	// Parser, if set, parses every scan with ParseScan into Scan.Parsed.
	Parser *Parser
}

// Scanner reads scans from a keyboard-wedge or serial barcode scanner: one
// scan per line, ended by CR, LF or CRLF. It is not safe for concurrent use.
type Scanner struct {
	r     io.Reader
	cfg   ScannerConfig
	buf   []byte // received bytes not yet returned
	chunk []byte
	// skipping counts the bytes of an overlong line being dropped; -1 when
	// no line is being dropped.
	skipping int
	err      error // sticky read error, io.EOF included
}

// NewScanner returns a Scanner reading from r, or an error naming the
// configuration field that is invalid.
func NewScanner(r io.Reader, cfg *ScannerConfig) (*Scanner, error) {
	switch {
	case r == nil:
		return nil, errors.New("scanner: reader is nil")
	case cfg == nil:
		return nil, errors.New("scanner: config is nil")
	case cfg.Clock == nil:
		return nil, errors.New("scanner: ScannerConfig.Clock is required")
	case cfg.Instrument == "":
		return nil, errors.New("scanner: ScannerConfig.Instrument is required")
	case cfg.MaxLineBytes < 0:
		return nil, fmt.Errorf("scanner: ScannerConfig.MaxLineBytes is %d, want 0 or more", cfg.MaxLineBytes)
	}
	c := *cfg
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	return &Scanner{r: r, cfg: c, chunk: make([]byte, 512), skipping: -1}, nil
}

// Next returns the next scan. Empty lines (such as the second half of a
// doubled terminator) are skipped.
//
// It returns io.EOF when the reader is exhausted; an error wrapping
// io.ErrUnexpectedEOF when it ends inside a line (the partial line is
// dropped: it may be a cut-off barcode); a *LineTooLongError (ErrLineTooLong)
// for a line over the limit, which is skipped whole; ctx.Err() when ctx ends
// first. Only a read error is final; after the others Next may be called
// again. With ScannerConfig.Parser set, a line that does not parse is
// returned as its Scan together with the parse error (a *Error), so that
// the bad read can still be recorded; Next may be called again after it.
// Cancellation interrupts a blocked read when the reader has
// SetReadDeadline (os.File pipes and terminals, net.Conn); other readers are
// checked between reads only.
func (s *Scanner) Next(ctx context.Context) (Scan, error) {
	for {
		if scan, ok, err := s.line(); ok || err != nil {
			return scan, err
		}
		if s.err != nil {
			return Scan{}, s.atEnd()
		}
		if err := ctx.Err(); err != nil {
			return Scan{}, err
		}
		n, err := s.read(ctx)
		s.buf = append(s.buf, s.chunk[:n]...)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				if ctxErr == nil {
					ctxErr = context.DeadlineExceeded
				}
				return Scan{}, ctxErr
			}
			s.err = err
		}
	}
}

// line takes the first complete line from the buffer, if there is one.
func (s *Scanner) line() (Scan, bool, error) {
	for {
		i := indexTerminator(s.buf)
		if i < 0 {
			break
		}
		line := s.buf[:i]
		s.buf = s.buf[i+1:]
		if s.skipping >= 0 {
			n := s.skipping + len(line)
			s.skipping = -1
			return Scan{}, false, s.tooLong(n)
		}
		if len(line) > s.cfg.MaxLineBytes {
			return Scan{}, false, s.tooLong(len(line))
		}
		if len(line) == 0 {
			continue
		}
		scan := s.scan(string(line))
		if s.cfg.Parser != nil {
			d, err := s.cfg.Parser.ParseScan(scan.Data)
			if err != nil {
				return scan, true, err
			}
			scan.Parsed = d
		}
		return scan, true, nil
	}
	// No terminator yet: past the limit, stop buffering and count instead,
	// so a scanner that never ends a line cannot grow memory.
	if s.skipping >= 0 {
		s.skipping += len(s.buf)
		s.buf = s.buf[:0]
	} else if len(s.buf) > s.cfg.MaxLineBytes {
		s.skipping = len(s.buf)
		s.buf = s.buf[:0]
	}
	return Scan{}, false, nil
}

// atEnd reports what is left when the reader has failed or ended.
func (s *Scanner) atEnd() error {
	switch {
	case s.skipping >= 0:
		n := s.skipping
		s.skipping = -1
		return s.tooLong(n)
	case len(s.buf) > 0:
		n := len(s.buf)
		s.buf = s.buf[:0]
		return fmt.Errorf("scanner %s: %d bytes without a line terminator: %w", s.cfg.Instrument, n, io.ErrUnexpectedEOF)
	case s.err == io.EOF:
		return io.EOF
	}
	return fmt.Errorf("scanner %s: read: %w", s.cfg.Instrument, s.err)
}

func (s *Scanner) tooLong(n int) error {
	return &LineTooLongError{Instrument: s.cfg.Instrument, Length: n, Limit: s.cfg.MaxLineBytes}
}

func (s *Scanner) scan(data string) Scan {
	return Scan{
		Instrument: s.cfg.Instrument,
		Data:       data,
		Symbology:  symbologyOf(data),
		Time:       s.cfg.Clock().UTC(),
		Source:     device.SourceScanner,
	}
}

// longAgo is a read deadline in the past, which wakes a blocked read at once.
var longAgo = time.Unix(1, 0)

// read reads once, interrupting the read when ctx ends if the reader allows.
func (s *Scanner) read(ctx context.Context) (int, error) {
	dl, ok := s.r.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		return s.r.Read(s.chunk)
	}
	deadline, _ := ctx.Deadline()
	if err := dl.SetReadDeadline(deadline); err != nil {
		// Not every file supports deadlines (regular files, some ttys).
		return s.r.Read(s.chunk)
	}
	woken := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = dl.SetReadDeadline(longAgo)
		close(woken)
	})
	n, err := s.r.Read(s.chunk)
	if !stop() {
		// The wake-up ran or is running: wait for it, so that it cannot
		// land on the deadline of the next read.
		<-woken
	}
	return n, err
}

func indexTerminator(b []byte) int {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

// symbologyOf returns the AIM symbology identifier ("]" flag character,
// modifier) that starts data, or SymbologyNone.
func symbologyOf(data string) Symbology {
	if len(data) < 3 || data[0] != ']' {
		return SymbologyNone
	}
	isAlpha := func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
	if !isAlpha(data[1]) || !(isAlpha(data[2]) || data[2] >= '0' && data[2] <= '9') {
		return SymbologyNone
	}
	return Symbology(data[:3])
}
