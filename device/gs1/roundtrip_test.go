package gs1

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

const (
	cset82 = cset82Order
	cset39 = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	cset64 = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)

func digitsGen(n int) *rapid.Generator[string] {
	return rapid.StringOfN(rapid.RuneFrom([]rune("0123456789")), n, n, -1)
}

// partGen generates valid data for one component, meeting the checks the
// package runs for it. Dates are valid in the year the tests' parser lives
// in.
func partGen(p part) *rapid.Generator[string] {
	has := func(name string) bool { return slices.Contains(p.linters, name) }
	switch {
	case has("zero"):
		return rapid.Just(strings.Repeat("0", p.max))
	case has("hyphen"):
		return rapid.Just("-")
	}
	return rapid.Custom(func(t *rapid.T) string {
		n := p.max
		if p.min != p.max {
			n = rapid.IntRange(p.min, p.max).Draw(t, "len")
		}
		date := func() string {
			yy := rapid.IntRange(0, 99).Draw(t, "yy")
			mm := rapid.IntRange(1, 12).Draw(t, "mm")
			minDay := 1
			if has("yymmd0") {
				minDay = 0
			}
			dd := rapid.IntRange(minDay, daysIn(gs1Year(yy, gs1Now.Year()), time.Month(mm))).Draw(t, "dd")
			return fmt.Sprintf("%02d%02d%02d", yy, mm, dd)
		}
		switch {
		case has("csum"):
			body := digitsGen(n-1).Draw(t, "body")
			return body + string(gs1CheckDigit(body))
		case has("csumalpha"):
			body := rapid.StringOfN(rapid.RuneFrom([]rune(cset82)), 1, p.max-2, -1).Draw(t, "body")
			if has("hasnondigit") {
				body = "A" + body[1:]
			}
			pair, _ := checkPair(body)
			return body + pair
		case has("yymmd0"), has("yymmdd"):
			return date()
		case has("yyyymmdd"):
			yyyy := rapid.IntRange(1900, 2100).Draw(t, "yyyy")
			mm := rapid.IntRange(1, 12).Draw(t, "mm")
			return fmt.Sprintf("%04d%02d%02d", yyyy, mm, rapid.IntRange(1, daysIn(yyyy, time.Month(mm))).Draw(t, "dd"))
		case has("hhmi"):
			return fmt.Sprintf("%02d%02d", rapid.IntRange(0, 23).Draw(t, "hh"), rapid.IntRange(0, 59).Draw(t, "mi"))
		case has("hh"):
			return fmt.Sprintf("%02d", rapid.IntRange(0, 23).Draw(t, "hh"))
		case has("mi"), has("ss"):
			return fmt.Sprintf("%02d", rapid.IntRange(0, 59).Draw(t, "ms"))
		case has("nonzero"), has("nozeroprefix"):
			return string(rune('1'+rapid.IntRange(0, 8).Draw(t, "lead"))) + digitsGen(n-1).Draw(t, "rest")
		case has("winding"):
			return rapid.SampledFrom([]string{"0", "1", "9"}).Draw(t, "v")
		case has("yesno"):
			return rapid.SampledFrom([]string{"0", "1"}).Draw(t, "v")
		case has("iso5218"):
			return rapid.SampledFrom([]string{"0", "1", "2", "9"}).Draw(t, "v")
		case has("pieceoftotal"):
			total := rapid.IntRange(1, 99).Draw(t, "total")
			return fmt.Sprintf("%02d%02d", rapid.IntRange(1, total).Draw(t, "piece"), total)
		case has("posinseqslash"):
			total := rapid.IntRange(1, 9).Draw(t, "total")
			return fmt.Sprintf("%d/%d", rapid.IntRange(1, total).Draw(t, "pos"), total)
		case has("latitude"):
			return fmt.Sprintf("%010d", rapid.IntRange(0, 1800000000).Draw(t, "lat"))
		case has("longitude"):
			return fmt.Sprintf("%010d", rapid.IntRange(0, 3600000000).Draw(t, "lon"))
		case has("iban"):
			return rapid.SampledFrom([]string{"GB82WEST12345698765432", "DE89370400440532013000"}).Draw(t, "iban")
		case has("pcenc"):
			return rapid.StringOfN(rapid.RuneFrom([]rune(strings.ReplaceAll(cset82, "%", ""))), n, n, -1).Draw(t, "v")
		}
		alphabet := map[charset]string{csN: "0123456789", csX: cset82, csY: cset39, csZ: cset64}[p.cs]
		return rapid.StringOfN(rapid.RuneFrom([]rune(alphabet)), n, n, -1).Draw(t, "v")
	})
}

