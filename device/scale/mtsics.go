package scale

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Conditions a scale reports instead of a result. A *ResponseError or a
// *StreamLineError wraps one of them, so errors.Is tests for it.
var (
	// ErrOverload means the load, or the tare or zero asked for, is above
	// the range of the scale (MT-SICS status "+").
	ErrOverload = errors.New("overload: above range")
	// ErrUnderload means the load, or the tare or zero asked for, is below
	// the range of the scale (MT-SICS status "-").
	ErrUnderload = errors.New("underload: below range")
	// ErrBusy means the scale understood the command but cannot execute it
	// now, for example while taring or when no stable weight came in its own
	// time limit (MT-SICS status "I").
	ErrBusy = errors.New("command not executable now")
	// ErrSyntax means the scale did not recognise the command (MT-SICS "ES").
	ErrSyntax = errors.New("syntax error: command not recognised")
	// ErrTransmission means the scale received a garbled command, such as a
	// parity or framing error (MT-SICS "ET").
	ErrTransmission = errors.New("transmission error")
	// ErrLogical means the scale cannot execute the command at all, such as
	// a wrong parameter (MT-SICS "EL" or status "L").
	ErrLogical = errors.New("logical error: command not executable")
	// ErrMalformed means a line from the scale does not have the form of any
	// reply or weight line.
	ErrMalformed = errors.New("malformed line")
)

// ResponseError is an MT-SICS reply that is an error, or a line that is not
// a valid reply. It wraps ErrOverload, ErrUnderload, ErrBusy, ErrSyntax,
// ErrTransmission, ErrLogical or ErrMalformed.
type ResponseError struct {
	Line   []byte // the line as received
	Err    error  // the condition
	Reason string // what is wrong with a malformed line; empty otherwise
}

func (e *ResponseError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("mt-sics reply %q: %v: %s", e.Line, e.Err, e.Reason)
	}
	return fmt.Sprintf("mt-sics reply %q: %v", e.Line, e.Err)
}

// Unwrap returns the condition.
func (e *ResponseError) Unwrap() error { return e.Err }

// ReplyStatus is the status field of an MT-SICS reply.
type ReplyStatus string

// The MT-SICS statuses.
const (
	ReplyStable    ReplyStatus = "S" // stable weight, or executed with a stable weight
	ReplyDynamic   ReplyStatus = "D" // weight not yet stable
	ReplyDone      ReplyStatus = "A" // executed
	ReplyBusy      ReplyStatus = "I" // not executable now
	ReplyLogical   ReplyStatus = "L" // not executable (logical error)
	ReplyOverload  ReplyStatus = "+" // above range
	ReplyUnderload ReplyStatus = "-" // below range
	ReplyMore      ReplyStatus = "B" // one line of a multi-line reply; more follow
)

// Response is one parsed MT-SICS reply line.
type Response struct {
	// Command is the identifier the reply starts with, as sent: "S" (the
	// reply to both S and SI), "T", "TA", "TI", "Z", "ZI", "I2", "I4" (the
	// reply to both I4 and @), or "ES", "ET", "EL" for the error replies.
	Command string
	// Status is empty for ES, ET and EL.
	Status ReplyStatus
	// Value and Unit are set when the reply carries a weight; Unit is empty
	// otherwise. The unit is kept as the scale sent it.
	Value decimal.Decimal
	Unit  string
	// Text holds the quoted fields of the reply, without their quotes, such
	// as the serial number of an I4 reply.
	Text []string
}

// payload is the shape of what follows the status.
type payload int

const (
	payloadNone payload = 1 << iota
	payloadWeight
	payloadText
	payloadAny = payloadNone | payloadWeight | payloadText
)

