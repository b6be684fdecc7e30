package genealogy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/event"
)

// The graph reads a payload per event it indexes; at a million lots
// encoding/json with decimal.Decimal (a big.Int each) made building the
// graph three times slower than everything else together. This is a small
// decoder for exactly the fields of event.Transition the graph reads, with quantities kept as int64
// coefficients. FuzzDecodePayload holds it to encoding/json's answers.

// num is a decoded quantity: coef × 10^exp, or wide when it does not fit.
type num struct {
	set  bool
	coef int64
	exp  int32
	wide *decimal.Decimal
}

func (n num) decimal() decimal.Decimal {
	if n.wide != nil {
		return *n.wide
	}
	return decimal.New(n.coef, n.exp)
}

// The decoder's strings are byte slices into the payload where it can (no
// escapes), so valid only while the record is.
type rawQuantity struct {
	from, to, unit []byte
	q              num
}

type rawNode struct {
	id, kind, material, gtin, supplier, supplierLot, customer, unit, description []byte
	q                                                                            num
	// Rare, so read with encoding/json.
	lotSource   *event.Place
	landing     *event.Landing
	destination *event.Place
}

// rawPayload is what the decoder fills; reused between records.
type rawPayload struct {
	source, step, reason []byte
	critical             bool
	quantities           []rawQuantity
	nodes                []rawNode
	// Rare, so read with encoding/json (which merges a repeated object
	// member into the same value, and the decoder must agree).
	location   *event.Location
	references []event.Reference
}

// rawJSON decodes the next value into v with encoding/json.
func (d *decoder) rawJSON(v any) error {
	d.ws()
	start := d.i
	if err := d.skip(); err != nil {
		return err
	}
	if err := json.Unmarshal(d.b[start:d.i], v); err != nil {
		return fmt.Errorf("%w: %v", errSyntax, err)
	}
	return nil
}

var errSyntax = errors.New("invalid JSON")

type decoder struct {
	b []byte
	i int
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) lit(s string) bool {
	d.ws()
	if bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		d.i += len(s)
		return true
	}
	return false
}

// decodePayload fills p from b (p's slices are reused). It returns an error
// for anything encoding/json would reject when decoding b into a Payload.
func decodePayload(b []byte, p *rawPayload) error {
	*p = rawPayload{quantities: p.quantities[:0], nodes: p.nodes[:0]}
	d := decoder{b: b}
	if d.peek() == 0 && d.i == len(d.b) {
		return nil // empty, as CheckPayload reads it
	}
	if d.lit("null") {
	} else if err := d.object(func(key []byte) error { return d.payloadField(key, p) }); err != nil {
		return err
	}
	if d.ws(); d.i != len(d.b) {
		return fmt.Errorf("%w: data after the payload at byte %d", errSyntax, d.i)
	}
	return nil
}

// object decodes an object, calling field for each key with the decoder at
// its value.
func (d *decoder) object(field func(key []byte) error) error {
	if d.peek() != '{' {
		return fmt.Errorf("%w: want an object at byte %d", errSyntax, d.i)
	}
	d.i++
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return fmt.Errorf("%w: want ':' at byte %d", errSyntax, d.i)
		}
		d.i++
		if err := field(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or '}' at byte %d", errSyntax, d.i)
		}
	}
}

// array decodes an array or null, calling elem at each element.
func (d *decoder) array(elem func() error) error {
	if d.lit("null") {
		return nil
	}
	if d.peek() != '[' {
		return fmt.Errorf("%w: want an array at byte %d", errSyntax, d.i)
	}
	d.i++
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or ']' at byte %d", errSyntax, d.i)
		}
	}
}

func fold(key []byte, name string) bool { return bytes.EqualFold(key, []byte(name)) }