// gs1ValueGen generates valid data for def: its mandatory components and
// a run of its optional ones.
func gs1ValueGen(def *aiDef) *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		var b strings.Builder
		for i, p := range def.parts {
			if p.optional && !rapid.Bool().Draw(t, "more") {
				break
			}
			b.WriteString(partGen(p).Draw(t, fmt.Sprintf("part%d", i)))
		}
		return b.String()
	})
}

// pairable builds, from the AIs drawn, a set that meets the dictionary's
// pairing rules: it drops AIs that exclude or are excluded by one already
// kept, then adds the first workable alternative of each requirement and
// drops the AIs whose requirements cannot be met.
func pairable(drawn []string) []string {
	excludes := func(a, b string) bool {
		for _, x := range []struct{ p, q string }{{a, b}, {b, a}} {
			for _, pat := range aiTable[x.p].ex {
				if x.p != x.q && matchAI(pat, x.q) {
					return true
				}
			}
		}
		return false
	}
	fits := func(set []string, ai string) bool {
		if slices.Contains(set, ai) {
			return false
		}
		for _, o := range set {
			if excludes(o, ai) {
				return false
			}
		}
		return true
	}
	var set []string
	for _, ai := range drawn {
		if fits(set, ai) {
			set = append(set, ai)
		}
	}
	for range 10 {
		changed := false
		for i := 0; i < len(set); i++ {
			elems := make([]Element, len(set))
			for k, ai := range set {
				elems[k] = Element{AI: ai}
			}
			var pe *Error
			if err := checkPairs(elems, true); !errors.As(err, &pe) || pe.AI != set[i] {
				continue
			}
			changed = true
			added := false
			for _, alts := range aiTable[set[i]].req {
			alts:
				for _, g := range alts {
					next := slices.Clone(set)
					for _, pat := range g {
						if slices.ContainsFunc(next, func(a string) bool { return matchAI(pat, a) }) {
							continue
						}
						if strings.Contains(pat, "n") || !fits(next, pat) {
							continue alts
						}
						next = append(next, pat)
					}
					set, added = next, true
					break
				}
			}
			if !added {
				set = slices.Delete(set, i, i+1)
			}
			break
		}
		if !changed {
			return set
		}
	}
	return nil
}

func gs1ElementsGen() *rapid.Generator[[]Element] {
	ais := make([]string, 0, len(aiTable))
	for ai := range aiTable {
		ais = append(ais, ai)
	}
	sort.Strings(ais)
	return rapid.Custom(func(t *rapid.T) []Element {
		drawn := rapid.SliceOfNDistinct(rapid.SampledFrom(ais), 1, 8, rapid.ID).Draw(t, "ais")
		picked := pairable(drawn)
		if len(picked) == 0 {
			picked = []string{"01"}
		}
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

// Any valid GS1 data written in its human-readable form parses back to the
// same data as its element string.
func TestHRIRoundTrip(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	rapid.Check(t, func(t *rapid.T) {
		elems := gs1ElementsGen().Draw(t, "elements")
		hri, err := EncodeHRI(elems)
		if err != nil {
			t.Fatalf("EncodeHRI: %v", err)
		}
		got, err := p.ParseHRI(hri)
		if err != nil {
			t.Fatalf("ParseHRI(%q): %v", hri, err)
		}
		s, err := EncodeElementString(SymbologyNone, elems)
		if err != nil {
			t.Fatalf("EncodeElementString: %v", err)
		}
		want, err := p.ParseElementString(s)
		if err != nil {
			t.Fatalf("ParseElementString(%q): %v", s, err)
		}
		if diff := cmp.Diff(want, got, gs1Opts); diff != "" {
			t.Errorf("%q (-element string +HRI):\n%s", hri, diff)
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
		for _, s := range []error{ErrNotGS1, ErrUnknownAI, ErrCheckDigit, ErrFieldTooLong, ErrFieldTooShort, ErrInvalidDate, ErrInvalidValue, ErrPairing, ErrInvalidHRI,
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
