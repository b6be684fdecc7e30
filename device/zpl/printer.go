package zpl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults for PrinterConfig fields left at zero.
const (
	DefaultPrinterDialTimeout  = 5 * time.Second
	DefaultPrinterWriteTimeout = 30 * time.Second
)

// ErrPrinter is wrapped by every *PrinterError.
var ErrPrinter = errors.New("label printer")

// PrinterError says which step of printing failed at which printer. Unwrap
// exposes both ErrPrinter and the network error, so errors.Is(err,
// syscall.ECONNREFUSED) works for a printer that is off.
type PrinterError struct {
	Addr string
	Op   string // "dial", "write" or "close"
	Err  error
}

// Error names the printer, the step and the cause.
func (e *PrinterError) Error() string {
	return fmt.Sprintf("printer %s: %s: %v", e.Addr, e.Op, e.Err)
}

// Unwrap returns ErrPrinter and the underlying error.
func (e *PrinterError) Unwrap() []error { return []error{ErrPrinter, e.Err} }

// PrinterConfig configures a Printer.
type PrinterConfig struct {
	DialTimeout  time.Duration // 0 means DefaultPrinterDialTimeout
	WriteTimeout time.Duration // 0 means DefaultPrinterWriteTimeout
}

// Printer sends raw print jobs (such as ZPL) to a network label printer's raw
// TCP port, conventionally 9100. It opens one connection per job, so it is
// safe for concurrent use and survives printer restarts.
type Printer struct {
	addr string
	cfg  PrinterConfig
}

// NewPrinter returns a Printer for addr ("host:port"), or an error naming the
// invalid argument or configuration field.
func NewPrinter(addr string, cfg *PrinterConfig) (*Printer, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("printer: address %q: %w", addr, err)
	}
	if cfg == nil {
		return nil, errors.New("printer: config is nil")
	}
	c := *cfg
	switch {
	case c.DialTimeout < 0:
		return nil, fmt.Errorf("printer: PrinterConfig.DialTimeout is %v, want 0 or more", c.DialTimeout)
	case c.WriteTimeout < 0:
		return nil, fmt.Errorf("printer: PrinterConfig.WriteTimeout is %v, want 0 or more", c.WriteTimeout)
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultPrinterDialTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultPrinterWriteTimeout
	}
	return &Printer{addr: addr, cfg: c}, nil
}

// Print connects, writes job whole and closes. The dial is bounded by
// DialTimeout and the write by WriteTimeout, both cut short by ctx. A nil
// error means the printer's TCP stack accepted every byte, not that a label
// came out. Errors are *PrinterError.
func (p *Printer) Print(ctx context.Context, job []byte) error {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", p.addr)
	if err != nil {
		return &PrinterError{Addr: p.addr, Op: "dial", Err: err}
	}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	deadline, _ := wctx.Deadline()
	if err := conn.SetWriteDeadline(deadline); err != nil {
		conn.Close()
		return &PrinterError{Addr: p.addr, Op: "write", Err: err}
	}
	// Cancellation of ctx (not only its deadline) must also stop the write.
	stop := context.AfterFunc(wctx, func() { _ = conn.SetWriteDeadline(longAgo) })
	_, err = conn.Write(job)
	stop()
	if err != nil {
		conn.Close()
		if ctxErr := wctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return &PrinterError{Addr: p.addr, Op: "write", Err: err}
	}
	if err := conn.Close(); err != nil {
		return &PrinterError{Addr: p.addr, Op: "close", Err: err}
	}
	return nil
}

// longAgo is a deadline in the past, which wakes a blocked write at once.
var longAgo = time.Unix(1, 0)