// mtsicsReplies lists, for the replies this package knows, the statuses
// each may carry and what follows each status. A reply outside this list
// is malformed, so a garbled line is not taken for a result.
var mtsicsReplies = map[string]map[ReplyStatus]payload{
	"S":  {ReplyStable: payloadWeight, ReplyDynamic: payloadWeight, ReplyBusy: payloadNone, ReplyLogical: payloadNone, ReplyOverload: payloadNone, ReplyUnderload: payloadNone},
	"T":  {ReplyStable: payloadWeight, ReplyBusy: payloadNone, ReplyLogical: payloadNone, ReplyOverload: payloadNone, ReplyUnderload: payloadNone},
	"TI": {ReplyStable: payloadWeight, ReplyDynamic: payloadWeight, ReplyBusy: payloadNone, ReplyLogical: payloadNone, ReplyOverload: payloadNone, ReplyUnderload: payloadNone},
	"TA": {ReplyDone: payloadWeight, ReplyBusy: payloadNone, ReplyLogical: payloadNone},
	"Z":  {ReplyDone: payloadNone, ReplyBusy: payloadNone, ReplyLogical: payloadNone, ReplyOverload: payloadNone, ReplyUnderload: payloadNone},
	"ZI": {ReplyStable: payloadNone, ReplyDynamic: payloadNone, ReplyBusy: payloadNone, ReplyLogical: payloadNone, ReplyOverload: payloadNone, ReplyUnderload: payloadNone},
	"I2": {ReplyDone: payloadText, ReplyBusy: payloadNone, ReplyLogical: payloadNone},
	"I4": {ReplyDone: payloadText, ReplyBusy: payloadNone, ReplyLogical: payloadNone},
}

var mtsicsErrors = map[string]error{
	"ES": ErrSyntax,
	"ET": ErrTransmission,
	"EL": ErrLogical,
}

var statusErrors = map[ReplyStatus]error{
	ReplyBusy:      ErrBusy,
	ReplyLogical:   ErrLogical,
	ReplyOverload:  ErrOverload,
	ReplyUnderload: ErrUnderload,
}

// maxValueLen bounds a weight value: scales send at most ten characters, and
// a bound keeps a garbled line from becoming a huge number.
const maxValueLen = 32

// ParseMTSICS parses one MT-SICS reply line, with or without its CR LF.
//
// It knows every form of the replies to S, SI, T, TA, TI, Z, ZI, @, I2 and I4
// and the error replies ES, ET and EL. A reply with another identifier is
// accepted when its status is valid and it carries nothing, a weight, or
// quoted text.
//
// When the line is an error reply, err is a *ResponseError that wraps
// ErrOverload, ErrUnderload, ErrBusy, ErrLogical, ErrSyntax or
// ErrTransmission, and the Response still names the command and status.
// When the line is not a valid reply, err is a *ResponseError that wraps
// ErrMalformed and the Response is empty.
func ParseMTSICS(line []byte) (Response, error) {
	raw := bytes.Clone(line)
	malformed := func(reason string) (Response, error) {
		return Response{}, &ResponseError{Line: raw, Err: ErrMalformed, Reason: reason}
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	for _, b := range line {
		if b < 0x20 || b == 0x7f {
			return malformed(fmt.Sprintf("control character %#02x", b))
		}
	}

	id, rest := cutSpace(line)
	if len(id) == 0 {
		return malformed("no identifier")
	}
	if !validID(id) {
		return malformed(fmt.Sprintf("identifier %q", id))
	}
	r := Response{Command: string(id)}
	if sentinel, ok := mtsicsErrors[r.Command]; ok {
		if len(rest) != 0 {
			return malformed("text after " + r.Command)
		}
		return r, &ResponseError{Line: raw, Err: sentinel}
	}

	status, rest := cutSpace(rest)
	if len(status) != 1 {
		return malformed(fmt.Sprintf("status %q", status))
	}
	r.Status = ReplyStatus(status)
	allowed := payloadAny
	if forms, known := mtsicsReplies[r.Command]; known {
		p, ok := forms[r.Status]
		if !ok {
			return malformed(fmt.Sprintf("status %q in a %s reply", status, r.Command))
		}
		allowed = p
	} else {
		switch r.Status {
		case ReplyStable, ReplyDynamic, ReplyDone, ReplyMore:
		case ReplyBusy, ReplyLogical, ReplyOverload, ReplyUnderload:
			allowed = payloadNone
		default:
			return malformed(fmt.Sprintf("status %q", status))
		}
	}

	var got payload
	switch {
	case len(rest) == 0:
		got = payloadNone
	case rest[0] == '"':
		texts, err := quotedFields(rest)
		if err != "" {
			return malformed(err)
		}
		r.Text, got = texts, payloadText
	default:
		value, unit, err := weightFields(rest)
		if err != "" {
			return malformed(err)
		}
		r.Value, r.Unit, got = value, unit, payloadWeight
	}
	if got&allowed == 0 {
		return malformed(fmt.Sprintf("unexpected %s after status %q", payloadName(got), status))
	}
	if sentinel, ok := statusErrors[r.Status]; ok {
		return r, &ResponseError{Line: raw, Err: sentinel}
	}
	return r, nil
}

func payloadName(p payload) string {
	switch p {
	case payloadNone:
		return "end of line"
	case payloadWeight:
		return "weight"
	}
	return "text"
}

// cutSpace returns the first space-separated field and what follows the
// spaces after it.
func cutSpace(b []byte) (field, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], bytes.TrimLeft(b[i:], " ")
}

