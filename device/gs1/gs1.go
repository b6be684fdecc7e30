package gs1

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/device"
	"github.com/shopspring/decimal"
)

// Symbology is an AIM symbology identifier such as "]C1", as a scanner
// transmits it before the data when configured to.
type Symbology string

// The symbology identifiers that announce GS1 element strings.
const (
	SymbologyNone          Symbology = ""    // no identifier was transmitted
	SymbologyGS1128        Symbology = "]C1" // GS1-128 (Code 128 with FNC1 in first position)
	SymbologyGS1DataMatrix Symbology = "]d2" // GS1 DataMatrix
	SymbologyGS1QR         Symbology = "]Q3" // GS1 QR Code
	SymbologyGS1DataBar    Symbology = "]e0" // GS1 DataBar
)

// GS is the ASCII group separator that scanners transmit for FNC1 when it
// ends a variable-length field.
const GS = '\x1d'

// The conditions a GS1 parse can fail on. Errors returned by this package wrap
// exactly one of them inside a *Error, so errors.Is and errors.As both
// work.
var (
	ErrNotGS1             = errors.New("not GS1 data")
	ErrUnknownAI          = errors.New("unknown application identifier")
	ErrCheckDigit         = errors.New("bad check digit")
	ErrFieldTooLong       = errors.New("field too long")
	ErrFieldTooShort      = errors.New("field too short for its fixed length")
	ErrInvalidDate        = errors.New("invalid date")
	ErrInvalidCharacter   = errors.New("invalid character")
	ErrMissingSeparator   = errors.New("missing FNC1 separator")
	ErrTruncated          = errors.New("truncated data")
	ErrDuplicateAI        = errors.New("conflicting duplicate application identifier")
	ErrInvalidDigitalLink = errors.New("invalid GS1 Digital Link")
)

// Error says which element of GS1 data is wrong and why. Err is one of the
// sentinels above.
type Error struct {
	AI     string // the application identifier, or "" when the error is not about one element
	Value  string // the offending value (for ErrUnknownAI, the rest of the data from the AI on)
	Reason string // a short explanation, such as "want check digit 2"
	Err    error
}

// Error describes the element and the reason, such as
// `gs1 (01) "09506000134353": bad check digit: want check digit 2`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gs1")
	if e.AI != "" {
		fmt.Fprintf(&b, " (%s)", e.AI)
	}
	fmt.Fprintf(&b, " %q: %v", e.Value, e.Err)
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Unwrap returns the sentinel, for errors.Is.
func (e *Error) Unwrap() []error { return []error{e.Err, interlock.ErrInvalid} }

// Element is one element string: an application identifier and its data,
// as transmitted (Digital Link values are percent-decoded and a short GTIN is
// padded to 14 digits).
type Element struct {
	AI    string
	Value string
}

// Measure is a trade measure such as a net weight: the value with its
// implied decimal point applied, and its unit ("kg" or "lb").
type Measure struct {
	Value decimal.Decimal
	Unit  string
}

// IsZero reports whether m is absent.
func (m Measure) IsZero() bool { return m.Unit == "" }

// Data is parsed GS1 data: every element in the order it was read, and the
// elements this package understands as typed fields. A typed field is the
// zero value when its AI is absent; use Value to tell an absent AI from a
// zero one.
type Data struct {
	Symbology Symbology // SymbologyNone for Digital Link URIs and data without an identifier
	Elements  []Element

	SSCC        string // (00), 18 digits
	GTIN        string // (01), 14 digits
	ContentGTIN string // (02), 14 digits
	Batch       string // (10)
	Serial      string // (21)
	Variant     string // (20)
	CPV         string // (22) consumer product variant

	ProductionDate Date      // (11)
	DueDate        Date      // (12)
	PackagingDate  Date      // (13)
	BestBefore     Date      // (15)
	SellBy         Date      // (16)
	Expiry         Date      // (17)
	ExpiryTime     time.Time // (7003), wall-clock time in UTC: GS1 carries no zone

	AdditionalID       string // (240)
	CustomerPartNumber string // (241)
	SecondarySerial    string // (250)
	GLNExtension       string // (254)

	VariableCount  int // (30) count of items in a variable-measure trade item
	TradeItemCount int // (37) count of trade items in a logistic unit

	NetWeight   Measure // (310n) in kg or (320n) in lb
	GrossWeight Measure // (330n) in kg

	OrderNumber  string // (400) customer's purchase order number
	GINC         string // (401) global identification number for consignment
	GSIN         string // (402) global shipment identification number
	ShipTo       string // (410) GLN
	BillTo       string // (411) GLN
	PurchaseFrom string // (412) GLN
	ShipFor      string // (413) GLN
	Location     string // (414) GLN of a physical location
	ShipToPostal string // (420)
	GIAI         string // (8004) global individual asset identifier
}