func (d *decoder) payloadField(key []byte, p *rawPayload) error {
	switch {
	case fold(key, "identity_source"):
		return d.strOrNull(&p.source)
	case fold(key, "step"):
		return d.strOrNull(&p.step)
	case fold(key, "data"):
		// The model's content; the graph reads an annotation's reason
		// from it.
		if d.peek() != '{' {
			return d.skip()
		}
		return d.object(func(k []byte) error {
			if fold(k, "reason") {
				return d.strOrNull(&p.reason)
			}
			return d.skip()
		})
	case fold(key, "location"):
		return d.rawJSON(&p.location)
	case fold(key, "references"):
		return d.rawJSON(&p.references)
	case fold(key, "critical"):
		switch {
		case d.lit("true"):
			p.critical = true
		case d.lit("false"):
			p.critical = false
		case d.lit("null"):
		default:
			return fmt.Errorf("%w: critical: want a boolean at byte %d", errSyntax, d.i)
		}
		return nil
	case fold(key, "quantities"):
		p.quantities = p.quantities[:0]
		return d.array(func() error {
			var q rawQuantity
			if !d.lit("null") {
				err := d.object(func(k []byte) error {
					switch {
					case fold(k, "from"):
						return d.strOrNull(&q.from)
					case fold(k, "to"):
						return d.strOrNull(&q.to)
					case fold(k, "unit"):
						return d.strOrNull(&q.unit)
					case fold(k, "quantity"):
						return d.number(&q.q)
					}
					return d.skip()
				})
				if err != nil {
					return err
				}
			}
			p.quantities = append(p.quantities, q)
			return nil
		})
	case fold(key, "nodes"):
		p.nodes = p.nodes[:0]
		return d.array(func() error {
			var n rawNode
			if !d.lit("null") {
				err := d.object(func(k []byte) error {
					switch {
					case fold(k, "id"):
						return d.strOrNull(&n.id)
					case fold(k, "kind"):
						return d.strOrNull(&n.kind)
					case fold(k, "material"):
						return d.strOrNull(&n.material)
					case fold(k, "gtin"):
						return d.strOrNull(&n.gtin)
					case fold(k, "supplier"):
						return d.strOrNull(&n.supplier)
					case fold(k, "supplier_lot"):
						return d.strOrNull(&n.supplierLot)
					case fold(k, "customer"):
						return d.strOrNull(&n.customer)
					case fold(k, "description"):
						return d.strOrNull(&n.description)
					case fold(k, "lot_source"):
						return d.rawJSON(&n.lotSource)
					case fold(k, "landing"):
						return d.rawJSON(&n.landing)
					case fold(k, "destination"):
						return d.rawJSON(&n.destination)
					case fold(k, "unit"):
						return d.strOrNull(&n.unit)
					case fold(k, "quantity"):
						if d.lit("null") {
							n.q = num{}
							return nil
						}
						return d.number(&n.q)
					}
					return d.skip()
				})
				if err != nil {
					return err
				}
			}
			p.nodes = append(p.nodes, n)
			return nil
		})
	}
	return d.skip()
}

func (d *decoder) strOrNull(dst *[]byte) error {
	if d.lit("null") {
		return nil
	}
	s, err := d.str()
	*dst = s
	return err
}

// number decodes a quantity as decimal.Decimal's UnmarshalJSON does: a
// JSON string or number holding a decimal.
func (d *decoder) number(dst *num) error {
	if d.lit("null") {
		return nil
	}
	var text string
	if d.peek() == '"' {
		// decimal strips the quotes and nothing else: no unescaping.
		start := d.i
		if _, err := d.str(); err != nil {
			return err
		}
		text = string(d.b[start+1 : d.i-1])
		if d.i-start == 2 {
			text = `""` // decimal keeps the quotes of an empty string
		}
	} else {
		start := d.i
		if err := d.skipNumber(); err != nil {
			return err
		}
		text = string(d.b[start:d.i])
	}
	if n, ok := fastDecimal(text); ok {
		*dst = n
		return nil
	}
	v, err := decimal.NewFromString(text)
	if err != nil {
		return fmt.Errorf("quantity %q: %w", text, err)
	}
	*dst = num{set: true, wide: &v}
	return nil
}

