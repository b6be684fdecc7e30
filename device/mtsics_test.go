package device_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/device"
)

var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestParseMTSICS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    string
		want    device.Response
		wantErr error
	}{
		// S and SI.
		{line: "S S     100.00 g\r\n", want: device.Response{Command: "S", Status: device.ReplyStable, Value: dec("100.00"), Unit: "g"}},
		{line: "S S     100.00 g", want: device.Response{Command: "S", Status: device.ReplyStable, Value: dec("100.00"), Unit: "g"}},
		{line: "S D     100.01 g\r\n", want: device.Response{Command: "S", Status: device.ReplyDynamic, Value: dec("100.01"), Unit: "g"}},
		{line: "S S    -12.345 kg\r\n", want: device.Response{Command: "S", Status: device.ReplyStable, Value: dec("-12.345"), Unit: "kg"}},
		{line: "S S +0.5 ct\n", want: device.Response{Command: "S", Status: device.ReplyStable, Value: dec("0.5"), Unit: "ct"}},
		{line: "S S 12 lb", want: device.Response{Command: "S", Status: device.ReplyStable, Value: dec("12"), Unit: "lb"}},
		{line: "S S .5 g", want: device.Response{Command: "S", Status: device.ReplyStable, Value: dec("0.5"), Unit: "g"}},
		{line: "S S 5. g", want: device.Response{Command: "S", Status: device.ReplyStable, Value: dec("5"), Unit: "g"}},
		{line: "S +\r\n", want: device.Response{Command: "S", Status: device.ReplyOverload}, wantErr: device.ErrOverload},
		{line: "S -\r\n", want: device.Response{Command: "S", Status: device.ReplyUnderload}, wantErr: device.ErrUnderload},
		{line: "S I\r\n", want: device.Response{Command: "S", Status: device.ReplyBusy}, wantErr: device.ErrBusy},
		{line: "S L\r\n", want: device.Response{Command: "S", Status: device.ReplyLogical}, wantErr: device.ErrLogical},
		// Error replies.
		{line: "ES\r\n", want: device.Response{Command: "ES"}, wantErr: device.ErrSyntax},
		{line: "ET\r\n", want: device.Response{Command: "ET"}, wantErr: device.ErrTransmission},
		{line: "EL\r\n", want: device.Response{Command: "EL"}, wantErr: device.ErrLogical},
		// T, TA, TI.
		{line: "T S      12.34 g\r\n", want: device.Response{Command: "T", Status: device.ReplyStable, Value: dec("12.34"), Unit: "g"}},
		{line: "T I", want: device.Response{Command: "T", Status: device.ReplyBusy}, wantErr: device.ErrBusy},
		{line: "T +", want: device.Response{Command: "T", Status: device.ReplyOverload}, wantErr: device.ErrOverload},
		{line: "T -", want: device.Response{Command: "T", Status: device.ReplyUnderload}, wantErr: device.ErrUnderload},
		{line: "T L", want: device.Response{Command: "T", Status: device.ReplyLogical}, wantErr: device.ErrLogical},
		{line: "TA A      12.34 g", want: device.Response{Command: "TA", Status: device.ReplyDone, Value: dec("12.34"), Unit: "g"}},
		{line: "TA I", want: device.Response{Command: "TA", Status: device.ReplyBusy}, wantErr: device.ErrBusy},
		{line: "TA L", want: device.Response{Command: "TA", Status: device.ReplyLogical}, wantErr: device.ErrLogical},
		{line: "TI D       1.00 g", want: device.Response{Command: "TI", Status: device.ReplyDynamic, Value: dec("1"), Unit: "g"}},
		// Z, ZI.
		{line: "Z A\r\n", want: device.Response{Command: "Z", Status: device.ReplyDone}},
		{line: "Z I\r\n", want: device.Response{Command: "Z", Status: device.ReplyBusy}, wantErr: device.ErrBusy},
		{line: "Z +\r\n", want: device.Response{Command: "Z", Status: device.ReplyOverload}, wantErr: device.ErrOverload},
		{line: "Z -\r\n", want: device.Response{Command: "Z", Status: device.ReplyUnderload}, wantErr: device.ErrUnderload},
		{line: "ZI S", want: device.Response{Command: "ZI", Status: device.ReplyStable}},
		{line: "ZI D", want: device.Response{Command: "ZI", Status: device.ReplyDynamic}},
		{line: "ZI +", want: device.Response{Command: "ZI", Status: device.ReplyOverload}, wantErr: device.ErrOverload},
		// I4 (also the reply to @), I2.
		{line: "I4 A \"0123456789\"\r\n", want: device.Response{Command: "I4", Status: device.ReplyDone, Text: []string{"0123456789"}}},
		{line: "I4 A \"\"", want: device.Response{Command: "I4", Status: device.ReplyDone, Text: []string{""}}},
		{line: "I4 I", want: device.Response{Command: "I4", Status: device.ReplyBusy}, wantErr: device.ErrBusy},
		{line: "I2 A \"XS205DU\" \"220.00 g\"", want: device.Response{Command: "I2", Status: device.ReplyDone, Text: []string{"XS205DU", "220.00 g"}}},
		{line: "I2 A \"PG5002-S DR      5100.0 g\"", want: device.Response{Command: "I2", Status: device.ReplyDone, Text: []string{"PG5002-S DR      5100.0 g"}}},
		// Replies of commands this package does not send.
		{line: "I1 A \"0123\" \"2.20\"", want: device.Response{Command: "I1", Status: device.ReplyDone, Text: []string{"0123", "2.20"}}},
		{line: "I0 B", want: device.Response{Command: "I0", Status: device.ReplyMore}},
		{line: "SIR S 1.0 g", want: device.Response{Command: "SIR", Status: device.ReplyStable, Value: dec("1"), Unit: "g"}},
		{line: "C1 I", want: device.Response{Command: "C1", Status: device.ReplyBusy}, wantErr: device.ErrBusy},
		// Malformed lines.
		{line: "", wantErr: device.ErrMalformed},
		{line: "\r\n", wantErr: device.ErrMalformed},
		{line: " S S 1 g", wantErr: device.ErrMalformed},
		{line: "S", wantErr: device.ErrMalformed},
		{line: "S S", wantErr: device.ErrMalformed},
		{line: "S S 100.00", wantErr: device.ErrMalformed},
		{line: "S S 100.00 g extra", wantErr: device.ErrMalformed},
		{line: "S S 1e3 g", wantErr: device.ErrMalformed},
		{line: "S S 1.2.3 g", wantErr: device.ErrMalformed},
		{line: "S S - g", wantErr: device.ErrMalformed},
		{line: "S S . g", wantErr: device.ErrMalformed},
		{line: "S S 1-2 g", wantErr: device.ErrMalformed},
		{line: "S S " + strings.Repeat("9", 40) + " g", wantErr: device.ErrMalformed},
		{line: "S S 1 \"g\"", wantErr: device.ErrMalformed},
		{line: "S X 1 g", wantErr: device.ErrMalformed},
		{line: "S A 1 g", wantErr: device.ErrMalformed},
		{line: "S SS 1 g", wantErr: device.ErrMalformed},
		{line: "S + 1 g", wantErr: device.ErrMalformed},
		{line: "S I extra", wantErr: device.ErrMalformed},
		{line: "Z A 1 g", wantErr: device.ErrMalformed},
		{line: "Z S", wantErr: device.ErrMalformed},
		{line: "T D 1 g", wantErr: device.ErrMalformed},
		{line: "I4 A 0123456789", wantErr: device.ErrMalformed},
		{line: "I4 A \"0123", wantErr: device.ErrMalformed},
		{line: "I4 A \"01\"23\"", wantErr: device.ErrMalformed},
		{line: "I4 A", wantErr: device.ErrMalformed},
		{line: "ES extra", wantErr: device.ErrMalformed},
		{line: "s S 1 g", wantErr: device.ErrMalformed},
		{line: "1S S 1 g", wantErr: device.ErrMalformed},
		{line: "S S 1\tg", wantErr: device.ErrMalformed},
		{line: "S S 1 g\r\r\n", wantErr: device.ErrMalformed},
		{line: "S S 1 g\x00", wantErr: device.ErrMalformed},
		{line: "ABCDEFGHI A", wantErr: device.ErrMalformed},
		{line: "X Q", wantErr: device.ErrMalformed},
		{line: "X I \"busy\"", wantErr: device.ErrMalformed},
	}
	for _, tt := range tests {
		got, err := device.ParseMTSICS([]byte(tt.line))
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("ParseMTSICS(%q) error = %v; want %v", tt.line, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
			t.Errorf("ParseMTSICS(%q) (-want +got):\n%s", tt.line, diff)
		}
		if err != nil {
			var re *device.ResponseError
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
	got, err := device.ParseMTSICS(line)
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
	_, err := device.ParseMTSICS(line)
	line[0] = 'X'
	var re *device.ResponseError
	if !errors.As(err, &re) || string(re.Line) != "S +" {
		t.Errorf("error line changed with the input: %v", err)
	}
}

// formatMTSICS writes a parsed reply back in its canonical form.
func formatMTSICS(r device.Response) string {
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
		r, err := device.ParseMTSICS(line)
		if err != nil {
			var re *device.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *ResponseError", err)
			}
			if string(re.Line) != string(line) {
				t.Fatalf("error line %q; want %q", re.Line, line)
			}
			if errors.Is(err, device.ErrMalformed) {
				if diff := cmp.Diff(device.Response{}, r, decimalEqual); diff != "" {
					t.Fatalf("malformed line gave a response (-want +got):\n%s", diff)
				}
				return
			}
		}
		if r.Unit != "" && len(r.Text) > 0 {
			t.Fatalf("both a weight and text: %+v", r)
		}
		// Whatever parses must parse the same from its canonical form.
		again, err2 := device.ParseMTSICS([]byte(formatMTSICS(r)))
		if (err == nil) != (err2 == nil) || (err != nil && !errors.Is(err2, errors.Unwrap(err))) {
			t.Fatalf("canonical %q: error %v; first parse %v", formatMTSICS(r), err2, err)
		}
		if diff := cmp.Diff(r, again, decimalEqual); diff != "" {
			t.Fatalf("canonical %q parses differently (-first +again):\n%s", formatMTSICS(r), diff)
		}
	})
}
