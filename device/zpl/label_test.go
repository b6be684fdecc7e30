package zpl

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock/device/gs1"
)

// The -update flag rewrites golden files. It is registered in init, after
// every package-level variable, so that another test file of this package
// may declare the same flag without a "flag redefined" panic.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestRenderLotLabelGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden string
		label  LotLabel
	}{
		{"label_lot.zpl", LotLabel{
			Product: "Paracetamol 500 mg tablets", GTIN: "09506000134352", Batch: "ABC-123",
			Expiry: gs1.Date{Year: 2027, Month: time.December, Day: 31},
		}},
		{"label_numeric_batch.zpl", LotLabel{
			Product: "Saline 0.9% 1 L", GTIN: "9501101020917", Batch: "240611",
			Expiry: gs1.Date{Year: 2028, Month: time.February, Day: 29},
		}},
		{"label_escaped.zpl", LotLabel{
			Product: "Café ^XZ~JR_caret", GTIN: "96385074", Batch: "L_1/x",
			Expiry: gs1.Date{Year: 2026, Month: time.January, Day: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			got, err := RenderLotLabel(tt.label)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
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
		})
	}
}

// The barcode field, read back the way a scanner transmits it (">;>8" is
// "]C1", ">6" only switches subsets), parses to the label's data.
func TestRenderLotLabelBarcodeScansBack(t *testing.T) {
	t.Parallel()
	p, err := gs1.NewParser(&gs1.Config{Clock: func() time.Time { return time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []string{"ABC-123", "240611", "12345", "x", "L_1/x"} {
		zpl, err := RenderLotLabel(LotLabel{Product: "P", GTIN: "4006381333931", Batch: batch, Expiry: gs1.Date{Year: 2027, Month: time.June, Day: 30}})
		if err != nil {
			t.Fatal(err)
		}
		_, field, ok := strings.Cut(string(zpl), "^BCN,120,N,N,N,N^FD")
		if !ok {
			t.Fatalf("no ^BC field in\n%s", zpl)
		}
		field, _, _ = strings.Cut(field, "^FS")
		if !strings.HasPrefix(field, ">;>8") {
			t.Fatalf("field %q does not start in subset C with FNC1", field)
		}
		scanned := "]C1" + strings.ReplaceAll(strings.TrimPrefix(field, ">;>8"), ">6", "")
		got, err := p.ParseElementString(scanned)
		if err != nil {
			t.Fatalf("batch %q: %q: %v", batch, scanned, err)
		}
		want := []gs1.Element{{AI: "01", Value: "04006381333931"}, {AI: "17", Value: "270630"}, {AI: "10", Value: batch}}
		if diff := cmp.Diff(want, got.Elements); diff != "" {
			t.Errorf("batch %q (-want +got):\n%s", batch, diff)
		}
		// Subset C holds digit pairs only: whatever follows the switch must
		// be a whole number of pairs when no switch is present.
		if !strings.Contains(field, ">6") && len(strings.TrimPrefix(field, ">;>8"))%2 != 0 {
			t.Errorf("batch %q: odd digit count left in subset C: %q", batch, field)
		}
	}
}

func TestRenderLotLabelErrors(t *testing.T) {
	t.Parallel()
	good := LotLabel{Product: "P", GTIN: "09506000134352", Batch: "B1", Expiry: gs1.Date{Year: 2027, Month: time.December, Day: 31}}
	tests := []struct {
		name      string
		edit      func(*LotLabel)
		wantField string
		want      error
	}{
		{"no product", func(l *LotLabel) { l.Product = "" }, "Product", ErrInvalid},
		{"product too long", func(l *LotLabel) { l.Product = strings.Repeat("é", 41) }, "Product", ErrInvalid},
		{"control character in product", func(l *LotLabel) { l.Product = "A\nB" }, "Product", ErrInvalid},
		{"invalid UTF-8 product", func(l *LotLabel) { l.Product = "\xff" }, "Product", ErrInvalid},
		{"bad GTIN check digit", func(l *LotLabel) { l.GTIN = "09506000134353" }, "GTIN", gs1.ErrCheckDigit},
		{"GTIN of 11 digits", func(l *LotLabel) { l.GTIN = "95060001343" }, "GTIN", ErrInvalid},
		{"GTIN with letters", func(l *LotLabel) { l.GTIN = "0950600013435X" }, "GTIN", ErrInvalid},
		{"no batch", func(l *LotLabel) { l.Batch = "" }, "Batch", gs1.ErrTruncated},
		{"batch too long", func(l *LotLabel) { l.Batch = strings.Repeat("1", 21) }, "Batch", gs1.ErrFieldTooLong},
		{"space in batch", func(l *LotLabel) { l.Batch = "B 1" }, "Batch", gs1.ErrInvalidCharacter},
		{"caret in batch", func(l *LotLabel) { l.Batch = "B^XZ" }, "Batch", gs1.ErrInvalidCharacter},
		{"ZPL invocation in batch", func(l *LotLabel) { l.Batch = "B>8" }, "Batch", ErrInvalid},
		{"no expiry", func(l *LotLabel) { l.Expiry = gs1.Date{} }, "Expiry", ErrInvalid},
		{"impossible expiry", func(l *LotLabel) { l.Expiry = gs1.Date{Year: 2027, Month: time.February, Day: 29} }, "Expiry", gs1.ErrInvalidDate},
	}
	for _, tt := range tests {
		l := good
		tt.edit(&l)
		got, err := RenderLotLabel(l)
		var le *Error
		if !errors.As(err, &le) || !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.want) {
			t.Errorf("%s: RenderLotLabel = %q, %v; want a *Error wrapping ErrInvalid and %v", tt.name, got, err, tt.want)
			continue
		}
		if le.Field != tt.wantField {
			t.Errorf("%s: field %q, want %q", tt.name, le.Field, tt.wantField)
		}
	}
}

// TestRenderLotLabelFitsTheLabel: every batch either renders a barcode
// that fits the 812-dot label beside its quiet zones, or is refused with
// an error naming the batch and the widths; an odd count of digits keeps
// its pairs in subset C and only its last digit in B.
func TestRenderLotLabelFitsTheLabel(t *testing.T) {
	t.Parallel()
	width := func(field string) int {
		// Symbol characters: start C, FNC1, then C pairs and B
		// characters by subset, each switch one character; check; stop.
		chars, subsetB := 2, false
		body := strings.TrimPrefix(field, ">;>8")
		for i := 0; i < len(body); {
			if strings.HasPrefix(body[i:], ">6") {
				chars, subsetB, i = chars+1, true, i+2
				continue
			}
			if subsetB {
				chars, i = chars+1, i+1
			} else {
				chars, i = chars+1, i+2
			}
		}
		return (11*(chars+1) + 13) * 2
	}
	for n := 1; n <= 20; n++ {
		for _, batch := range []string{strings.Repeat("7", n), strings.Repeat("A", n)} {
			zpl, err := RenderLotLabel(LotLabel{Product: "P", GTIN: "4006381333931", Batch: batch, Expiry: gs1.Date{Year: 2027, Month: time.June, Day: 30}})
			letters := batch[0] == 'A'
			if letters && n > 16 {
				var e *Error
				if !errors.As(err, &e) || e.Field != "Batch" || !strings.Contains(e.Reason, "dots wide") {
					t.Errorf("batch of %d letters: %v; want a Batch error naming the widths", n, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("batch %q: %v", batch, err)
			}
			_, field, _ := strings.Cut(string(zpl), "^BCN,120,N,N,N,N^FD")
			field, _, _ = strings.Cut(field, "^FS")
			if w := width(field); w > 812-40-20 {
				t.Errorf("batch %q: barcode %d dots wide, the label holds %d", batch, w, 812-40-20)
			}
			if !letters && n%2 == 1 && !strings.HasSuffix(field, strings.Repeat("7", n-1)+">67") {
				t.Errorf("batch of %d digits: %q; want the pairs in C and the last digit in B", n, field)
			}
		}
	}
}
