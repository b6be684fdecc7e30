package zpl

import (
	"fmt"
	"strings"
)

// DataMatrixConfig sizes the symbol of RenderLotLabelDataMatrix.
type DataMatrixConfig struct {
	// ModuleDots is the side of one module (the X-dimension) in printer
	// dots at 203 dpi: 2 is 0.25 mm, 3 is 0.375 mm. At least 2, because
	// a one-dot module does not print reliably. Default
	// DefaultDataMatrixModuleDots.
	ModuleDots int
}

// DefaultDataMatrixModuleDots is the module size of a DataMatrixConfig
// that names none: 0.375 mm at 203 dpi.
const DefaultDataMatrixModuleDots = 3

// The square the DataMatrix may take on the 4 x 2 inch label: right of
// the text lines, from below the title to above the human-readable line,
// its quiet zone included.
const (
	dataMatrixArea   = 220 // dots a side
	dataMatrixTop    = 85
	dataMatrixRight  = labelWidth - 40 // the right margin matches the left
	minModuleDots    = 2
	dataMatrixQuiet  = 1 // modules of quiet zone on each side (ISO/IEC 16022)
	dataMatrixFNC1CW = 1 // codewords of the leading FNC1 (codeword 232)
)

// dataMatrixSizes are the square ECC 200 symbols of ISO/IEC 16022, table
// 7: the side in modules and how many data codewords each holds.
var dataMatrixSizes = []struct {
	side, capacity int
}{
	{10, 3}, {12, 5}, {14, 8}, {16, 12}, {18, 18}, {20, 22}, {22, 30}, {24, 36},
	{26, 44}, {32, 62}, {36, 86}, {40, 114}, {44, 144}, {48, 174}, {52, 204},
	{64, 280}, {72, 368}, {80, 456}, {88, 576}, {96, 696}, {104, 816},
	{120, 1050}, {132, 1304}, {144, 1558},
}

// asciiCodewords returns how many data codewords ECC 200's ASCII
// encodation takes for s: two consecutive digits share one codeword
// (pairs taken from the left), any other byte below 128 takes one, and a
// byte of 128 or more takes two (Upper Shift, then the byte less 128). A
// GS1 FNC1 is codeword 232, one more codeword wherever it stands.
func asciiCodewords(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c) && i+1 < len(s) && isDigit(s[i+1]):
			n++
			i++
		case c >= 128:
			n += 2
		default:
			n++
		}
	}
	return n
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// dataMatrixSide returns the side in modules of the smallest square ECC
// 200 symbol holding codewords data codewords, or 0 when none does.
func dataMatrixSide(codewords int) int {
	for _, s := range dataMatrixSizes {
		if codewords <= s.capacity {
			return s.side
		}
	}
	return 0
}

// RenderLotLabelDataMatrix returns the ZPL II for the 4 x 2 inch lot label
// of RenderLotLabel with a GS1 DataMatrix in place of the GS1-128 barcode:
// ECC 200 (^BX quality 200) with FNC1 first, which a scanner reports as
// ]d2, carrying (01) GTIN, (17) expiry and (10) batch in that order, so
// that the variable-length batch ends the data and needs no separator.
// The symbol stands right of the text lines, in a square of 220 dots a
// side. cfg may be nil for the defaults.
//
// The symbol's size is computed, not left to the printer: the data
// codewords of ASCII encodation give the smallest square ECC 200 symbol
// that holds them, which the ZPL then asks for, and a symbol that would
// not fit its square with a one-module quiet zone at the configured module
// size is refused with a *Error naming the symbol size. The batch is then
// the field at fault, because every other element has a fixed length.
//
// The error is a *Error wrapping ErrInvalid (and gs1.ErrCheckDigit for a
// bad GTIN) naming the first bad field, or "ModuleDots" for a module size
// below 2 dots or one at which not even the smallest symbol fits.
func RenderLotLabelDataMatrix(l LotLabel, cfg *DataMatrixConfig) ([]byte, error) {
	var c DataMatrixConfig
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.ModuleDots == 0:
		c.ModuleDots = DefaultDataMatrixModuleDots
	case c.ModuleDots < minModuleDots:
		return nil, labelError("ModuleDots", fmt.Sprint(c.ModuleDots), fmt.Sprintf("want at least %d dots a module", minModuleDots), ErrInvalid)
	case (dataMatrixSizes[0].side+2*dataMatrixQuiet)*c.ModuleDots > dataMatrixArea:
		smallest := dataMatrixSizes[0].side
		return nil, labelError("ModuleDots", fmt.Sprint(c.ModuleDots), fmt.Sprintf("even a %dx%d symbol is %d dots a side with its quiet zone; the label holds %d",
			smallest, smallest, (smallest+2*dataMatrixQuiet)*c.ModuleDots, dataMatrixArea), ErrInvalid)
	}
	gtin, err := l.check(false)
	if err != nil {
		return nil, err
	}
	data := "01" + gtin + "17" + l.Expiry.YYMMDD() + "10" + l.Batch
	codewords := dataMatrixFNC1CW + asciiCodewords(data)
	side := dataMatrixSide(codewords)
	// The data is at most 46 characters, so some symbol always holds it;
	// the check guards the arithmetic below all the same.
	if side == 0 {
		return nil, labelError("Batch", l.Batch, fmt.Sprintf("%d data codewords are more than any ECC 200 symbol holds", codewords), ErrInvalid)
	}
	if dots := (side + 2*dataMatrixQuiet) * c.ModuleDots; dots > dataMatrixArea {
		return nil, labelError("Batch", l.Batch, fmt.Sprintf("the GS1 DataMatrix needs %d data codewords, a %dx%d symbol, %d dots a side with its quiet zone at %d dots a module; "+
			"the label holds %d", codewords, side, side, dots, c.ModuleDots, dataMatrixArea), ErrInvalid)
	}
	// In the field data '_' is the escape character: "_1" is FNC1, and a
	// '_' of the batch is written "__". GS1's character set 82 has no '^'
	// or '~', so nothing else in the data can end the field.
	field := "_1" + strings.ReplaceAll(data, "_", "__")
	x := dataMatrixRight - (side+dataMatrixQuiet)*c.ModuleDots
	y := dataMatrixTop + dataMatrixQuiet*c.ModuleDots

	var b strings.Builder
	l.textLines(&b, gtin)
	fmt.Fprintf(&b, "^FO%d,%d^BXN,%d,200,%d,%d,,_^FD%s^FS\n", x, y, c.ModuleDots, side, side, field)
	l.hriLine(&b, gtin)
	return []byte(b.String()), nil
}