// validID accepts the identifiers MT-SICS uses: an upper-case letter, then
// upper-case letters and digits.
func validID(id []byte) bool {
	if len(id) > 8 || id[0] < 'A' || id[0] > 'Z' {
		return false
	}
	for _, c := range id[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// quotedFields parses `"a" "b c"`. The reason is empty on success.
func quotedFields(b []byte) ([]string, string) {
	var out []string
	for len(b) > 0 {
		if b[0] != '"' {
			return nil, "text outside quotes"
		}
		end := bytes.IndexByte(b[1:], '"')
		if end < 0 {
			return nil, "unterminated quote"
		}
		out = append(out, string(b[1:1+end]))
		b = b[2+end:]
		if len(b) > 0 && b[0] != ' ' {
			return nil, "no space after quoted text"
		}
		b = bytes.TrimLeft(b, " ")
	}
	return out, ""
}

// weightFields parses "<value> <unit>" with nothing after. The reason is
// empty on success.
func weightFields(b []byte) (decimal.Decimal, string, string) {
	v, rest := cutSpace(b)
	unit, rest := cutSpace(rest)
	if len(unit) == 0 {
		return decimal.Decimal{}, "", "weight without unit"
	}
	if len(rest) != 0 {
		return decimal.Decimal{}, "", "text after unit"
	}
	if bytes.IndexByte(unit, '"') >= 0 {
		return decimal.Decimal{}, "", fmt.Sprintf("unit %q", unit)
	}
	value, err := parseNumber(v)
	if err != "" {
		return decimal.Decimal{}, "", err
	}
	return value, string(unit), ""
}

// parseNumber accepts an optional sign, digits and at most one decimal
// point with a digit on at least one side: what a weight display shows.
// decimal.NewFromString alone would also take exponents.
func parseNumber(v []byte) (decimal.Decimal, string) {
	if len(v) > maxValueLen {
		return decimal.Decimal{}, fmt.Sprintf("value of %d characters", len(v))
	}
	digits, points := 0, 0
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		case (c == '+' || c == '-') && i == 0:
		default:
			return decimal.Decimal{}, fmt.Sprintf("value %q", v)
		}
	}
	if digits == 0 || points > 1 {
		return decimal.Decimal{}, fmt.Sprintf("value %q", v)
	}
	d, err := decimal.NewFromString(string(v))
	if err != nil {
		return decimal.Decimal{}, fmt.Sprintf("value %q", v)
	}
	return d, ""
}