// Value returns the data of the first element with the given AI, and whether
// there is one.
func (d Data) Value(ai string) (string, bool) {
	for _, e := range d.Elements {
		if e.AI == ai {
			return e.Value, true
		}
	}
	return "", false
}

// Config configures a Parser.
type Config struct {
	// Clock gives the current year for the GS1 century rule of two-digit
	// years. Required.
	Clock device.Clock
}

// Parser parses GS1 element strings and Digital Link URIs. It is safe for
// concurrent use.
type Parser struct {
	clock device.Clock
}

// NewParser returns a parser, or an error naming the configuration field
// that is missing.
func NewParser(cfg *Config) (*Parser, error) {
	if cfg == nil {
		return nil, errors.New("gs1 parser: config is nil")
	}
	if cfg.Clock == nil {
		return nil, errors.New("gs1 parser: Config.Clock is required")
	}
	return &Parser{clock: cfg.Clock}, nil
}

// ParseElementString parses scanned GS1 element strings such as
// "]C1010950600013435217271231" + "10ABC". A leading symbology identifier must
// be one of the GS1 ones and is reported in Symbology; a leading FNC1 (GS) is
// tolerated; GS ends variable-length fields and is tolerated after fixed ones.
//
// The error is a *Error wrapping ErrNotGS1, ErrUnknownAI, ErrCheckDigit,
// ErrFieldTooLong, ErrFieldTooShort, ErrInvalidDate, ErrInvalidCharacter, ErrMissingSeparator,
// ErrTruncated or ErrDuplicateAI.
func (p *Parser) ParseElementString(s string) (Data, error) {
	var d Data
	if s == "" {
		return Data{}, &Error{Err: ErrNotGS1, Reason: "empty"}
	}
	if s[0] == ']' {
		if len(s) < 3 {
			return Data{}, &Error{Value: s, Err: ErrTruncated, Reason: "symbology identifier"}
		}
		switch sym := Symbology(s[:3]); sym {
		case SymbologyGS1128, SymbologyGS1DataMatrix, SymbologyGS1QR, SymbologyGS1DataBar:
			d.Symbology = sym
		default:
			return Data{}, &Error{Value: s[:3], Err: ErrNotGS1, Reason: "symbology identifier does not announce GS1 element strings"}
		}
		s = s[3:]
	}
	if s != "" && s[0] == GS {
		s = s[1:]
	}
	if s == "" {
		return Data{}, &Error{Err: ErrTruncated, Reason: "no element strings"}
	}
	now := p.clock()
	for s != "" {
		def, ok := lookupAI(s)
		if !ok {
			if len(s) < 2 {
				return Data{}, &Error{Value: s, Err: ErrTruncated, Reason: "incomplete application identifier"}
			}
			return Data{}, &Error{Value: s, Err: ErrUnknownAI, Reason: "no AI in the table starts the data"}
		}
		s = s[len(def.ai):]
		var v string
		if def.length > 0 {
			if len(s) < def.length {
				return Data{}, &Error{AI: def.ai, Value: s, Err: ErrTruncated,
					Reason: fmt.Sprintf("%s wants %d characters, %d left", def.title, def.length, len(s))}
			}
			if i := strings.IndexByte(s[:def.length], GS); i >= 0 {
				return Data{}, &Error{AI: def.ai, Value: s[:i], Err: ErrFieldTooShort,
					Reason: fmt.Sprintf("%s is %d characters, got %d before FNC1", def.title, def.length, i)}
			}
			v, s = s[:def.length], s[def.length:]
			if s != "" && s[0] != GS && def.needsSeparator() {
				return Data{}, &Error{AI: def.ai, Value: v, Err: ErrMissingSeparator,
					Reason: fmt.Sprintf("%s has no predefined length and must be followed by FNC1", def.title)}
			}
			s = strings.TrimPrefix(s, string(GS))
		} else {
			v, s, _ = strings.Cut(s, string(GS))
			if len(v) > def.max {
				return Data{}, &Error{AI: def.ai, Value: v, Err: ErrFieldTooLong,
					Reason: fmt.Sprintf("%s is at most %d characters, got %d (is a separator missing?)", def.title, def.max, len(v))}
			}
			if v == "" {
				return Data{}, &Error{AI: def.ai, Err: ErrTruncated, Reason: def.title + " has no data"}
			}
		}
		if err := addElement(&d, def, v, now); err != nil {
			return Data{}, err
		}
	}
	return d, nil
}

