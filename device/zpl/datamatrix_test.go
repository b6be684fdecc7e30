package zpl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock/device/gs1"
	"pgregory.net/rapid"
)

func TestASCIICodewords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"7", 1},
		{"12", 1},
		{"123", 2},
		{"1234", 2},
		{"A", 1},
		{"AB1", 3},
		{"a12b", 3},
		{"1A2", 3},     // no pair: the digits are not next to each other
		{"\x1d", 1},    // GS, the separator a scanner sends for FNC1
		{"\xc4", 2},    // Upper Shift and the byte less 128
		{"A\xff9", 4},  // 1 + 2 + 1
		{"12\xe9", 3},  // a pair, then an extended byte
		{"0123456", 4}, // three pairs and a lone digit
		// The element strings of the golden labels, without their FNC1.
		{"01095060001343521727123110ABC-123", 13 + 6},
		{"0109501101020917172802291024061" + "1", 16},
		{"01000000963850741726010110L_1/x", 13 + 5},
	}
	for _, tt := range tests {
		if got := asciiCodewords(tt.in); got != tt.want {
			t.Errorf("asciiCodewords(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestDataMatrixSide(t *testing.T) {
	t.Parallel()
	tests := []struct{ codewords, side int }{
		{0, 10}, {3, 10}, {4, 12}, {5, 12}, {8, 14}, {12, 16}, {13, 18}, {18, 18}, {19, 20},
		{22, 20}, {23, 22}, {30, 22}, {31, 24}, {36, 24}, {37, 26}, {44, 26}, {45, 32},
		{62, 32}, {63, 36}, {1304, 132}, {1305, 144}, {1558, 144}, {1559, 0},
	}
	for _, tt := range tests {
		if got := dataMatrixSide(tt.codewords); got != tt.side {
			t.Errorf("dataMatrixSide(%d) = %d, want %d", tt.codewords, got, tt.side)
		}
	}
	// The table itself: sides and capacities grow, sides are even.
	for i, s := range dataMatrixSizes {
		if s.side%2 != 0 || (i > 0 && (s.side <= dataMatrixSizes[i-1].side || s.capacity <= dataMatrixSizes[i-1].capacity)) {
			t.Errorf("dataMatrixSizes[%d] = %+v does not follow %+v", i, s, dataMatrixSizes[max(i-1, 0)])
		}
	}
}

// TestDataMatrixCapacityMonotone: more data never needs fewer codewords,
// more codewords never a smaller symbol, and the symbol chosen is the
// smallest that holds the data.
func TestDataMatrixCapacityMonotone(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := string(rapid.SliceOf(rapid.Byte()).Draw(t, "data"))
		more := string(rapid.SliceOf(rapid.Byte()).Draw(t, "more"))
		a, b := asciiCodewords(s), asciiCodewords(s+more)
		if a > b {
			t.Fatalf("asciiCodewords(%q) = %d > asciiCodewords(%q) = %d", s, a, s+more, b)
		}
		if a < (len(s)+1)/2 || a > 2*len(s) {
			t.Fatalf("asciiCodewords(%q) = %d, outside [%d, %d]", s, a, (len(s)+1)/2, 2*len(s))
		}
		n := rapid.IntRange(0, 1600).Draw(t, "codewords")
		m := rapid.IntRange(n, 1600).Draw(t, "more codewords")
		sn, sm := dataMatrixSide(n), dataMatrixSide(m)
		if sm != 0 && (sn == 0 || sn > sm) {
			t.Fatalf("dataMatrixSide(%d) = %d but dataMatrixSide(%d) = %d", n, sn, m, sm)
		}
		for i, size := range dataMatrixSizes {
			if size.side == sn && (size.capacity < n || (i > 0 && dataMatrixSizes[i-1].capacity >= n)) {
				t.Fatalf("dataMatrixSide(%d) = %d, not the smallest symbol that holds it", n, sn)
			}
		}
	})
}

var goldenLabels = map[string]LotLabel{
	"lot": {
		Product: "Paracetamol 500 mg tablets", GTIN: "09506000134352", Batch: "ABC-123",
		Expiry: gs1.Date{Year: 2027, Month: time.December, Day: 31},
	},
	"numeric_batch": {
		Product: "Saline 0.9% 1 L", GTIN: "9501101020917", Batch: "240611",
		Expiry: gs1.Date{Year: 2028, Month: time.February, Day: 29},
	},
	"escaped": {
		Product: "Café ^XZ~JR_caret", GTIN: "96385074", Batch: "L_1/x",
		Expiry: gs1.Date{Year: 2026, Month: time.January, Day: 1},
	},
}

func TestRenderLotLabelDataMatrixGolden(t *testing.T) {
	t.Parallel()
	for name, label := range goldenLabels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := RenderLotLabelDataMatrix(label, nil)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "label_datamatrix_"+name+".zpl")
			if updateGolden() {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
			// Everything but the barcode is the GS1-128 label's.
			linear, err := RenderLotLabel(label)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(withoutBarcode(string(linear)), withoutBarcode(string(got))); diff != "" {
				t.Errorf("text of the two labels differs (-GS1-128 +DataMatrix):\n%s", diff)
			}
		})
	}
}

