package scale_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/device/scale"

	"github.com/google/go-cmp/cmp"
)

// fixedWidthFormat is a format without decimal point or unit on the line:
// "S +  1234" is 12.34 kg, stable; "H" and "L" are out of range.
func fixedWidthFormat() scale.StreamFormat {
	return scale.StreamFormat{
		Pattern:         regexp.MustCompile(`^(?P<status>[SUHL]) (?P<value>[+-] *[0-9]{1,7})$`),
		Stable:          []string{"S"},
		Unstable:        []string{"U"},
		Overload:        []string{"H"},
		Underload:       []string{"L"},
		Unit:            "kg",
		ImpliedDecimals: 2,
	}
}

func mustParser(t testing.TB, f scale.StreamFormat) *scale.StreamParser {
	t.Helper()
	p, err := scale.NewStreamParser(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStreamParserParse(t *testing.T) {
	t.Parallel()
	comma := mustParser(t, scale.CommaStreamFormat())
	fixed := mustParser(t, fixedWidthFormat())
	tests := []struct {
		name    string
		parser  *scale.StreamParser
		line    string
		want    scale.StreamWeight
		wantErr error
	}{
		{"CommaStable", comma, "ST,GS,+00012.34kg\r\n", scale.StreamWeight{Value: dec("12.34"), Unit: "kg", Stable: true}, nil},
		{"CommaUnstable", comma, "US,GS,+00012.30kg", scale.StreamWeight{Value: dec("12.30"), Unit: "kg"}, nil},
		{"CommaNet", comma, "ST,NT,-00000.50kg\n", scale.StreamWeight{Value: dec("-0.5"), Unit: "kg", Stable: true}, nil},
		{"CommaSpacesInValue", comma, "ST,GS,+   12.34 lb", scale.StreamWeight{Value: dec("12.34"), Unit: "lb", Stable: true}, nil},
		{"CommaOverload", comma, "OL,GS,+99999.99kg", scale.StreamWeight{}, scale.ErrOverload},
		{"CommaUnknownField", comma, "ST,XX,+00012.34kg", scale.StreamWeight{}, scale.ErrMalformed},
		{"CommaNoUnit", comma, "ST,GS,+00012.34", scale.StreamWeight{}, scale.ErrMalformed},
		{"CommaTwoPoints", comma, "ST,GS,+00.012.34kg", scale.StreamWeight{}, scale.ErrMalformed},
		{"CommaNoDigits", comma, "ST,GS,+.kg", scale.StreamWeight{}, scale.ErrMalformed},
		{"CommaTruncated", comma, "ST,GS,+000", scale.StreamWeight{}, scale.ErrMalformed},
		{"CommaEmpty", comma, "", scale.StreamWeight{}, scale.ErrMalformed},
		{"CommaTrailing", comma, "ST,GS,+00012.34kg junk", scale.StreamWeight{}, scale.ErrMalformed},
		{"FixedStable", fixed, "S +  1234", scale.StreamWeight{Value: dec("12.34"), Unit: "kg", Stable: true}, nil},
		{"FixedUnstableNegative", fixed, "U -     5", scale.StreamWeight{Value: dec("-0.05"), Unit: "kg"}, nil},
		{"FixedOverload", fixed, "H +9999999", scale.StreamWeight{}, scale.ErrOverload},
		{"FixedUnderload", fixed, "L -9999999", scale.StreamWeight{}, scale.ErrUnderload},
		{"FixedStatusUnknown", fixed, "X +  1234", scale.StreamWeight{}, scale.ErrMalformed},
		{"FixedTooLong", fixed, "S +12345678", scale.StreamWeight{}, scale.ErrMalformed},
	}
	for _, tt := range tests {
		got, err := tt.parser.Parse([]byte(tt.line))
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: Parse(%q) error = %v; want %v", tt.name, tt.line, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
			t.Errorf("%s: Parse(%q) (-want +got):\n%s", tt.name, tt.line, diff)
		}
		var le *scale.StreamLineError
		if err != nil && (!errors.As(err, &le) || string(le.Line) != tt.line) {
			t.Errorf("%s: error %v is not a *StreamLineError with the line", tt.name, err)
		}
	}
}

func TestNewStreamParserValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*scale.StreamFormat)
		want   string
	}{
		{"NoPattern", func(f *scale.StreamFormat) { f.Pattern = nil }, "StreamFormat.Pattern is required"},
		{"NoStatusGroup", func(f *scale.StreamFormat) { f.Pattern = regexp.MustCompile(`(?P<value>\d+)(?P<unit>g)`) }, "status"},
		{"NoValueGroup", func(f *scale.StreamFormat) { f.Pattern = regexp.MustCompile(`(?P<status>S)(?P<unit>g)`) }, "value"},
		{"NoUnit", func(f *scale.StreamFormat) { f.Pattern = regexp.MustCompile(`(?P<status>S)(?P<value>\d+)`) }, "StreamFormat.Unit is required"},
		{"TwoUnits", func(f *scale.StreamFormat) { f.Unit = "g" }, "StreamFormat.Unit"},
		{"NoStable", func(f *scale.StreamFormat) { f.Stable = nil }, "StreamFormat.Stable"},
		{"SharedToken", func(f *scale.StreamFormat) { f.Overload = []string{"ST"} }, "StreamFormat.Overload"},
		{"ImpliedDecimals", func(f *scale.StreamFormat) { f.ImpliedDecimals = -1 }, "StreamFormat.ImpliedDecimals"},
	}
	for _, tt := range tests {
		f := scale.CommaStreamFormat()
		tt.modify(&f)
		_, err := scale.NewStreamParser(f)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewStreamParser = %v; want an error with %q", tt.name, err, tt.want)
		}
	}
}