// addElement validates v as the data of def and records it in d, both in
// Elements and in its typed field.
func addElement(d *Data, def aiDef, v string, now time.Time) error {
	if err := checkValue(def, v); err != nil {
		return err
	}
	fail := func(sentinel error, reason string) error {
		return &Error{AI: def.ai, Value: v, Err: sentinel, Reason: reason}
	}
	// A repeated AI is only acceptable with the same data (GS1 General
	// Specifications 4.14.1); a measure family such as 310n counts as one AI.
	for _, e := range d.Elements {
		if e.AI == def.ai && e.Value != v {
			return fail(ErrDuplicateAI, fmt.Sprintf("already %q", e.Value))
		}
	}
	year := now.UTC().Year()
	setDate := func(dst *Date) error {
		date, reason := parseGS1Date(v, year, true)
		if reason != "" {
			return fail(ErrInvalidDate, reason)
		}
		*dst = date
		return nil
	}
	setMeasure := func(dst *Measure) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fail(ErrInvalidCharacter, "want six digits")
		}
		m := Measure{Value: decimal.New(n, -int32(def.ai[3]-'0')), Unit: def.unit}
		if !dst.IsZero() && !(dst.Unit == m.Unit && dst.Value.Equal(m.Value)) {
			return fail(ErrDuplicateAI, fmt.Sprintf("already %s %s", dst.Value, dst.Unit))
		}
		*dst = m
		return nil
	}
	setCount := func(dst *int) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fail(ErrInvalidCharacter, "want digits")
		}
		*dst = n
		return nil
	}
	var err error
	switch def.ai {
	case "00":
		d.SSCC = v
	case "01":
		d.GTIN = v
	case "02":
		d.ContentGTIN = v
	case "10":
		d.Batch = v
	case "11":
		err = setDate(&d.ProductionDate)
	case "12":
		err = setDate(&d.DueDate)
	case "13":
		err = setDate(&d.PackagingDate)
	case "15":
		err = setDate(&d.BestBefore)
	case "16":
		err = setDate(&d.SellBy)
	case "17":
		err = setDate(&d.Expiry)
	case "20":
		d.Variant = v
	case "21":
		d.Serial = v
	case "22":
		d.CPV = v
	case "240":
		d.AdditionalID = v
	case "241":
		d.CustomerPartNumber = v
	case "250":
		d.SecondarySerial = v
	case "254":
		d.GLNExtension = v
	case "30":
		err = setCount(&d.VariableCount)
	case "37":
		err = setCount(&d.TradeItemCount)
	case "400":
		d.OrderNumber = v
	case "401":
		d.GINC = v
	case "402":
		d.GSIN = v
	case "410":
		d.ShipTo = v
	case "411":
		d.BillTo = v
	case "412":
		d.PurchaseFrom = v
	case "413":
		d.ShipFor = v
	case "414":
		d.Location = v
	case "420":
		d.ShipToPostal = v
	case "7003":
		t, reason := parseGS1DateTime(v, year)
		if reason != "" {
			return fail(ErrInvalidDate, reason)
		}
		d.ExpiryTime = t
	case "8004":
		d.GIAI = v
	case "415", "416", "417", "421", "422", "423", "424", "425", "426", "427", "7001", "7002", "8005", "8017", "8018", "8020",
		"90", "91", "92", "93", "94", "95", "96", "97", "98", "99":
		// Understood and checked, with no field of their own: they are in
		// Elements.
	default:
		switch def.ai[:3] {
		case "310", "320":
			err = setMeasure(&d.NetWeight)
		case "330":
			err = setMeasure(&d.GrossWeight)
		default:
			// Every AI in the table has a case above; reaching here is a
			// table entry without a field, reported rather than dropped.
			err = fail(ErrUnknownAI, "no field for this AI")
		}
	}
	if err != nil {
		return err
	}
	d.Elements = append(d.Elements, Element{AI: def.ai, Value: v})
	return nil
}

