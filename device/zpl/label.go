package zpl

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/device/gs1"
)

// ErrInvalid is wrapped by every error of RenderLotLabel about its
// input.
var ErrInvalid = fmt.Errorf("invalid label: %w", interlock.ErrInvalid)

// Error says which field of a label is wrong and why.
type Error struct {
	Field  string // such as "GTIN"
	Value  string
	Reason string
	Err    error // ErrInvalid, or a GS1 sentinel such as gs1.ErrCheckDigit
}

// Error names the field, its value and the reason.
func (e *Error) Error() string {
	return fmt.Sprintf("label %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalid and, when the field failed a GS1 check, that
// check's sentinel too.
func (e *Error) Unwrap() []error {
	if e.Err == nil || e.Err == ErrInvalid {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}

// The label's geometry: 4 inches at 203 dpi, the barcode's left edge and
// its module width in dots.
const (
	labelWidth    = 812
	barcodeX      = 40
	barcodeModule = 2
)

// maxProductRunes keeps the product name on one line of the label.
const maxProductRunes = 40

// LotLabel is what a lot label shows: a barcode (GS1-128 or GS1
// DataMatrix) with (01) GTIN, (17) expiry and (10) batch, and the same in
// human-readable lines.
type LotLabel struct {
	Product string   // product name, printed as the title
	GTIN    string   // GTIN-8, -12, -13 or -14; encoded as 14 digits
	Batch   string   // GS1 AI (10): 1 to 20 characters of GS1 character set 82, but not '>'
	Expiry  gs1.Date // required
}

// labelError returns a *Error for field.
func labelError(field, value, reason string, sentinel error) error {
	return &Error{Field: field, Value: value, Reason: reason, Err: sentinel}
}

// check validates the fields every lot label needs and returns the GTIN
// as 14 digits; code128 adds the rule of a ZPL Code 128 field. The error
// is a *Error naming the first bad field.
func (l LotLabel) check(code128 bool) (gtin string, err error) {
	bad := labelError
	if l.Product == "" {
		return "", bad("Product", l.Product, "required", ErrInvalid)
	}
	if !utf8.ValidString(l.Product) {
		return "", bad("Product", l.Product, "not UTF-8", ErrInvalid)
	}
	if n := utf8.RuneCountInString(l.Product); n > maxProductRunes {
		return "", bad("Product", l.Product, fmt.Sprintf("%d characters, at most %d fit", n, maxProductRunes), ErrInvalid)
	}
	for _, r := range l.Product {
		if unicode.IsControl(r) {
			return "", bad("Product", l.Product, fmt.Sprintf("control character %U", r), ErrInvalid)
		}
	}
	gtin, err = gs1.GTIN14(l.GTIN)
	if err != nil {
		var ge *gs1.Error
		if errors.As(err, &ge) && errors.Is(err, gs1.ErrCheckDigit) {
			return "", bad("GTIN", l.GTIN, ge.Reason, gs1.ErrCheckDigit)
		}
		return "", bad("GTIN", l.GTIN, "want 8, 12, 13 or 14 digits", ErrInvalid)
	}
	if err := gs1.CheckValue("10", l.Batch); err != nil {
		var ge *gs1.Error
		if errors.As(err, &ge) {
			return "", bad("Batch", l.Batch, ge.Err.Error()+": "+ge.Reason, ge.Err)
		}
		return "", bad("Batch", l.Batch, err.Error(), ErrInvalid)
	}
	if code128 && strings.ContainsRune(l.Batch, '>') {
		// '>' introduces ZPL's Code 128 invocation codes; escaping it is
		// not supported, so refuse rather than print a different batch.
		return "", bad("Batch", l.Batch, "'>' cannot be printed in a ZPL Code 128 field", ErrInvalid)
	}
	if l.Expiry.IsZero() {
		return "", bad("Expiry", "", "required", ErrInvalid)
	}
	if !l.Expiry.Valid() {
		return "", bad("Expiry", l.Expiry.String(), "not a calendar date", gs1.ErrInvalidDate)
	}
	return gtin, nil
}

// textLines writes the head of a lot label: the format's start, the
// product as its title, and the GTIN, batch and expiry in words.
func (l LotLabel) textLines(b *strings.Builder, gtin string) {
	b.WriteString("^XA\n")
	b.WriteString("^CI28\n") // UTF-8 field data
	b.WriteString("^PW812\n^LL406\n^LH0,0\n")
	fmt.Fprintf(b, "^FO40,30^A0N,40,40^FH^FD%s^FS\n", zplText(l.Product))
	fmt.Fprintf(b, "^FO40,85^A0N,28,28^FH^FDGTIN: %s^FS\n", zplText(gtin))
	fmt.Fprintf(b, "^FO40,120^A0N,28,28^FH^FDBatch: %s^FS\n", zplText(l.Batch))
	fmt.Fprintf(b, "^FO40,155^A0N,28,28^FH^FDExpiry: %s^FS\n", zplText(l.Expiry.String()))
}

// hriLine writes the element string in human-readable form and ends the
// format.
func (l LotLabel) hriLine(b *strings.Builder, gtin string) {
	hri := fmt.Sprintf("(01)%s(17)%s(10)%s", gtin, l.Expiry.YYMMDD(), l.Batch)
	fmt.Fprintf(b, "^FO40,330^A0N,24,24^FH^FD%s^FS\n", zplText(hri))
	b.WriteString("^XZ\n")
}

// RenderLotLabel returns the ZPL II for a 4 x 2 inch label at 203 dpi. The
// barcode is Code 128 started in subset C with FNC1 (">;>8"), which a scanner
// reports as ]C1, that is GS1-128. Fixed-length (01) and (17) come first so
// the variable-length batch ends the symbol and needs no separator.
//
// The error is a *Error wrapping ErrInvalid (and gs1.ErrCheckDigit for
// a bad GTIN) naming the first bad field.
func RenderLotLabel(l LotLabel) ([]byte, error) {
	gtin, err := l.check(true)
	if err != nil {
		return nil, err
	}
	exp := l.Expiry.YYMMDD()

	// Subset C packs the all-digit head, "01"+GTIN+"17"+YYMMDD+"10", two
	// digits per symbol character. An all-digit batch stays in C, its last
	// digit of an odd count in subset B (">6"); any other batch goes in B.
	code := ">;>801" + gtin + "17" + exp + "10"
	batchChars := 0 // symbol characters the batch takes
	switch n := len(l.Batch); {
	case isDigits(l.Batch) && n%2 == 0:
		code += l.Batch
		batchChars = n / 2
	case isDigits(l.Batch):
		code += l.Batch[:n-1] + ">6" + l.Batch[n-1:]
		batchChars = (n-1)/2 + 2
	default:
		code += ">6" + l.Batch
		batchChars = 1 + n
	}
	// The symbol must fit the label with its quiet zone: start, FNC1, the
	// 13 characters of the head, the batch and the check character, 11
	// modules each, then the 13-module stop, at 2 dots a module (0.25 mm
	// at 203 dpi, GS1-128's smallest X-dimension), from x=barcodeX to a
	// 10-module quiet zone before the label's edge.
	if dots := (11*(1+1+13+batchChars+1) + 13) * barcodeModule; dots > labelWidth-barcodeX-10*barcodeModule {
		return nil, labelError("Batch", l.Batch, fmt.Sprintf("the GS1-128 barcode would be %d dots wide and the %d-dot label holds %d beside its quiet zones; "+
			"a batch of letters fits in at most 16 characters, one of digits in 20", dots, labelWidth, labelWidth-barcodeX-10*barcodeModule), ErrInvalid)
	}
	var b strings.Builder
	l.textLines(&b, gtin)
	fmt.Fprintf(&b, "^FO%d,200^BY%d^BCN,120,N,N,N,N^FD%s^FS\n", barcodeX, barcodeModule, code)
	l.hriLine(&b, gtin)
	return []byte(b.String()), nil
}

// zplText escapes s for a field introduced by ^FH (hex indicator '_'): the
// command prefixes '^' and '~', the indicator itself and any byte outside
// printable ASCII are written as _XX, so no input can end the field early.
func zplText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '^' || c == '~' || c == '_' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "_%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
