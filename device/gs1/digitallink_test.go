package gs1

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func TestParseDigitalLink(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		name string
		in   string
		want Data
	}{
		{
			name: "GTIN, batch with encoded slash, serial, query AIs and other params",
			in:   "https://id.example.com/01/09506000134352/10/ABC%2F1/21/xyz?17=271231&3103=000195&linkType=gs1:pip",
			want: Data{
				Elements:  []Element{{"01", "09506000134352"}, {"10", "ABC/1"}, {"21", "xyz"}, {"17", "271231"}, {"3103", "000195"}},
				GTIN:      "09506000134352",
				Batch:     "ABC/1",
				Serial:    "xyz",
				Expiry:    Date{2027, time.December, 31},
				NetWeight: Measure{decimal.RequireFromString("0.195"), "kg"},
			},
		},
		{
			name: "path prefix, GTIN-13 padded, CPV qualifier",
			in:   "http://example.org/shop/products/01/9501101020917/22/V1",
			want: Data{
				Elements: []Element{{"01", "09501101020917"}, {"22", "V1"}},
				GTIN:     "09501101020917",
				CPV:      "V1",
			},
		},
		{
			name: "prefix segment that looks like a key",
			in:   "https://example.com/01/x/00/376130321109103420/",
			want: Data{
				Elements: []Element{{"00", "376130321109103420"}},
				SSCC:     "376130321109103420",
			},
		},
		{
			name: "GLN with extension, query values with encoded and literal plus",
			in:   "https://example.com/414/9501101020917/254/DOCK%2D3?400=A%2BB&420=C+D",
			want: Data{
				Elements:     []Element{{"414", "9501101020917"}, {"254", "DOCK-3"}, {"400", "A+B"}, {"420", "C+D"}},
				Location:     "9501101020917",
				GLNExtension: "DOCK-3",
				OrderNumber:  "A+B",
				ShipToPostal: "C+D",
			},
		},
		{
			name: "GIAI and fragment",
			in:   "https://example.com/8004/ASSET-9#top",
			want: Data{Elements: []Element{{"8004", "ASSET-9"}}, GIAI: "ASSET-9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.ParseDigitalLink(tt.in)
			if err != nil {
				t.Fatalf("ParseDigitalLink(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, gs1Opts); diff != "" {
				t.Errorf("ParseDigitalLink(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseDigitalLinkErrors(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		name   string
		in     string
		want   error
		wantAI string
	}{
		{"not a URL", "http://[::1", ErrInvalidDigitalLink, ""},
		{"wrong scheme", "ftp://example.com/01/09506000134352", ErrInvalidDigitalLink, ""},
		{"no host", "https:///01/09506000134352", ErrInvalidDigitalLink, ""},
		{"element string, not a URI", "0109506000134352", ErrInvalidDigitalLink, ""},
		{"no primary key", "https://example.com/10/ABC", ErrInvalidDigitalLink, ""},
		{"key without value", "https://example.com/01", ErrInvalidDigitalLink, ""},
		{"qualifiers out of order", "https://example.com/01/09506000134352/21/S/10/B", ErrInvalidDigitalLink, ""},
		{"qualifier of another key", "https://example.com/00/376130321109103420/10/B", ErrInvalidDigitalLink, ""},
		{"bad escape", "https://example.com/01/09506000134352/10/A%ZZ", ErrInvalidDigitalLink, ""},
		{"bad query escape", "https://example.com/01/09506000134352?10=%ZZ", ErrInvalidDigitalLink, ""},
		{"primary key in query", "https://example.com/01/09506000134352?00=376130321109103420", ErrInvalidDigitalLink, "00"},
		{"bad check digit", "https://example.com/01/09506000134353", ErrCheckDigit, "01"},
		{"GTIN of 11 digits", "https://example.com/01/95060001343", ErrTruncated, "01"},
		{"unknown query AI", "https://example.com/01/09506000134352?89=1", ErrUnknownAI, "89"},
		{"bad query date", "https://example.com/01/09506000134352?17=271331", ErrInvalidDate, "17"},
		{"batch too long", "https://example.com/01/09506000134352/10/ABCDEFGHIJKLMNOPQRSTU", ErrFieldTooLong, "10"},
		{"empty batch", "https://example.com/01/09506000134352/10/", ErrInvalidDigitalLink, ""},
		{"conflicting query and path", "https://example.com/01/09506000134352/10/A?10=B", ErrDuplicateAI, "10"},
		{"space in value", "https://example.com/414/9501101020917/254/DOCK%203", ErrInvalidCharacter, "254"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.ParseDigitalLink(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseDigitalLink(%q) = %+v, %v; want error %v", tt.in, got, err, tt.want)
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %v is not a *Error", err)
			}
			if ge.AI != tt.wantAI {
				t.Errorf("Error.AI = %q, want %q (error %v)", ge.AI, tt.wantAI, err)
			}
		})
	}
}

// A Digital Link and the element string with the same data parse alike, but
// for the symbology.
func TestDigitalLinkMatchesElementString(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	dl, err := p.ParseDigitalLink("https://example.com/01/09506000134352/10/B1/21/S1?17=271200")
	if err != nil {
		t.Fatal(err)
	}
	es, err := p.ParseElementString("]C1" + "0109506000134352" + "10B1\x1d" + "21S1\x1d" + "17271200")
	if err != nil {
		t.Fatal(err)
	}
	es.Symbology = SymbologyNone
	if diff := cmp.Diff(es, dl, gs1Opts); diff != "" {
		t.Errorf("(-element string +digital link):\n%s", diff)
	}
}

func FuzzParseDigitalLink(f *testing.F) {
	for _, s := range []string{
		"https://id.example.com/01/09506000134352/10/ABC%2F1/21/xyz?17=271231&3103=000195&linkType=gs1:pip",
		"http://example.org/shop/01/9501101020917/22/V1",
		"https://example.com/01/x/00/376130321109103420/",
		"https://example.com/414/9501101020917/254/DOCK%2D3?400=A%2BB&420=C+D",
		"https://example.com/8004/ASSET-9#top",
		"https://example.com/01/09506000134352/21/S/10/B",
		"https://example.com/01/09506000134352?00=1", "http://[::1", "https://e/01/%ZZ",
	} {
		f.Add(s)
	}
	p := newTestGS1Parser(f, gs1Now)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := p.ParseDigitalLink(s)
		if err == nil && d.Symbology != SymbologyNone {
			t.Fatalf("%q: symbology %q", s, d.Symbology)
		}
		checkGS1Result(t, p, s, d, err)
	})
}
