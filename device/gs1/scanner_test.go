package gs1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock/device"
)

// stepClock returns 2026-11-25T10:00:00Z, then one second later on each call.
func stepClock() device.Clock {
	var mu sync.Mutex
	t := time.Date(2026, time.November, 25, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func newTestScanner(t *testing.T, r io.Reader, max int) *Scanner {
	t.Helper()
	s, err := NewScanner(r, &ScannerConfig{Clock: stepClock(), Instrument: "SCN-01", MaxLineBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pipeWith returns the read end of an OS pipe that holds data; the write end
// is closed, so the reader sees EOF after it.
func pipeWith(t *testing.T, data string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := w.WriteString(data); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return r
}

// scanEvent is one outcome of Scanner.Next, comparable with cmp.
type scanEvent struct {
	Scan Scan
	Err  string
}

func drainScanner(t *testing.T, s *Scanner) []scanEvent {
	t.Helper()
	var got []scanEvent
	for range 1000 {
		sc, err := s.Next(context.Background())
		if err != nil {
			got = append(got, scanEvent{Err: err.Error()})
			if err == io.EOF {
				return got
			}
			continue
		}
		got = append(got, scanEvent{Scan: sc})
	}
	t.Fatal("no EOF after 1000 calls")
	return nil
}

func TestNewScannerValidatesConfig(t *testing.T) {
	t.Parallel()
	clock := stepClock()
	tests := map[string]struct {
		r   io.Reader
		cfg *ScannerConfig
	}{
		"nil reader":       {nil, &ScannerConfig{Clock: clock, Instrument: "S"}},
		"nil config":       {strings.NewReader(""), nil},
		"no clock":         {strings.NewReader(""), &ScannerConfig{Instrument: "S"}},
		"no instrument":    {strings.NewReader(""), &ScannerConfig{Clock: clock}},
		"negative maximum": {strings.NewReader(""), &ScannerConfig{Clock: clock, Instrument: "S", MaxLineBytes: -1}},
	}
	for name, tt := range tests {
		if _, err := NewScanner(tt.r, tt.cfg); err == nil {
			t.Errorf("%s: NewScanner succeeded, want an error", name)
		}
	}
}

func TestScannerLines(t *testing.T) {
	t.Parallel()
	at := func(sec int) time.Time { return time.Date(2026, time.November, 25, 9, 0, sec, 0, time.UTC) }
	scan := func(data string, sym Symbology, sec int) scanEvent {
		return scanEvent{Scan: Scan{Instrument: "SCN-01", Data: data, Symbology: sym, Time: at(sec), Source: device.SourceScanner}}
	}
	eof := scanEvent{Err: io.EOF.Error()}
	tests := []struct {
		name string
		in   string
		max  int
		want []scanEvent
	}{
		{
			name: "CR, LF and CRLF terminators, symbology identifiers",
			in:   "A\rB\nC\r\n]C1010950600013435217271231\r\n]Q1https://x\n]x\n",
			want: []scanEvent{
				scan("A", "", 1), scan("B", "", 2), scan("C", "", 3),
				scan("]C1010950600013435217271231", SymbologyGS1128, 4),
				scan("]Q1https://x", "]Q1", 5), scan("]x", "", 6), eof,
			},
		},
		{
			name: "empty lines skipped",
			in:   "\r\n\n\rA\n\n",
			want: []scanEvent{scan("A", "", 1), eof},
		},
		{
			name: "overlong lines skipped whole",
			in:   "12345678\n123456789\nOK\r\n" + strings.Repeat("x", 2000) + "\r\nLAST\n",
			max:  8,
			want: []scanEvent{
				scan("12345678", "", 1),
				{Err: "scanner SCN-01: scanned line too long: 9 bytes, limit 8"},
				scan("OK", "", 2),
				{Err: "scanner SCN-01: scanned line too long: 2000 bytes, limit 8"},
				scan("LAST", "", 3), eof,
			},
		},
		{
			name: "unterminated line at EOF is not a scan",
			in:   "A\nPART",
			want: []scanEvent{scan("A", "", 1), {Err: "scanner SCN-01: 4 bytes without a line terminator: unexpected EOF"}, eof},
		},
		{
			name: "unterminated overlong line at EOF",
			in:   "A\n" + strings.Repeat("y", 600),
			max:  10,
			want: []scanEvent{scan("A", "", 1), {Err: "scanner SCN-01: scanned line too long: 600 bytes, limit 10"}, eof},
		},
		{
			name: "nothing",
			in:   "",
			want: []scanEvent{eof},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTestScanner(t, pipeWith(t, tt.in), tt.max)
			got := drainScanner(t, s)
			// The test clock runs in CET; scans must be stamped in UTC.
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScannerLineTooLongIsMatchable(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, pipeWith(t, "123\n"), 2)
	_, err := s.Next(context.Background())
	var lt *LineTooLongError
	if !errors.Is(err, ErrLineTooLong) || !errors.As(err, &lt) {
		t.Fatalf("error %v, want a *LineTooLongError", err)
	}
	if diff := cmp.Diff(&LineTooLongError{Instrument: "SCN-01", Length: 3, Limit: 2}, lt); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Bytes arriving one at a time, as from a serial port, make the same scans.
func TestScannerSlowWriter(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	s := newTestScanner(t, client, 0)
	const data = "]d2010950600013435210AB\x1d21C\r\nSECOND\n"
	done := make(chan error, 1)
	go func() {
		for i := 0; i < len(data); i++ {
			if _, err := server.Write([]byte{data[i]}); err != nil {
				done <- err
				return
			}
		}
		done <- server.Close()
	}()
	var got []string
	for {
		sc, err := s.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(sc.Symbology)+"|"+sc.Data)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"]d2|]d2010950600013435210AB\x1d21C", "|SECOND"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A blocked Next returns when its context ends, and the scanner still works.
//
// Not parallel: it ends by checking that no goroutine is left in the scanner,
// which other scanner tests running alongside would falsify.
func TestScannerContext(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	s := newTestScanner(t, r, 0)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx)
		errc <- err
	}()
	// Half a line before the cancel must survive it.
	if _, err := w.WriteString("HAL"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v, want context.Canceled", err)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	if _, err := s.Next(dctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next past deadline: %v, want context.DeadlineExceeded", err)
	}

	if _, err := w.WriteString("F\n"); err != nil {
		t.Fatal(err)
	}
	sc, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("HALF", sc.Data); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	assertNoScannerGoroutines(t)
}

// A reader without deadlines is checked between reads.
func TestScannerContextPlainReader(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, io.MultiReader(strings.NewReader("A\n")), 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next: %v, want context.Canceled", err)
	}
}

// A read error other than EOF is returned, and stays.
func TestScannerReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	s := newTestScanner(t, io.MultiReader(strings.NewReader("A\n"), errReader{boom}), 0)
	var got []string
	for range 3 {
		sc, err := s.Next(context.Background())
		if err != nil {
			if !errors.Is(err, boom) {
				t.Fatalf("error %v does not wrap the read error", err)
			}
			got = append(got, "err")
			continue
		}
		got = append(got, sc.Data)
	}
	if diff := cmp.Diff([]string{"A", "err", "err"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// assertNoScannerGoroutines fails if a goroutine is still inside the
// scanner's code, allowing a short time for finished ones to exit.
func assertNoScannerGoroutines(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for range 100 {
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "device.(*Scanner)") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines left in the scanner:\n%s", buf)
}

// chunkReader returns at most n bytes per Read, to move line ends across
// read boundaries.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n, len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// naiveScans is the reference the scanner is fuzzed against: split on every
// CR and LF, drop empty lines, too long lines become errors, a last line
// without a terminator is an error.
func naiveScans(data []byte, max int) []string {
	parts := bytes.FieldsFunc(append(data, 0), func(r rune) bool { return r == '\r' || r == '\n' })
	// FieldsFunc drops empty fields; the sentinel 0 marks the unterminated tail.
	var out []string
	for i, p := range parts {
		last := i == len(parts)-1
		if last {
			p = p[:len(p)-1]
			if len(p) == 0 {
				break
			}
		}
		switch {
		case len(p) > max:
			out = append(out, fmt.Sprintf("long %d", len(p)))
		case last:
			out = append(out, "partial")
		default:
			out = append(out, "scan "+string(p))
		}
	}
	return append(out, "eof")
}

func FuzzScannerLines(f *testing.F) {
	f.Add([]byte("A\rB\nC\r\n\n"), uint8(4), uint8(1))
	f.Add([]byte("123456789\nOK\nPART"), uint8(8), uint8(3))
	f.Add([]byte("\r\r\n"+strings.Repeat("z", 700)+"\n"), uint8(0), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, max, chunk uint8) {
		if bytes.IndexByte(data, 0) >= 0 {
			t.Skip("NUL is the reference's end marker")
		}
		limit := int(max) + 1
		s := newTestScanner(t, &chunkReader{b: bytes.Clone(data), n: int(chunk) + 1}, limit)
		var got []string
		for len(got) <= len(data)+1 {
			sc, err := s.Next(context.Background())
			var lt *LineTooLongError
			switch {
			case err == io.EOF:
				got = append(got, "eof")
			case errors.As(err, &lt):
				got = append(got, fmt.Sprintf("long %d", lt.Length))
			case errors.Is(err, io.ErrUnexpectedEOF):
				got = append(got, "partial")
			case err != nil:
				t.Fatalf("unexpected error %v", err)
			default:
				got = append(got, "scan "+sc.Data)
			}
			if err == io.EOF {
				break
			}
		}
		if diff := cmp.Diff(naiveScans(data, limit), got); diff != "" {
			t.Errorf("%q limit %d chunk %d (-want +got):\n%s", data, limit, chunk+1, diff)
		}
	})
}