// fastDecimal parses -?digits(.digits)? whose digits fit an int64.
func fastDecimal(s string) (num, bool) {
	i, neg := 0, false
	if i < len(s) && s[i] == '-' {
		neg, i = true, i+1
	}
	var coef uint64
	digits, exp := 0, int32(0)
	dot := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if coef > (math.MaxInt64-9)/10 {
				return num{}, false
			}
			coef = coef*10 + uint64(c-'0')
			digits++
			if dot {
				exp--
			}
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return num{}, false
		}
	}
	if digits == 0 || (dot && exp == 0) {
		return num{}, false
	}
	v := int64(coef)
	if neg {
		v = -v
	}
	return num{set: true, coef: v, exp: exp}, true
}

func (d *decoder) skipNumber() error {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	intStart := d.i
	if n := digits(); n == 0 || (n > 1 && d.b[intStart] == '0') {
		return fmt.Errorf("%w: bad number at byte %d", errSyntax, start)
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return fmt.Errorf("%w: bad number at byte %d", errSyntax, start)
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return fmt.Errorf("%w: bad number at byte %d", errSyntax, start)
		}
	}
	return nil
}

// skip passes over any JSON value.
func (d *decoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func([]byte) error { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return d.skipNumber()
	case d.lit("true"), d.lit("false"), d.lit("null"):
		return nil
	}
	return fmt.Errorf("%w: unexpected byte at %d", errSyntax, d.i)
}

// str decodes a JSON string as encoding/json does, invalid UTF-8 and lone
// surrogates becoming U+FFFD.
func (d *decoder) str() ([]byte, error) {
	if d.peek() != '"' {
		return nil, fmt.Errorf("%w: want a string at byte %d", errSyntax, d.i)
	}
	d.i++
	start := d.i
	// Fast path: no escapes, no control characters, valid UTF-8.
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			s := d.b[start:d.i]
			d.i++
			if utf8.Valid(s) {
				return s[:len(s):len(s)], nil
			}
			d.i = start
			break
		}
		if c == '\\' || c < 0x20 {
			d.i = start
			break
		}
		d.i++
	}
	if d.i != start {
		return nil, fmt.Errorf("%w: unterminated string", errSyntax)
	}
	out := []byte{}
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return out, nil
		case c < 0x20:
			return nil, fmt.Errorf("%w: control character in string at byte %d", errSyntax, d.i)
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return nil, fmt.Errorf("%w: unterminated string", errSyntax)
			}
			e := d.b[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return nil, fmt.Errorf("%w: bad \\u escape at byte %d", errSyntax, d.i)
				}
				if utf16.IsSurrogate(r) {
					save := d.i
					if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
						d.i += 2
						if r2, ok := d.hex4(); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								continue
							}
						}
					}
					d.i = save
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, fmt.Errorf("%w: bad escape at byte %d", errSyntax, d.i)
			}
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, d.b[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
	return nil, fmt.Errorf("%w: unterminated string", errSyntax)
}

func (d *decoder) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(v), true
}

// check validates a decoded payload as CheckPayload does.
func (p *rawPayload) check() error {
	switch Source(p.source) {
	case "", SourceScan, SourceDevice, SourceManual:
	default:
		return fmt.Errorf("identity_source %q is not scan, device or manual", p.source)
	}
	for i, n := range p.nodes {
		if len(n.id) == 0 {
			return fmt.Errorf("nodes[%d]: empty id", i)
		}
		switch NodeKind(n.kind) {
		case NodeUnknown, NodeLot, NodeContainer, NodeBatch, NodeShipment:
		default:
			return fmt.Errorf("nodes[%d]: kind %q is not lot, container, batch or shipment", i, n.kind)
		}
		if n.q.set && n.q.decimal().IsNegative() {
			return fmt.Errorf("nodes[%d]: quantity %s is negative", i, n.q.decimal())
		}
		if n.q.set && len(n.unit) == 0 {
			return fmt.Errorf("nodes[%d]: quantity without a unit", i)
		}
	}
	for i, q := range p.quantities {
		if q.q.decimal().IsNegative() {
			return fmt.Errorf("quantities[%d]: %s is negative", i, q.q.decimal())
		}
		if len(q.unit) == 0 {
			return fmt.Errorf("quantities[%d]: no unit", i)
		}
	}
	return nil
}
