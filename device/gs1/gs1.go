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
	SymbologyGS1DotCode    Symbology = "]J1" // GS1 DotCode
)

// The symbology identifiers of plain 2D symbols, which carry GS1 data only
// as a GS1 Digital Link URI.
const (
	SymbologyQR         Symbology = "]Q1" // QR Code
	SymbologyDataMatrix Symbology = "]d1" // Data Matrix
)

// announcesElementStrings reports whether sym is a GS1 symbology, whose
// data are element strings.
func announcesElementStrings(sym Symbology) bool {
	switch sym {
	case SymbologyGS1128, SymbologyGS1DataMatrix, SymbologyGS1QR, SymbologyGS1DataBar, SymbologyGS1DotCode:
		return true
	}
	return false
}

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
	ErrInvalidValue       = errors.New("invalid value")
	ErrInvalidDate        = errors.New("invalid date")
	ErrInvalidCharacter   = errors.New("invalid character")
	ErrMissingSeparator   = errors.New("missing FNC1 separator")
	ErrTruncated          = errors.New("truncated data")
	ErrDuplicateAI        = errors.New("conflicting duplicate application identifier")
	ErrInvalidDigitalLink = errors.New("invalid GS1 Digital Link")
	ErrInvalidHRI         = errors.New("invalid GS1 human-readable interpretation")
	ErrPairing            = errors.New("invalid pairing of application identifiers")
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
	// Symbology is the identifier the data came with: SymbologyNone for
	// data without one and for URIs given to ParseDigitalLink; ParseScan
	// keeps the "]Q1" or "]d1" of a Digital Link.
	Symbology Symbology
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

	NetWeight   Measure // (310n) in kg or (320n) in lb, the first read when both are present
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
	// DeferRequired leaves the dictionary's mandatory associations (its
	// req= rules, such as "(10) needs (01)") unchecked at parse, for data
	// of one item spread over several symbols, as on a GS1 logistic label
	// with separate barcodes. The caller checks the combined elements with
	// CheckPairs. Invalid pairs (ex= rules) are refused either way.
	DeferRequired bool
}

// Parser parses GS1 element strings and Digital Link URIs. It is safe for
// concurrent use.
type Parser struct {
	clock         device.Clock
	deferRequired bool
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
	return &Parser{clock: cfg.Clock, deferRequired: cfg.DeferRequired}, nil
}

// ParseElementString parses scanned GS1 element strings such as
// "]C1010950600013435217271231" + "10ABC". A leading symbology identifier must
// be one of the GS1 ones and is reported in Symbology; a leading FNC1 (GS) is
// tolerated; GS ends variable-length fields and is tolerated after fixed ones.
// Each value is checked against its entry of the GS1 Barcode Syntax
// Dictionary (components, character sets, check digits, dates and the
// other checks the package runs), and the elements together against the
// dictionary's pairing rules (see CheckPairs and Config.DeferRequired).
//
// The error is a *Error wrapping ErrNotGS1, ErrUnknownAI, ErrCheckDigit,
// ErrFieldTooLong, ErrFieldTooShort (a fixed-length field cut short by
// FNC1), ErrInvalidDate, ErrInvalidCharacter, ErrInvalidValue,
// ErrMissingSeparator, ErrTruncated, ErrDuplicateAI (the same AI twice with
// different data) or ErrPairing.
func (p *Parser) ParseElementString(s string) (Data, error) {
	var d Data
	if s == "" {
		return Data{}, &Error{Err: ErrNotGS1, Reason: "empty"}
	}
	if s[0] == ']' {
		if len(s) < 3 {
			return Data{}, &Error{Value: s, Err: ErrTruncated, Reason: "symbology identifier"}
		}
		sym := Symbology(s[:3])
		if !announcesElementStrings(sym) {
			return Data{}, &Error{Value: s[:3], Err: ErrNotGS1, Reason: "symbology identifier does not announce GS1 element strings"}
		}
		d.Symbology = sym
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
		if n := def.fixedLength(); n > 0 {
			if i := strings.IndexByte(s[:min(n, len(s))], GS); i >= 0 {
				return Data{}, &Error{AI: def.ai, Value: s[:i], Err: ErrFieldTooShort,
					Reason: fmt.Sprintf("%s is %d characters, got %d before FNC1", def.name(), n, i)}
			}
			if len(s) < n {
				return Data{}, &Error{AI: def.ai, Value: s, Err: ErrTruncated,
					Reason: fmt.Sprintf("%s wants %d characters, %d left", def.name(), n, len(s))}
			}
			v, s = s[:n], s[n:]
			if s != "" && s[0] != GS && def.needsSeparator() {
				return Data{}, &Error{AI: def.ai, Value: v, Err: ErrMissingSeparator,
					Reason: fmt.Sprintf("%s has no predefined length and must be followed by FNC1", def.name())}
			}
			s = strings.TrimPrefix(s, string(GS))
		} else {
			v, s, _ = strings.Cut(s, string(GS))
			if max := def.maxLength(); len(v) > max {
				return Data{}, &Error{AI: def.ai, Value: v, Err: ErrFieldTooLong,
					Reason: fmt.Sprintf("%s is at most %d characters, got %d (is a separator missing?)", def.name(), max, len(v))}
			}
			if v == "" {
				return Data{}, &Error{AI: def.ai, Err: ErrTruncated, Reason: def.name() + " has no data"}
			}
		}
		if err := addElement(&d, def, v, now); err != nil {
			return Data{}, err
		}
	}
	if err := checkPairs(d.Elements, !p.deferRequired); err != nil {
		return Data{}, err
	}
	return d, nil
}

