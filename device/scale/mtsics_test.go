package scale_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/device/scale"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestParseMTSICS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    string
		want    scale.Response
		wantErr error
	}{
		// S and SI.
		{line: "S S     100.00 g\r\n", want: scale.Response{Command: "S", Status: scale.ReplyStable, Value: dec("100.00"), Unit: "g"}},
		{line: "S S     100.00 g", want: scale.Response{Command: "S", Status: scale.ReplyStable, Value: dec("100.00"), Unit: "g"}},
		{line: "S D     100.01 g\r\n", want: scale.Response{Command: "S", Status: scale.ReplyDynamic, Value: dec("100.01"), Unit: "g"}},
		{line: "S S    -12.345 kg\r\n", want: scale.Response{Command: "S", Status: scale.ReplyStable, Value: dec("-12.345"), Unit: "kg"}},
		{line: "S S +0.5 ct\n", want: scale.Response{Command: "S", Status: scale.ReplyStable, Value: dec("0.5"), Unit: "ct"}},
		{line: "S S 12 lb", want: scale.Response{Command: "S", Status: scale.ReplyStable, Value: dec("12"), Unit: "lb"}},
		{line: "S S .5 g", want: scale.Response{Command: "S", Status: scale.ReplyStable, Value: dec("0.5"), Unit: "g"}},
		{line: "S S 5. g", want: scale.Response{Command: "S", Status: scale.ReplyStable, Value: dec("5"), Unit: "g"}},
		{line: "S +\r\n", want: scale.Response{Command: "S", Status: scale.ReplyOverload}, wantErr: scale.ErrOverload},
		{line: "S -\r\n", want: scale.Response{Command: "S", Status: scale.ReplyUnderload}, wantErr: scale.ErrUnderload},
		{line: "S I\r\n", want: scale.Response{Command: "S", Status: scale.ReplyBusy}, wantErr: scale.ErrBusy},
		{line: "S L\r\n", want: scale.Response{Command: "S", Status: scale.ReplyLogical}, wantErr: scale.ErrLogical},
		// Error replies.
		{line: "ES\r\n", want: scale.Response{Command: "ES"}, wantErr: scale.ErrSyntax},
		{line: "ET\r\n", want: scale.Response{Command: "ET"}, wantErr: scale.ErrTransmission},
		{line: "EL\r\n", want: scale.Response{Command: "EL"}, wantErr: scale.ErrLogical},
		// T, TA, TI.
		{line: "T S      12.34 g\r\n", want: scale.Response{Command: "T", Status: scale.ReplyStable, Value: dec("12.34"), Unit: "g"}},
		{line: "T I", want: scale.Response{Command: "T", Status: scale.ReplyBusy}, wantErr: scale.ErrBusy},
		{line: "T +", want: scale.Response{Command: "T", Status: scale.ReplyOverload}, wantErr: scale.ErrOverload},
		{line: "T -", want: scale.Response{Command: "T", Status: scale.ReplyUnderload}, wantErr: scale.ErrUnderload},
		{line: "T L", want: scale.Response{Command: "T", Status: scale.ReplyLogical}, wantErr: scale.ErrLogical},
		{line: "TA A      12.34 g", want: scale.Response{Command: "TA", Status: scale.ReplyDone, Value: dec("12.34"), Unit: "g"}},
		{line: "TA I", want: scale.Response{Command: "TA", Status: scale.ReplyBusy}, wantErr: scale.ErrBusy},
		{line: "TA L", want: scale.Response{Command: "TA", Status: scale.ReplyLogical}, wantErr: scale.ErrLogical},
		{line: "TI D       1.00 g", want: scale.Response{Command: "TI", Status: scale.ReplyDynamic, Value: dec("1"), Unit: "g"}},
		// Z, ZI.
		{line: "Z A\r\n", want: scale.Response{Command: "Z", Status: scale.ReplyDone}},
		{line: "Z I\r\n", want: scale.Response{Command: "Z", Status: scale.ReplyBusy}, wantErr: scale.ErrBusy},
		{line: "Z +\r\n", want: scale.Response{Command: "Z", Status: scale.ReplyOverload}, wantErr: scale.ErrOverload},
		{line: "Z -\r\n", want: scale.Response{Command: "Z", Status: scale.ReplyUnderload}, wantErr: scale.ErrUnderload},
		{line: "ZI S", want: scale.Response{Command: "ZI", Status: scale.ReplyStable}},
		{line: "ZI D", want: scale.Response{Command: "ZI", Status: scale.ReplyDynamic}},
		{line: "ZI +", want: scale.Response{Command: "ZI", Status: scale.ReplyOverload}, wantErr: scale.ErrOverload},
		// I4 (also the reply to @), I2.
		{line: "I4 A \"0123456789\"\r\n", want: scale.Response{Command: "I4", Status: scale.ReplyDone, Text: []string{"0123456789"}}},
		{line: "I4 A \"\"", want: scale.Response{Command: "I4", Status: scale.ReplyDone, Text: []string{""}}},
		{line: "I4 I", want: scale.Response{Command: "I4", Status: scale.ReplyBusy}, wantErr: scale.ErrBusy},
		{line: "I2 A \"XS205DU\" \"220.00 g\"", want: scale.Response{Command: "I2", Status: scale.ReplyDone, Text: []string{"XS205DU", "220.00 g"}}},
		{line: "I2 A \"PG5002-S DR      5100.0 g\"", want: scale.Response{Command: "I2", Status: scale.ReplyDone, Text: []string{"PG5002-S DR      5100.0 g"}}},
		// Replies of commands this package does not send.
		{line: "I1 A \"0123\" \"2.20\"", want: scale.Response{Command: "I1", Status: scale.ReplyDone, Text: []string{"0123", "2.20"}}},
		{line: "I0 B", want: scale.Response{Command: "I0", Status: scale.ReplyMore}},
		{line: "SIR S 1.0 g", want: scale.Response{Command: "SIR", Status: scale.ReplyStable, Value: dec("1"), Unit: "g"}},
		{line: "C1 I", want: scale.Response{Command: "C1", Status: scale.ReplyBusy}, wantErr: scale.ErrBusy},
		// Malformed lines.
		{line: "", wantErr: scale.ErrMalformed},
		{line: "\r\n", wantErr: scale.ErrMalformed},
		{line: " S S 1 g", wantErr: scale.ErrMalformed},
		{line: "S", wantErr: scale.ErrMalformed},
		{line: "S S", wantErr: scale.ErrMalformed},
		{line: "S S 100.00", wantErr: scale.ErrMalformed},
		{line: "S S 100.00 g extra", wantErr: scale.ErrMalformed},
		{line: "S S 1e3 g", wantErr: scale.ErrMalformed},
		{line: "S S 1.2.3 g", wantErr: scale.ErrMalformed},
		{line: "S S - g", wantErr: scale.ErrMalformed},
		{line: "S S . g", wantErr: scale.ErrMalformed},
		{line: "S S 1-2 g", wantErr: scale.ErrMalformed},
		{line: "S S " + strings.Repeat("9", 40) + " g", wantErr: scale.ErrMalformed},
		{line: "S S 1 \"g\"", wantErr: scale.ErrMalformed},
		{line: "S X 1 g", wantErr: scale.ErrMalformed},
		{line: "S A 1 g", wantErr: scale.ErrMalformed},
		{line: "S SS 1 g", wantErr: scale.ErrMalformed},
		{line: "S + 1 g", wantErr: scale.ErrMalformed},
		{line: "S I extra", wantErr: scale.ErrMalformed},
		{line: "Z A 1 g", wantErr: scale.ErrMalformed},
		{line: "Z S", wantErr: scale.ErrMalformed},
		{line: "T D 1 g", wantErr: scale.ErrMalformed},
		{line: "I4 A 0123456789", wantErr: scale.ErrMalformed},
		{line: "I4 A \"0123", wantErr: scale.ErrMalformed},
		{line: "I4 A \"01\"23\"", wantErr: scale.ErrMalformed},
		{line: "I4 A", wantErr: scale.ErrMalformed},
		{line: "ES extra", wantErr: scale.ErrMalformed},
		{line: "s S 1 g", wantErr: scale.ErrMalformed},
		{line: "1S S 1 g", wantErr: scale.ErrMalformed},
		{line: "S S 1\tg", wantErr: scale.ErrMalformed},
		{line: "S S 1 g\r\r\n", wantErr: scale.ErrMalformed},
		{line: "S S 1 g\x00", wantErr: scale.ErrMalformed},
		{line: "ABCDEFGHI A", wantErr: scale.ErrMalformed},
		{line: "X Q", wantErr: scale.ErrMalformed},
		{line: "X I \"busy\"", wantErr: scale.ErrMalformed},
	}
	for _, tt := range tests {
		got, err := scale.ParseMTSICS([]byte(tt.line))
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("ParseMTSICS(%q) error = %v; want %v", tt.line, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
			t.Errorf("ParseMTSICS(%q) (-want +got):\n%s", tt.line, diff)
		}
		if err != nil {
			var re *scale.ResponseError
			if !errors.As(err, &re) {
				t.Errorf("ParseMTSICS(%q) error %T is not a *ResponseError", tt.line, err)
			} else if diff := cmp.Diff(tt.line, string(re.Line)); diff != "" {
				t.Errorf("ParseMTSICS(%q) error line (-want +got):\n%s", tt.line, diff)
			}
		}
	}
}

