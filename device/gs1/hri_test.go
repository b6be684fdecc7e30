package gs1

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The human-readable form parses to the Data of the element string.
func TestParseHRI(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		hri, es string
	}{
		{"(01)09506000134352(17)201225(10)ABC123", "0109506000134352" + "17201225" + "10ABC123"},
		{"(00)376130321109103420(02)09506000134352(37)48", "00376130321109103420" + "0209506000134352" + "3748"},
		{`(01)09506000134352(10)A\(1)(21)S)`, "0109506000134352" + "10A(1)\x1d" + "21S)"},
		{"(01)09506000134352(3103)000195(7003)2712312359", "0109506000134352" + "3103000195" + "70032712312359"},
	}
	for _, tt := range tests {
		want, err := p.ParseElementString(tt.es)
		if err != nil {
			t.Fatalf("ParseElementString(%q): %v", tt.es, err)
		}
		got, err := p.ParseHRI(tt.hri)
		if err != nil {
			t.Errorf("ParseHRI(%q): %v", tt.hri, err)
			continue
		}
		if diff := cmp.Diff(want, got, gs1Opts); diff != "" {
			t.Errorf("ParseHRI(%q) (-element string +HRI):\n%s", tt.hri, diff)
		}
		again, err := EncodeHRI(got.Elements)
		if err != nil || again != tt.hri {
			t.Errorf("EncodeHRI = %q, %v; want %q", again, err, tt.hri)
		}
	}
}

func TestParseHRIErrors(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	const gtin = "(01)09506000134352"
	tests := []struct {
		name, in string
		want     error
		wantAI   string
		wantMsg  string // a part of the message, when it matters
	}{
		{"empty", "", ErrInvalidHRI, "", ""},
		{"element string", "0109506000134352", ErrInvalidHRI, "", `at 0: want "(" and an AI`},
		{"unclosed", "(01", ErrInvalidHRI, "", `"(" without ")"`},
		{"empty AI", "()12", ErrInvalidHRI, "", ""},
		{"letters for AI", "(1A)12", ErrInvalidHRI, "", ""},
		{"AI of five digits", "(01234)12", ErrInvalidHRI, "", ""},
		{"unescaped ( in data", gtin + "(10)A(B)", ErrInvalidHRI, "", `"B" is not an AI`},
		{"stray backslash", gtin + `(10)A\B`, ErrInvalidHRI, "", "backslash"},
		{"space between elements", gtin + " (10)A", ErrFieldTooLong, "01", ""},
		{"space in variable data", gtin + "(10)A (21)S", ErrInvalidCharacter, "10", ""},
		{"unknown AI", gtin + "(89)X", ErrUnknownAI, "89", ""},
		{"short date", gtin + "(17)2012(10)A", ErrFieldTooShort, "17", "USE BY or EXPIRY is 6 characters, got 4"},
		{"long date", gtin + "(17)20122512", ErrFieldTooLong, "17", ""},
		{"no data", gtin + "(10)", ErrTruncated, "10", ""},
		{"no data before the next AI", gtin + "(10)(21)S", ErrTruncated, "10", ""},
		{"bad check digit", "(01)09506000134353", ErrCheckDigit, "01", "want check digit 2"},
		{"batch too long", gtin + "(10)" + strings.Repeat("A", 21), ErrFieldTooLong, "10", ""},
		{"batch without a key", "(10)ABC", ErrPairing, "10", "(10) needs (01)"},
		{"conflicting batches", gtin + "(10)A(10)B", ErrDuplicateAI, "10", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.ParseHRI(tt.in)
			var ge *Error
			if !errors.Is(err, tt.want) || !errors.As(err, &ge) {
				t.Fatalf("ParseHRI(%q) = %+v, %v; want a *Error with %v", tt.in, got, err, tt.want)
			}
			if ge.AI != tt.wantAI {
				t.Errorf("Error.AI = %q, want %q (%v)", ge.AI, tt.wantAI, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}
