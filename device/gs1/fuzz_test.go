package gs1

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzParseHRI(f *testing.F) {
	for _, s := range []string{
		"(01)09506000134352(17)201225(10)ABC123",
		`(01)09506000134352(10)A\(1)(21)S)`,
		"(00)376130321109103420(02)09506000134352(37)48",
		"(01)09506000134352(17)2012(10)A", "(01", "()", `(10)A\B`, "(8013)1987654Ad4X4bL5ttr2310c2K",
	} {
		f.Add(s)
	}
	p := newTestGS1Parser(f, gs1Now)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := p.ParseHRI(s)
		checkGS1Result(t, p, s, d, err)
		if err != nil {
			return
		}
		hri, err := EncodeHRI(d.Elements)
		if err != nil {
			t.Fatalf("%q: parsed, but does not encode: %v", s, err)
		}
		again, err := p.ParseHRI(hri)
		if err != nil {
			t.Fatalf("%q: re-encoded as %q, which does not parse: %v", s, hri, err)
		}
		if diff := cmp.Diff(d, again, gs1Opts); diff != "" {
			t.Fatalf("%q: re-encoded as %q parses differently (-first +second):\n%s", s, hri, diff)
		}
	})
}

func FuzzParseScan(f *testing.F) {
	for _, s := range []string{
		"]C1010950600013435217271231" + "10ABC-1",
		"]J10109506000134352" + "10LOT7\x1d21SER/9",
		"]Q1https://id.example.com/01/09506000134352/10/B1?17=271231",
		"]d1https://example.com/8006/095060001343520102/10/B1",
		"https://example.com/00/376130321109103420", "]E09506000134352", "]Q1hello", "hello", "]", "",
	} {
		f.Add(s)
	}
	p := newTestGS1Parser(f, gs1Now)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := p.ParseScan(s)
		if err == nil && (d.Symbology == SymbologyQR || d.Symbology == SymbologyDataMatrix) {
			// A Digital Link re-encodes as element strings without the
			// identifier of the plain symbol it came in.
			d.Symbology = SymbologyNone
		}
		checkGS1Result(t, p, s, d, err)
	})
}

func FuzzCheckPairs(f *testing.F) {
	f.Add("01", "10", "37")
	f.Add("3102", "3103", "8006")
	f.Add("250", "21", "01")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		elems := []Element{{a, "x"}, {b, "x"}, {c, "x"}}
		err := CheckPairs(elems)
		if err == nil {
			return
		}
		// The error names one of the elements, so a caller can point at it.
		var ge *Error
		if !errors.As(err, &ge) || !errors.Is(err, ErrPairing) || (ge.AI != a && ge.AI != b && ge.AI != c) {
			t.Fatalf("CheckPairs(%q): %v does not name one of the elements", elems, err)
		}
	})
}