func TestParseMTSICSKeepsUnitAsSent(t *testing.T) {
	t.Parallel()
	// Some balances send µ in their own code page: the unit is kept byte for
	// byte, never normalised.
	line := []byte("S S 1.000 \xb5g")
	got, err := scale.ParseMTSICS(line)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("\xb5g", got.Unit); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
}

func TestParseMTSICSDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	line := []byte("S +")
	_, err := scale.ParseMTSICS(line)
	line[0] = 'X'
	var re *scale.ResponseError
	if !errors.As(err, &re) || string(re.Line) != "S +" {
		t.Errorf("error line changed with the input: %v", err)
	}
}

// formatMTSICS writes a parsed reply back in its canonical form.
func formatMTSICS(r scale.Response) string {
	var b strings.Builder
	b.WriteString(r.Command)
	if r.Status != "" {
		b.WriteString(" " + string(r.Status))
	}
	if r.Unit != "" {
		b.WriteString(" " + r.Value.String() + " " + r.Unit)
	}
	for _, t := range r.Text {
		b.WriteString(" \"" + t + "\"")
	}
	return b.String()
}

func FuzzParseMTSICS(f *testing.F) {
	for _, s := range []string{
		"S S     100.00 g\r\n", "S D    -100.01 g", "S +", "S -", "S I", "S L", "ES", "ET", "EL",
		"T S 1.0 g", "TA A 1 kg", "Z A", "ZI D", "I4 A \"0123456789\"", "I2 A \"a\" \"b c\"",
		"I0 B", "S S 1e3 g", "I4 A \"x",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := scale.ParseMTSICS(line)
		if err != nil {
			var re *scale.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *ResponseError", err)
			}
			if string(re.Line) != string(line) {
				t.Fatalf("error line %q; want %q", re.Line, line)
			}
			if errors.Is(err, scale.ErrMalformed) {
				if diff := cmp.Diff(scale.Response{}, r, decimalEqual); diff != "" {
					t.Fatalf("malformed line gave a response (-want +got):\n%s", diff)
				}
				return
			}
		}
		if r.Unit != "" && len(r.Text) > 0 {
			t.Fatalf("both a weight and text: %+v", r)
		}
		// Whatever parses must parse the same from its canonical form.
		again, err2 := scale.ParseMTSICS([]byte(formatMTSICS(r)))
		if (err == nil) != (err2 == nil) || (err != nil && !errors.Is(err2, errors.Unwrap(err))) {
			t.Fatalf("canonical %q: error %v; first parse %v", formatMTSICS(r), err2, err)
		}
		if diff := cmp.Diff(r, again, decimalEqual); diff != "" {
			t.Fatalf("canonical %q parses differently (-first +again):\n%s", formatMTSICS(r), diff)
		}
	})
}