// addElement validates v as the data of def and records it in d, both in
// Elements and in its typed field.
func addElement(d *Data, def *aiDef, v string, now time.Time) error {
	year := now.UTC().Year()
	if err := checkValue(def, v, year); err != nil {
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
		m := Measure{Value: decimal.New(n, -int32(def.ai[3]-'0')), Unit: measureUnit(def.ai)}
		switch {
		case dst.IsZero():
			*dst = m
		case dst.Unit == m.Unit && !dst.Value.Equal(m.Value):
			return fail(ErrDuplicateAI, fmt.Sprintf("already %s %s", dst.Value, dst.Unit))
		}
		// A measure in another unit (a net weight in lb beside one in kg)
		// is allowed by GS1; the field keeps the first, Elements has both.
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
	default:
		switch def.ai[:min(3, len(def.ai))] {
		case "310", "320":
			err = setMeasure(&d.NetWeight)
		case "330":
			err = setMeasure(&d.GrossWeight)
		}
		// Every other AI of the dictionary is checked and kept in Elements
		// only.
	}
	if err != nil {
		return err
	}
	d.Elements = append(d.Elements, Element{AI: def.ai, Value: v})
	return nil
}

// measureUnit returns the unit of the measures that have a typed field.
func measureUnit(ai string) string {
	switch ai[:3] {
	case "310", "330":
		return "kg"
	case "320":
		return "lb"
	}
	return ""
}

// checkValue checks v as the data of def: length, each component's
// character set, and the dictionary's checks (check digits, dates, …) that
// this package runs. year is the current year for the century rule, or 0
// without a clock (see lintFunc).
func checkValue(def *aiDef, v string, year int) error {
	fail := func(sentinel error, reason string) error {
		return &Error{AI: def.ai, Value: v, Err: sentinel, Reason: reason}
	}
	n, max := def.fixedLength(), def.maxLength()
	switch {
	case v == "":
		return fail(ErrTruncated, def.name()+" has no data")
	case n > 0 && len(v) > n:
		return fail(ErrFieldTooLong, fmt.Sprintf("%s is %d characters", def.name(), n))
	case n > 0 && len(v) < n:
		return fail(ErrTruncated, fmt.Sprintf("%s is %d characters", def.name(), n))
	case len(v) > max:
		return fail(ErrFieldTooLong, fmt.Sprintf("%s is at most %d characters", def.name(), max))
	}
	rest, off := v, 0
	for i, p := range def.parts {
		if rest == "" && p.optional {
			break
		}
		var c string
		switch {
		case p.min == p.max && len(rest) < p.min:
			return fail(ErrTruncated, fmt.Sprintf("%s: component %d is %d characters, %d left", def.name(), i+1, p.min, len(rest)))
		case p.min == p.max:
			c, rest = rest[:p.min], rest[p.min:]
		default:
			// Only the last component may vary in length.
			c, rest = rest, ""
		}
		if err := checkCharset(def, p.cs, v, c, off); err != nil {
			return err
		}
		for _, name := range p.linters {
			if lint, ok := linters[name]; ok {
				if reason, err := lint(c, year); err != nil {
					return fail(err, reason)
				}
			}
		}
		off += len(c)
	}
	if rest != "" {
		return fail(ErrFieldTooLong, fmt.Sprintf("%s is at most %d characters", def.name(), off))
	}
	return nil
}

// checkCharset checks component c of v, the data of def; c starts at off.
func checkCharset(def *aiDef, cs charset, v, c string, off int) error {
	for i := 0; i < len(c); i++ {
		b := c[i]
		var ok bool
		var set string
		switch cs {
		case csN:
			if b < '0' || b > '9' {
				return &Error{AI: def.ai, Value: v, Err: ErrInvalidCharacter,
					Reason: fmt.Sprintf("%s is numeric; byte %#02x at %d", def.name(), b, off+i)}
			}
			continue
		case csX:
			ok, set = isCSET82(b), "82"
		case csY:
			ok, set = isCSET39(b), "39"
		case csZ:
			// '=' pads base64url at the end only.
			ok, set = isCSET64(b) || b == '=' && strings.Trim(c[i:], "=") == "", "64"
		}
		if !ok {
			return &Error{AI: def.ai, Value: v, Err: ErrInvalidCharacter,
				Reason: fmt.Sprintf("byte %#02x at %d is not in GS1 character set %s", b, off+i, set)}
		}
	}
	return nil
}

// EncodeElementString writes elements as a scanner would transmit them: the
// symbology identifier (if any), then each AI and its data, with GS after
// every element that is not of predefined length unless it is the last. It
// checks each element's AI and value as ParseElementString does (but for
// the century of 29 February, which needs the parser's clock) and returns a
// *Error like it. It does not apply the pairing rules, since a symbol may
// carry part of an item's data; use CheckPairs on the whole.
func EncodeElementString(sym Symbology, elements []Element) (string, error) {
	if sym != SymbologyNone && !announcesElementStrings(sym) {
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
		if err := checkValue(def, e.Value, 0); err != nil {
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
