package gs1

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
)

// gs1Now is the fixed "current time" of the GS1 tests; the century rule
// depends on it.
var gs1Now = time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC)

func newTestGS1Parser(t testing.TB, now time.Time) *Parser {
	t.Helper()
	p, err := NewParser(&Config{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// gs1Opts compares decimals by value; Data holds them in measures.
var gs1Opts = cmp.Options{
	cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

func TestNewGS1ParserValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]*Config{"nil": nil, "no clock": {}} {
		if _, err := NewParser(cfg); err == nil {
			t.Errorf("%s: NewParser succeeded, want an error", name)
		}
	}
}

func TestParseElementString(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	partial, err := NewParser(&Config{Clock: func() time.Time { return gs1Now }, DeferRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want Data
		// deferReq parses with DeferRequired, for data that holds AIs
		// without the keys they need.
		deferReq bool
	}{
		{
			name: "GS1-128 GTIN expiry batch",
			in:   "]C1010950600013435217271231" + "10ABC-1",
			want: Data{
				Symbology: SymbologyGS1128,
				Elements:  []Element{{"01", "09506000134352"}, {"17", "271231"}, {"10", "ABC-1"}},
				GTIN:      "09506000134352",
				Expiry:    Date{2027, time.December, 31},
				Batch:     "ABC-1",
			},
		},
		{
			name: "origin, reference and company-internal AIs",
			in:   "]d2" + "0109506000134352" + "422276\x1d" + "8020INV-42\x1d" + "415" + "5412345678908" + "91INTERNAL/7\x1d" + "10LOT7",
			want: Data{
				Symbology: SymbologyGS1DataMatrix,
				Elements: []Element{{"01", "09506000134352"}, {"422", "276"}, {"8020", "INV-42"}, {"415", "5412345678908"},
					{"91", "INTERNAL/7"}, {"10", "LOT7"}},
				GTIN:  "09506000134352",
				Batch: "LOT7",
			},
		},
		{
			name: "DataMatrix with separator after variable fields",
			in:   "]d2" + "0109506000134352" + "10LOT7\x1d" + "21SER/9\x1d" + "3103000195",
			want: Data{
				Symbology: SymbologyGS1DataMatrix,
				Elements:  []Element{{"01", "09506000134352"}, {"10", "LOT7"}, {"21", "SER/9"}, {"3103", "000195"}},
				GTIN:      "09506000134352",
				Batch:     "LOT7",
				Serial:    "SER/9",
				NetWeight: Measure{decimal.RequireFromString("0.195"), "kg"},
			},
		},
		{
			name: "QR with leading FNC1 and a separator after a fixed field",
			in:   "]Q3\x1d" + "00376130321109103420\x1d" + "0209506000134352" + "37" + "48",
			want: Data{
				Symbology:      SymbologyGS1QR,
				Elements:       []Element{{"00", "376130321109103420"}, {"02", "09506000134352"}, {"37", "48"}},
				SSCC:           "376130321109103420",
				ContentGTIN:    "09506000134352",
				TradeItemCount: 48,
			},
		},
		{
			name: "DataBar with pounds and gross weight",
			in:   "]e0" + "0109506000134352" + "3202001234" + "3300012345",
			want: Data{
				Symbology:   SymbologyGS1DataBar,
				Elements:    []Element{{"01", "09506000134352"}, {"3202", "001234"}, {"3300", "012345"}},
				GTIN:        "09506000134352",
				NetWeight:   Measure{decimal.RequireFromString("12.34"), "lb"},
				GrossWeight: Measure{decimal.RequireFromString("12345"), "kg"},
			},
		},
		{
			name: "no symbology identifier, all dates, day 00 is end of month",
			in:   "0109506000134352" + "4155412345678908" + "8020INV\x1d" + "11260101" + "12260215" + "13260300" + "15240229" + "16991231" + "17270200",
			want: Data{
				Elements: []Element{
					{"01", "09506000134352"}, {"415", "5412345678908"}, {"8020", "INV"}, {"11", "260101"}, {"12", "260215"}, {"13", "260300"},
					{"15", "240229"}, {"16", "991231"}, {"17", "270200"},
				},
				GTIN:           "09506000134352",
				ProductionDate: Date{2026, time.January, 1},
				DueDate:        Date{2026, time.February, 15},
				PackagingDate:  Date{2026, time.March, 31},
				BestBefore:     Date{2024, time.February, 29},
				SellBy:         Date{1999, time.December, 31}, // 99 is 73 years ahead of 26: previous century
				Expiry:         Date{2027, time.February, 28},
			},
		},
		{
			name:     "logistics: PO, GLNs, postal, variant, CPV, 24x, 7003",
			deferReq: true,
			in: "400PO-77\x1d" + "4109501101020917" + "4119501101020917" + "4129501101020917" +
				"4139501101020917" + "4149501101020917" + "420D-10115\x1d" + "2001" + "22CPV1\x1d" +
				"240ADD\x1d" + "241CUST\x1d" + "250SEC\x1d" + "254EXT\x1d" + "3012\x1d" +
				"7003" + "2712312359\x1d" + "02" + "09506000134352" + "401GINC1\x1d" + "40295011010209171236\x1d" + "8004ASSET-1",
			want: Data{
				Elements: []Element{
					{"400", "PO-77"}, {"410", "9501101020917"}, {"411", "9501101020917"}, {"412", "9501101020917"},
					{"413", "9501101020917"}, {"414", "9501101020917"}, {"420", "D-10115"}, {"20", "01"}, {"22", "CPV1"},
					{"240", "ADD"}, {"241", "CUST"}, {"250", "SEC"}, {"254", "EXT"}, {"30", "12"},
					{"7003", "2712312359"}, {"02", "09506000134352"}, {"401", "GINC1"}, {"402", "95011010209171236"}, {"8004", "ASSET-1"},
				},
				OrderNumber: "PO-77", ShipTo: "9501101020917", BillTo: "9501101020917", PurchaseFrom: "9501101020917",
				ShipFor: "9501101020917", Location: "9501101020917", ShipToPostal: "D-10115", Variant: "01", CPV: "CPV1",
				AdditionalID: "ADD", CustomerPartNumber: "CUST", SecondarySerial: "SEC", GLNExtension: "EXT", VariableCount: 12,
				ExpiryTime: time.Date(2027, time.December, 31, 23, 59, 0, 0, time.UTC), ContentGTIN: "09506000134352",
				GINC: "GINC1", GSIN: "95011010209171236", GIAI: "ASSET-1",
			},
		},
		{
			name: "identical duplicate tolerated, trailing GS tolerated",
			in:   "0109506000134352" + "10A\x1d" + "10A\x1d",
			want: Data{Elements: []Element{{"01", "09506000134352"}, {"10", "A"}, {"10", "A"}}, GTIN: "09506000134352", Batch: "A"},
		},
		{
			name: "variable fields at their maximum length",
			in:   "0109506000134352" + "10" + strings.Repeat("x", 20) + "\x1d" + "30" + "99999999",
			want: Data{
				Elements:      []Element{{"01", "09506000134352"}, {"10", strings.Repeat("x", 20)}, {"30", "99999999"}},
				GTIN:          "09506000134352",
				Batch:         strings.Repeat("x", 20),
				VariableCount: 99999999,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := p
			if tt.deferReq {
				p = partial
			}
			got, err := p.ParseElementString(tt.in)
			if err != nil {
				t.Fatalf("ParseElementString(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, gs1Opts); diff != "" {
				t.Errorf("ParseElementString(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseElementStringErrors(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		name   string
		in     string
		want   error
		wantAI string
	}{
		{"empty", "", ErrNotGS1, ""},
		{"only identifier", "]C1", ErrTruncated, ""},
		{"short identifier", "]C", ErrTruncated, ""},
		{"non-GS1 identifier", "]C0010950600013435", ErrNotGS1, ""},
		{"bad GTIN check digit", "0109506000134353", ErrCheckDigit, "01"},
		{"bad SSCC check digit", "00376130321109103421", ErrCheckDigit, "00"},
		{"bad GLN check digit", "4109501101020918", ErrCheckDigit, "410"},
		{"unknown AI", "89ABC", ErrUnknownAI, ""},
		{"unknown AI after a good one", "0109506000134352" + "89X", ErrUnknownAI, ""},
		{"one digit left", "0109506000134352" + "1", ErrTruncated, ""},
		{"batch too long", "10" + strings.Repeat("A", 21), ErrFieldTooLong, "10"},
		{"separator missing after batch", "10ABC" + "17271231" + "21" + strings.Repeat("9", 10), ErrFieldTooLong, "10"},
		{"count too long", "30123456789", ErrFieldTooLong, "30"},
		{"separator missing after 7003", "7003" + "2712312359" + "10A", ErrMissingSeparator, "7003"},
		{"GTIN truncated", "01095060001343", ErrTruncated, "01"},
		{"date truncated", "17" + "2712", ErrTruncated, "17"},
		{"empty batch", "10\x1d" + "21A", ErrTruncated, "10"},
		{"letter in GTIN", "010950600013435A", ErrInvalidCharacter, "01"},
		{"space in batch", "10AB C", ErrInvalidCharacter, "10"},
		{"non-ASCII in serial", "21AB\u00e9", ErrInvalidCharacter, "21"},
		{"month 13", "17271331", ErrInvalidDate, "17"},
		{"month 00", "17270031", ErrInvalidDate, "17"},
		{"31 April", "17270431", ErrInvalidDate, "17"},
		{"29 February in a common year", "17270229", ErrInvalidDate, "17"},
		{"day 32", "17270132", ErrInvalidDate, "17"},
		{"7003 day 00", "7003" + "2712002359", ErrInvalidDate, "7003"},
		{"7003 hour 24", "7003" + "2712312400", ErrInvalidDate, "7003"},
		{"conflicting batches", "10A\x1d10B", ErrDuplicateAI, "10"},
		{"conflicting net weights", "3102000100" + "3103000100", ErrDuplicateAI, "3103"},
		{"net weight with 6 decimals", "3106000100", ErrUnknownAI, ""},
		{"double separator", "10A\x1d\x1d21B", ErrUnknownAI, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.ParseElementString(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseElementString(%q) = %+v, %v; want error %v", tt.in, got, err, tt.want)
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %v is not a *Error", err)
			}
			if ge.AI != tt.wantAI {
				t.Errorf("Error.AI = %q, want %q (error %v)", ge.AI, tt.wantAI, err)
			}
			if diff := cmp.Diff(Data{}, got, gs1Opts); diff != "" {
				t.Errorf("result on error is not zero (-want +got):\n%s", diff)
			}
		})
	}
}

// A fixed-length field cut short by FNC1 is reported as too short, not as
// a GS inside its data.
func TestShortFixedFieldBeforeSeparator(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		in, wantAI, wantMsg string
	}{
		{"0109506000134352" + "172012\x1d" + "10A", "17", `gs1 (17) "2012": field too short for its fixed length: USE BY or EXPIRY is 6 characters, got 4 before FNC1`},
		{"010950600013435\x1d" + "10A", "01", `gs1 (01) "0950600013435": field too short for its fixed length: GTIN is 14 characters, got 13 before FNC1`},
	}
	for _, tt := range tests {
		_, err := p.ParseElementString(tt.in)
		if !errors.Is(err, ErrFieldTooShort) {
			t.Errorf("ParseElementString(%q): error %v, want ErrFieldTooShort", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.wantMsg, err.Error()); diff != "" {
			t.Errorf("ParseElementString(%q) message (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestGS1ErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := newTestGS1Parser(t, gs1Now).ParseElementString("0109506000134353")
	want := `gs1 (01) "09506000134353": bad check digit: want check digit 2`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

func TestParseElementStringUsesClockForCentury(t *testing.T) {
	t.Parallel()
	tests := []struct {
		now  int
		in   string
		want Date
	}{
		{2026, "17750101", Date{2075, time.January, 1}},   // +49
		{2026, "17760101", Date{2076, time.January, 1}},   // +50
		{2026, "17770101", Date{1977, time.January, 1}},   // +51: previous century
		{2098, "17470101", Date{2147, time.January, 1}},   // -51: next century
		{2098, "17490101", Date{2049, time.January, 1}},   // -49
		{2099, "17000229", Date{0, 0, 0}},                 // 2100 is not a leap year
		{2026, "17000229", Date{2000, time.February, 29}}, // 2000 is
	}
	for _, tt := range tests {
		p := newTestGS1Parser(t, time.Date(tt.now, time.June, 1, 0, 0, 0, 0, time.UTC))
		got, err := p.ParseElementString("0109506000134352" + tt.in)
		if tt.want.IsZero() {
			if !errors.Is(err, ErrInvalidDate) {
				t.Errorf("in %d, %q: error %v, want ErrInvalidDate", tt.now, tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("in %d, %q: %v", tt.now, tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got.Expiry); diff != "" {
			t.Errorf("in %d, %q (-want +got):\n%s", tt.now, tt.in, diff)
		}
	}
}

func TestGS1DataValue(t *testing.T) {
	t.Parallel()
	d, err := newTestGS1Parser(t, gs1Now).ParseElementString("0109506000134352" + "300\x1d10A")
	if err != nil {
		t.Fatal(err)
	}
	type lookup struct {
		V  string
		OK bool
	}
	var got []lookup
	for _, ai := range []string{"30", "37", "10"} {
		v, ok := d.Value(ai)
		got = append(got, lookup{v, ok})
	}
	want := []lookup{{"0", true}, {"", false}, {"A", true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Value (-want +got):\n%s", diff)
	}
}

func TestEncodeElementString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sym   Symbology
		elems []Element
		want  string
		err   error
	}{
		{"separator only between variable fields", SymbologyGS1128,
			[]Element{{"10", "A"}, {"01", "09506000134352"}, {"21", "S"}, {"7003", "2712312359"}},
			"]C110A\x1d0109506000134352" + "21S\x1d7003" + "2712312359", nil},
		{"no identifier", SymbologyNone, []Element{{"17", "271231"}}, "17271231", nil},
		{"bad identifier", "]C0", []Element{{"17", "271231"}}, "", ErrNotGS1},
		{"empty", SymbologyGS1128, nil, "", ErrTruncated},
		{"unknown AI", SymbologyGS1128, []Element{{"89", "x"}}, "", ErrUnknownAI},
		{"bad check digit", SymbologyGS1128, []Element{{"01", "09506000134353"}}, "", ErrCheckDigit},
		{"too long", SymbologyGS1128, []Element{{"21", strings.Repeat("1", 21)}}, "", ErrFieldTooLong},
		{"bad month", SymbologyGS1128, []Element{{"11", "261301"}}, "", ErrInvalidDate},
	}
	for _, tt := range tests {
		got, err := EncodeElementString(tt.sym, tt.elems)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestAITableIsPrefixFree(t *testing.T) {
	t.Parallel()
	// lookupAI relies on it: a prefix-free table has one parse.
	for a := range aiTable {
		for b := range aiTable {
			if a != b && strings.HasPrefix(b, a) {
				t.Errorf("AI %s is a prefix of AI %s", a, b)
			}
		}
		// GS1 General Specifications figure 7.8.5-2 gives the AI prefixes of
		// predefined length, which need no FNC1; the dictionary's "*" flag
		// must agree, and such an AI must be of fixed length.
		_, fig := predefinedLength[a[:2]]
		if def := aiTable[a]; def.predefined != fig || fig && def.fixedLength() != predefinedLength[a[:2]]-len(a) {
			t.Errorf("AI %s: predefined %v, fixed length %d; figure 7.8.5-2 says %v", a, def.predefined, def.fixedLength(), fig)
		}
	}
}

func TestGS1CheckDigit(t *testing.T) {
	t.Parallel()
	valid := []string{"09506000134352", "4006381333931", "96385074", "036000291452", "376130321109103420", "9501101020917"}
	for _, v := range valid {
		if want, ok := verifyCheckDigit(v); !ok {
			t.Errorf("%s: check digit rejected, computed %c", v, want)
		}
		// Changing any one digit must be caught.
		for i := 0; i < len(v); i++ {
			b := []byte(v)
			b[i] = '0' + (b[i]-'0'+1)%10
			if _, ok := verifyCheckDigit(string(b)); ok {
				t.Errorf("%s with digit %d changed: accepted", v, i)
			}
		}
	}
}

// predefinedLength is GS1 General Specifications figure 7.8.5-2: element
// strings whose AI starts with these two digits have this predefined total
// length (AI plus data).
var predefinedLength = map[string]int{
	"00": 20, "01": 16, "02": 16, "03": 16, "04": 18,
	"11": 8, "12": 8, "13": 8, "14": 8, "15": 8, "16": 8, "17": 8, "18": 8, "19": 8,
	"20": 4,
	"31": 10, "32": 10, "33": 10, "34": 10, "35": 10, "36": 10,
	"41": 16,
}