var barcodeLine = regexp.MustCompile(`(?m)^\^FO\d+,\d+\^B.*\n`)

func withoutBarcode(zpl string) string { return barcodeLine.ReplaceAllString(zpl, "") }

var dataMatrixField = regexp.MustCompile(`\^FO(\d+),(\d+)\^BXN,(\d+),200,(\d+),(\d+),,_\^FD(.*?)\^FS`)

// scanDataMatrix returns what a scanner would send for the label's
// symbol, its position and its size in modules, read from the ZPL.
func scanDataMatrix(t *testing.T, zpl string) (scanned string, x, y, module, side int) {
	t.Helper()
	m := dataMatrixField.FindStringSubmatch(zpl)
	if m == nil {
		t.Fatalf("no ^BX quality 200 field with '_' as escape in\n%s", zpl)
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m[4] != m[5] {
		t.Fatalf("symbol %sx%s is not square", m[4], m[5])
	}
	field, ok := strings.CutPrefix(m[6], "_1")
	if !ok {
		t.Fatalf("field %q does not start with FNC1", m[6])
	}
	// "__" is one '_'; any other escape would be a mistake here.
	var b strings.Builder
	for i := 0; i < len(field); i++ {
		if field[i] == '_' {
			if i+1 >= len(field) || field[i+1] != '_' {
				t.Fatalf("field %q has an escape other than __ at %d", field, i)
			}
			i++
		}
		b.WriteByte(field[i])
	}
	return "]d2" + b.String(), num(m[1]), num(m[2]), num(m[3]), num(m[4])
}

// The symbol's data, read back the way a scanner transmits it, parses to
// the label's elements; the symbol is the size the codewords need and
// lies within its square.
func TestRenderLotLabelDataMatrixScansBack(t *testing.T) {
	t.Parallel()
	p, err := gs1.NewParser(&gs1.Config{Clock: func() time.Time { return time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []string{"ABC-123", "240611", "12345", "x", "L_1/x", "B>8", "__", strings.Repeat("Z", 20), strings.Repeat("9", 20)} {
		l := LotLabel{Product: "P", GTIN: "4006381333931", Batch: batch, Expiry: gs1.Date{Year: 2027, Month: time.June, Day: 30}}
		zpl, err := RenderLotLabelDataMatrix(l, nil)
		if err != nil {
			t.Fatalf("batch %q: %v", batch, err)
		}
		scanned, x, y, module, side := scanDataMatrix(t, string(zpl))
		got, err := p.ParseElementString(scanned)
		if err != nil {
			t.Fatalf("batch %q: %q: %v", batch, scanned, err)
		}
		want := []gs1.Element{{AI: "01", Value: "04006381333931"}, {AI: "17", Value: "270630"}, {AI: "10", Value: batch}}
		if diff := cmp.Diff(want, got.Elements); diff != "" || got.Symbology != gs1.SymbologyGS1DataMatrix {
			t.Errorf("batch %q: symbology %q (-want +got):\n%s", batch, got.Symbology, diff)
		}
		if wantSide := dataMatrixSide(1 + asciiCodewords(strings.TrimPrefix(scanned, "]d2"))); side != wantSide || module != DefaultDataMatrixModuleDots {
			t.Errorf("batch %q: %dx%d symbol at %d dots a module, want %dx%d at %d", batch, side, side, module, wantSide, wantSide, DefaultDataMatrixModuleDots)
		}
		if x-module < 812-40-220 || x+(side+1)*module > 812-40 || y-module < 85 || y+(side+1)*module > 85+220 {
			t.Errorf("batch %q: symbol at %d,%d, %d dots a side, leaves its square", batch, x, y, side*module)
		}
	}
}

// TestRenderLotLabelDataMatrixFits: at every module size and batch length
// the label either renders a symbol that fits its square with the quiet
// zone, or is refused with an error naming the symbol size that would
// not fit; a larger module never fits where a smaller one did not.
func TestRenderLotLabelDataMatrixFits(t *testing.T) {
	t.Parallel()
	refusedAt := map[string]int{} // the smallest module size refused, per batch
	for module := 2; module <= 16; module++ {
		for n := 1; n <= 20; n++ {
			for _, batch := range []string{strings.Repeat("7", n), strings.Repeat("A", n)} {
				l := LotLabel{Product: "P", GTIN: "4006381333931", Batch: batch, Expiry: gs1.Date{Year: 2027, Month: time.June, Day: 30}}
				zpl, err := RenderLotLabelDataMatrix(l, &DataMatrixConfig{ModuleDots: module})
				side := dataMatrixSide(1 + asciiCodewords("0104006381333931172706301"+"0"+batch))
				if (side+2)*module > 220 {
					var e *Error
					wantSize := fmt.Sprintf("a %dx%d symbol", side, side)
					if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Field != "Batch" || !strings.Contains(e.Reason, wantSize) {
						t.Errorf("batch %q at %d dots: %v; want a Batch error naming %s", batch, module, err, wantSize)
					}
					if _, seen := refusedAt[batch]; !seen {
						refusedAt[batch] = module
					}
					continue
				}
				if err != nil {
					t.Fatalf("batch %q at %d dots: %v", batch, module, err)
				}
				if first, seen := refusedAt[batch]; seen {
					t.Errorf("batch %q fits at %d dots but was refused at %d", batch, module, first)
				}
				if _, _, _, gotModule, gotSide := scanDataMatrix(t, string(zpl)); gotSide != side || gotModule != module {
					t.Errorf("batch %q at %d dots: %dx%d at %d, want %dx%d", batch, module, gotSide, gotSide, gotModule, side, side)
				}
			}
		}
	}
	// The message, in full, for a batch that needs a 24x24 symbol.
	_, err := RenderLotLabelDataMatrix(LotLabel{Product: "P", GTIN: "4006381333931", Batch: strings.Repeat("A", 20), Expiry: gs1.Date{Year: 2027, Month: time.June, Day: 30}}, &DataMatrixConfig{ModuleDots: 10})
	want := `label Batch "AAAAAAAAAAAAAAAAAAAA": the GS1 DataMatrix needs 34 data codewords, a 24x24 symbol, 260 dots a side with its quiet zone at 10 dots a module; the label holds 220`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestRenderLotLabelDataMatrixErrors(t *testing.T) {
	t.Parallel()
	good := LotLabel{Product: "P", GTIN: "09506000134352", Batch: "B1", Expiry: gs1.Date{Year: 2027, Month: time.December, Day: 31}}
	tests := []struct {
		name      string
		edit      func(*LotLabel)
		cfg       *DataMatrixConfig
		wantField string
		want      error
	}{
		{"no product", func(l *LotLabel) { l.Product = "" }, nil, "Product", ErrInvalid},
		{"bad GTIN check digit", func(l *LotLabel) { l.GTIN = "09506000134353" }, nil, "GTIN", gs1.ErrCheckDigit},
		{"batch too long", func(l *LotLabel) { l.Batch = strings.Repeat("1", 21) }, nil, "Batch", gs1.ErrFieldTooLong},
		{"caret in batch", func(l *LotLabel) { l.Batch = "B^XZ" }, nil, "Batch", gs1.ErrInvalidCharacter},
		{"tilde in batch", func(l *LotLabel) { l.Batch = "B~JR" }, nil, "Batch", gs1.ErrInvalidCharacter},
		{"impossible expiry", func(l *LotLabel) { l.Expiry = gs1.Date{Year: 2027, Month: time.February, Day: 29} }, nil, "Expiry", gs1.ErrInvalidDate},
		{"one-dot module", func(*LotLabel) {}, &DataMatrixConfig{ModuleDots: 1}, "ModuleDots", ErrInvalid},
		{"negative module", func(*LotLabel) {}, &DataMatrixConfig{ModuleDots: -3}, "ModuleDots", ErrInvalid},
		{"module too large for any symbol", func(*LotLabel) {}, &DataMatrixConfig{ModuleDots: 19}, "ModuleDots", ErrInvalid},
	}
	for _, tt := range tests {
		l := good
		tt.edit(&l)
		got, err := RenderLotLabelDataMatrix(l, tt.cfg)
		var le *Error
		if !errors.As(err, &le) || !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.want) {
			t.Errorf("%s: RenderLotLabelDataMatrix = %q, %v; want a *Error wrapping ErrInvalid and %v", tt.name, got, err, tt.want)
			continue
		}
		if le.Field != tt.wantField {
			t.Errorf("%s: field %q, want %q", tt.name, le.Field, tt.wantField)
		}
	}
}

// FuzzRenderLotLabelDataMatrix: any batch and module size either renders
// a symbol whose data scans back to the batch, or is refused with a *Error;
// nothing panics.
func FuzzRenderLotLabelDataMatrix(f *testing.F) {
	f.Add("ABC-123", 3)
	f.Add("L_1/x", 2)
	f.Add("_", 10)
	f.Add("\xff", 0)
	p, err := gs1.NewParser(&gs1.Config{Clock: func() time.Time { return time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, batch string, module int) {
		zpl, err := RenderLotLabelDataMatrix(LotLabel{Product: "P", GTIN: "4006381333931", Batch: batch, Expiry: gs1.Date{Year: 2027, Month: time.June, Day: 30}}, &DataMatrixConfig{ModuleDots: module})
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not a *Error wrapping ErrInvalid", err)
			}
			return
		}
		scanned, _, _, _, _ := scanDataMatrix(t, string(zpl))
		got, err := p.ParseElementString(scanned)
		if err != nil || len(got.Elements) != 3 || got.Elements[2].Value != batch {
			t.Fatalf("batch %q scans back as %+v, %v", batch, got, err)
		}
	})
}