func FuzzStreamLine(f *testing.F) {
	for _, s := range []string{
		"ST,GS,+00012.34kg\r\n", "US,GS,+00012.30kg", "OL,GS,+99999.99kg", "ST,NT,-   0.5 g",
		"ST,GS,+.kg", "S +  1234", "U -     5", "H +9999999", "",
	} {
		f.Add([]byte(s))
	}
	// Each format comes with a way to write a weight back as a canonical
	// line of that format.
	formats := []struct {
		parser *scale.StreamParser
		format func(scale.StreamWeight) string
	}{
		{mustParser(f, scale.CommaStreamFormat()), func(w scale.StreamWeight) string {
			status := "US"
			if w.Stable {
				status = "ST"
			}
			return status + ",GS," + w.Value.String() + w.Unit
		}},
		{mustParser(f, fixedWidthFormat()), func(w scale.StreamWeight) string {
			status := "U"
			if w.Stable {
				status = "S"
			}
			v := w.Value.Shift(2).String()
			if !w.Value.IsNegative() {
				v = "+" + v
			}
			return status + " " + v
		}},
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, fm := range formats {
			w, err := fm.parser.Parse(line)
			if err != nil {
				var le *scale.StreamLineError
				if !errors.As(err, &le) || string(le.Line) != string(line) {
					t.Fatalf("error %v is not a *StreamLineError with the line", err)
				}
				if !errors.Is(err, scale.ErrMalformed) && !errors.Is(err, scale.ErrOverload) && !errors.Is(err, scale.ErrUnderload) {
					t.Fatalf("error %v wraps no known condition", err)
				}
				if diff := cmp.Diff(scale.StreamWeight{}, w, decimalEqual); diff != "" {
					t.Fatalf("error with a weight (-want +got):\n%s", diff)
				}
				continue
			}
			if w.Unit == "" {
				t.Fatalf("weight without unit from %q", line)
			}
			canonical := fm.format(w)
			again, err := fm.parser.Parse([]byte(canonical))
			if err != nil {
				t.Fatalf("canonical %q of %q: %v", canonical, line, err)
			}
			if diff := cmp.Diff(w, again, decimalEqual); diff != "" {
				t.Fatalf("canonical %q of %q parses differently (-first +again):\n%s", canonical, line, diff)
			}
		}
	})
}