// checkValue checks what can be checked of v without a clock: length,
// character set and check digit. Dates get their calendar check in
// addElement, where the century is known.
func checkValue(def aiDef, v string) error {
	fail := func(sentinel error, reason string) error {
		return &Error{AI: def.ai, Value: v, Err: sentinel, Reason: reason}
	}
	switch {
	case v == "":
		return fail(ErrTruncated, def.title+" has no data")
	case def.length > 0 && len(v) > def.length:
		return fail(ErrFieldTooLong, fmt.Sprintf("%s is %d characters", def.title, def.length))
	case def.length > 0 && len(v) < def.length:
		return fail(ErrTruncated, fmt.Sprintf("%s is %d characters", def.title, def.length))
	case def.length == 0 && len(v) > def.max:
		return fail(ErrFieldTooLong, fmt.Sprintf("%s is at most %d characters", def.title, def.max))
	}
	if def.format == aiCSET82 {
		for i := 0; i < len(v); i++ {
			if !isCSET82(v[i]) {
				return fail(ErrInvalidCharacter, fmt.Sprintf("byte %#02x at %d is not in GS1 character set 82", v[i], i))
			}
		}
		return nil
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return fail(ErrInvalidCharacter, fmt.Sprintf("%s is numeric; byte %#02x at %d", def.title, v[i], i))
		}
	}
	if def.check {
		if want, ok := verifyCheckDigit(v); !ok {
			return fail(ErrCheckDigit, fmt.Sprintf("want check digit %c", want))
		}
	}
	if def.format == aiDate || def.format == aiDateTime {
		// A calendar check with the year unknown: any century would do for
		// everything but 29 February, which addElement settles.
		if mm := (v[2]-'0')*10 + v[3] - '0'; mm < 1 || mm > 12 {
			return fail(ErrInvalidDate, fmt.Sprintf("month %02d", mm))
		}
		if dd := (v[4]-'0')*10 + v[5] - '0'; dd > 31 || (dd == 0 && def.format == aiDateTime) {
			return fail(ErrInvalidDate, fmt.Sprintf("day %02d", dd))
		}
	}
	return nil
}

// EncodeElementString writes elements as a scanner would transmit them: the
// symbology identifier (if any), then each AI and its data, with GS after
// every element that is not of predefined length unless it is the last. It
// checks each element's AI, length, character set and check digit (but not
// the calendar, which needs the parser's clock) and returns a *Error like
// ParseElementString does.
func EncodeElementString(sym Symbology, elements []Element) (string, error) {
	switch sym {
	case SymbologyNone, SymbologyGS1128, SymbologyGS1DataMatrix, SymbologyGS1QR, SymbologyGS1DataBar:
	default:
		return "", &Error{Value: string(sym), Err: ErrNotGS1, Reason: "symbology identifier does not announce GS1 element strings"}
	}
	if len(elements) == 0 {
		return "", &Error{Err: ErrTruncated, Reason: "no element strings"}
	}
	var b strings.Builder
	b.WriteString(string(sym))
	for i, e := range elements {
		def, ok := aiTable[e.AI]
		if !ok {
			return "", &Error{AI: e.AI, Value: e.Value, Err: ErrUnknownAI}
		}
		if err := checkValue(def, e.Value); err != nil {
			return "", err
		}
		b.WriteString(e.AI)
		b.WriteString(e.Value)
		if def.needsSeparator() && i < len(elements)-1 {
			b.WriteByte(GS)
		}
	}
	return b.String(), nil
}
