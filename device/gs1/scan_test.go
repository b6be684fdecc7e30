package gs1

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ParseScan routes by symbology identifier: GS1 symbologies to the element
// string parser, plain QR Code and Data Matrix to the Digital Link parser.
func TestParseScan(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	const es = "0109506000134352" + "10B1\x1d" + "17271231"
	const dl = "https://id.example.com/01/09506000134352/10/B1?17=271231"
	want, err := p.ParseElementString(es)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in  string
		sym Symbology
	}{
		{"]C1" + es, SymbologyGS1128},
		{"]e0" + es, SymbologyGS1DataBar},
		{"]d2" + es, SymbologyGS1DataMatrix},
		{"]Q3" + es, SymbologyGS1QR},
		{"]J1" + es, SymbologyGS1DotCode},
		{es, SymbologyNone},
		{"\x1d" + es, SymbologyNone},
		{"]Q1" + dl, SymbologyQR},
		{"]d1" + dl, SymbologyDataMatrix},
		{dl, SymbologyNone},
		{"HTTPS://id.example.com/01/09506000134352/10/B1?17=271231", SymbologyNone},
	}
	for _, tt := range tests {
		got, err := p.ParseScan(tt.in)
		if err != nil {
			t.Errorf("ParseScan(%q): %v", tt.in, err)
			continue
		}
		w := want
		w.Symbology = tt.sym
		if diff := cmp.Diff(w, got, gs1Opts); diff != "" {
			t.Errorf("ParseScan(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseScanErrors(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		name, in string
		want     error
		wantMsg  string
	}{
		{"plain QR with text", "]Q1hello", ErrNotGS1, "a plain QR Code carries GS1 data only as a Digital Link URI"},
		{"plain Data Matrix with element strings", "]d10109506000134352", ErrNotGS1, "a plain Data Matrix carries GS1 data only as a Digital Link URI"},
		{"plain QR with a web address that is not a Digital Link", "]Q1https://example.com/about", ErrInvalidDigitalLink, "no primary key"},
		{"plain QR with an FTP address", "]Q1ftp://example.com/01/09506000134352", ErrNotGS1, "Digital Link URI"},
		{"EAN-13", "]E09506000134352", ErrNotGS1, "]E0 announces neither"},
		{"Code 128 without FNC1", "]C0ABC", ErrNotGS1, "]C0 announces neither"},
		{"plain text without identifier", "hello", ErrNotGS1, "neither GS1 element strings nor a GS1 Digital Link URI"},
		{"human-readable text", "(01)09506000134352", ErrNotGS1, "goes to ParseHRI"},
		{"GS1 QR carrying a URI", "]Q3https://id.example.com/01/09506000134352", ErrUnknownAI, ""},
		{"GS1 DataMatrix with a bad check digit", "]d20109506000134353", ErrCheckDigit, ""},
		{"empty", "", ErrNotGS1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.ParseScan(tt.in)
			var ge *Error
			if !errors.Is(err, tt.want) || !errors.As(err, &ge) {
				t.Fatalf("ParseScan(%q): error %v, want a *Error with %v", tt.in, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// A scanner with a parser hands out parsed scans, and a scan that does not
// parse with its error, then goes on.
func TestScannerParses(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	in := "]C10109506000134352" + "17271231\r\n" + "]Q1https://id.example.com/01/09506000134352\r\n" + "]E09506000134352\r\n" + "]d20109506000134352\n"
	s, err := NewScanner(strings.NewReader(in), &ScannerConfig{Clock: stepClock(), Instrument: "SCN-01", Parser: p})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Data, GTIN string
		Sym        Symbology
		Err        bool
	}
	var got []result
	for {
		sc, err := s.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, ErrNotGS1) {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, result{sc.Data, sc.Parsed.GTIN, sc.Parsed.Symbology, err != nil})
	}
	want := []result{
		{"]C10109506000134352" + "17271231", "09506000134352", SymbologyGS1128, false},
		{"]Q1https://id.example.com/01/09506000134352", "09506000134352", SymbologyQR, false},
		{"]E09506000134352", "", "", true},
		{"]d20109506000134352", "09506000134352", SymbologyGS1DataMatrix, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
