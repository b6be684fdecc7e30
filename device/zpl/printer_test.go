package zpl

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock/device/gs1"
)

// listenPrinter starts a loopback "printer" that hands each connection to
// serve; Cleanup closes it and waits for the handler.
func listenPrinter(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		serve(conn)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestNewPrinterValidates(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		addr string
		cfg  *PrinterConfig
	}{
		"no port":                {"printer.local", &PrinterConfig{}},
		"nil config":             {"127.0.0.1:9100", nil},
		"negative dial timeout":  {"127.0.0.1:9100", &PrinterConfig{DialTimeout: -1}},
		"negative write timeout": {"127.0.0.1:9100", &PrinterConfig{WriteTimeout: -time.Second}},
	}
	for name, tt := range tests {
		if _, err := NewPrinter(tt.addr, tt.cfg); err == nil {
			t.Errorf("%s: NewPrinter succeeded, want an error", name)
		}
	}
}

func TestPrinterSendsExactBytes(t *testing.T) {
	t.Parallel()
	job, err := RenderLotLabel(LotLabel{Product: "P", GTIN: "09506000134352", Batch: "B1", Expiry: gs1.Date{Year: 2027, Month: time.December, Day: 31}})
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan []byte, 1)
	addr := listenPrinter(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		received <- b
	})
	p, err := NewPrinter(addr, &PrinterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Print(ctx, job); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(job), string(<-received)); diff != "" {
		t.Errorf("printer received (-want +got):\n%s", diff)
	}
}

func TestPrinterRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, err := NewPrinter(addr, &PrinterConfig{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Print(context.Background(), []byte("^XA^XZ"))
	var pe *PrinterError
	if !errors.As(err, &pe) || !errors.Is(err, ErrPrinter) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Print: %v; want a *PrinterError wrapping ErrPrinter and ECONNREFUSED", err)
	}
	if diff := cmp.Diff(PrinterError{Addr: addr, Op: "dial"}, *pe, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Err"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A printer that stops reading cannot hold Print past its write timeout, nor
// past a cancelled context.
func TestPrinterWriteBounded(t *testing.T) {
	t.Parallel()
	// Far more than loopback socket buffers hold, so the write blocks.
	job := bytes.Repeat([]byte("^XA^FDx^FS^XZ\n"), 32<<20/14)
	tests := []struct {
		name   string
		cfg    PrinterConfig
		cancel bool
		want   error
	}{
		{"write timeout", PrinterConfig{WriteTimeout: 50 * time.Millisecond}, false, os.ErrDeadlineExceeded},
		{"cancelled", PrinterConfig{}, true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stalled := make(chan struct{})
			release := make(chan struct{})
			addr := listenPrinter(t, func(c net.Conn) {
				// One byte in means Print is writing; then stop reading.
				_, _ = c.Read(make([]byte, 1))
				close(stalled)
				<-release
			})
			defer close(release)
			p, err := NewPrinter(addr, &tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				go func() {
					<-stalled
					cancel()
				}()
			}
			err = p.Print(ctx, job)
			var pe *PrinterError
			if !errors.As(err, &pe) || pe.Op != "write" || !errors.Is(err, tt.want) {
				t.Fatalf("Print: %v; want a write *PrinterError wrapping %v", err, tt.want)
			}
		})
	}
}
