package gs1

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

const cset82 = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`

// gs1ValueGen generates valid data for def, with dates valid in the year the
// tests' parser lives in.
func gs1ValueGen(def aiDef) *rapid.Generator[string] {
	digits := func(n int) *rapid.Generator[string] {
		return rapid.StringOfN(rapid.RuneFrom([]rune("0123456789")), n, n, -1)
	}
	switch def.format {
	case aiDate, aiDateTime:
		return rapid.Custom(func(t *rapid.T) string {
			yy := rapid.IntRange(0, 99).Draw(t, "yy")
			mm := rapid.IntRange(1, 12).Draw(t, "mm")
			minDay := 0
			if def.format == aiDateTime {
				minDay = 1
			}
			dd := rapid.IntRange(minDay, daysIn(gs1Year(yy, gs1Now.Year()), time.Month(mm))).Draw(t, "dd")
			v := fmt.Sprintf("%02d%02d%02d", yy, mm, dd)
			if def.format == aiDateTime {
				v += fmt.Sprintf("%02d%02d", rapid.IntRange(0, 23).Draw(t, "hh"), rapid.IntRange(0, 59).Draw(t, "mi"))
			}
			return v
		})
	case aiCSET82:
		return rapid.StringOfN(rapid.RuneFrom([]rune(cset82)), 1, def.max, -1)
	}
	if def.length == 0 {
		return rapid.Custom(func(t *rapid.T) string {
			return digits(rapid.IntRange(1, def.max).Draw(t, "len")).Draw(t, "digits")
		})
	}
	if def.check {
		return rapid.Custom(func(t *rapid.T) string {
			body := digits(def.length-1).Draw(t, "body")
			return body + string(gs1CheckDigit(body))
		})
	}
	return digits(def.length)
}

// gs1Family groups AIs that fill the same typed field, which may not carry two
// different values in one symbol.
func gs1Family(ai string) string {
	switch ai[:min(3, len(ai))] {
	case "310", "320":
		return "net"
	case "330":
		return "gross"
	}
	return ai
}

func gs1ElementsGen() *rapid.Generator[[]Element] {
	ais := make([]string, 0, len(aiTable))
	for ai := range aiTable {
		ais = append(ais, ai)
	}
	sort.Strings(ais)
	return rapid.Custom(func(t *rapid.T) []Element {
		picked := rapid.SliceOfNDistinct(rapid.SampledFrom(ais), 1, 8, gs1Family).Draw(t, "ais")
		elems := make([]Element, len(picked))
		for i, ai := range picked {
			elems[i] = Element{AI: ai, Value: gs1ValueGen(aiTable[ai]).Draw(t, ai)}
		}
		return elems
	})
}

// Any valid GS1 data, encoded as an element string, parses back to the same
// elements in the same order; and encoding the parse gives the same string.
func TestElementStringRoundTrip(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	syms := []Symbology{SymbologyNone, SymbologyGS1128, SymbologyGS1DataMatrix, SymbologyGS1QR, SymbologyGS1DataBar}
	rapid.Check(t, func(t *rapid.T) {
		sym := rapid.SampledFrom(syms).Draw(t, "symbology")
		elems := gs1ElementsGen().Draw(t, "elements")
		s, err := EncodeElementString(sym, elems)
		if err != nil {
			t.Fatalf("EncodeElementString: %v", err)
		}
		got, err := p.ParseElementString(s)
		if err != nil {
			t.Fatalf("ParseElementString(%q): %v", s, err)
		}
		if diff := cmp.Diff(sym, got.Symbology); diff != "" {
			t.Errorf("symbology (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(elems, got.Elements); diff != "" {
			t.Errorf("elements of %q (-want +got):\n%s", s, diff)
		}
		again, err := EncodeElementString(got.Symbology, got.Elements)
		if err != nil || again != s {
			t.Errorf("re-encoding gives %q, %v; want %q", again, err, s)
		}
	})
}

// checkGS1Result holds for every parse: errors are typed, results re-encode
// to data that parses to the same result.
func checkGS1Result(t *testing.T, p *Parser, in string, d Data, err error) {
	t.Helper()
	if err != nil {
		var ge *Error
		if !errors.As(err, &ge) {
			t.Fatalf("%q: error %v is not a *Error", in, err)
		}
		known := false
		for _, s := range []error{ErrNotGS1, ErrUnknownAI, ErrCheckDigit, ErrFieldTooLong, ErrFieldTooShort, ErrInvalidDate,
			ErrInvalidCharacter, ErrMissingSeparator, ErrTruncated, ErrDuplicateAI, ErrInvalidDigitalLink} {
			known = known || errors.Is(err, s)
		}
		if !known {
			t.Fatalf("%q: error %v wraps no sentinel", in, err)
		}
		return
	}
	if len(d.Elements) == 0 {
		t.Fatalf("%q: success without elements", in)
	}
	s, err := EncodeElementString(d.Symbology, d.Elements)
	if err != nil {
		t.Fatalf("%q: parsed, but its elements do not encode: %v", in, err)
	}
	again, err := p.ParseElementString(s)
	if err != nil {
		t.Fatalf("%q: re-encoded as %q, which does not parse: %v", in, s, err)
	}
	if diff := cmp.Diff(d, again, gs1Opts); diff != "" {
		t.Fatalf("%q: re-encoded as %q parses differently (-first +second):\n%s", in, s, diff)
	}
}

func FuzzParseElementString(f *testing.F) {
	for _, s := range []string{
		"]C1010950600013435217271231" + "10ABC-1",
		"]d20109506000134352" + "10LOT7\x1d21SER/9\x1d3103000195",
		"]Q3\x1d00376130321109103420\x1d3748",
		"]e00109506000134352320200123433000123 45",
		"11260101121302151326030015240229169912311727020",
		"7003271231235\x1d10A", "10" + strings.Repeat("A", 21), "]C0123", "", "]", "10A\x1d\x1d",
	} {
		f.Add(s)
	}
	p := newTestGS1Parser(f, gs1Now)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := p.ParseElementString(s)
		checkGS1Result(t, p, s, d, err)
	})
}
