package gs1

import (
	"fmt"
	"strings"
)

// ParseHRI parses GS1 element strings in their human-readable
// interpretation, as printed under a barcode or typed by a person:
// "(01)09506000134352(17)201225(10)ABC123". Each AI stands in parentheses
// and its data runs to the next "(" or the end; a "(" inside data is
// written "\(" (the backslash is outside GS1 character set 82, so the
// escape cannot be mistaken for data). The result is the Data of the same
// element string, with Symbology empty, and the same checks apply.
//
// The error is a *Error wrapping ErrInvalidHRI for text without the
// parenthesised shape, ErrUnknownAI for an AI outside the table,
// ErrFieldTooShort for fixed-length data cut short, or one of the element
// and pairing errors of ParseElementString.
func (p *Parser) ParseHRI(s string) (Data, error) {
	bad := func(at int, reason string) error {
		return &Error{Value: s, Err: ErrInvalidHRI, Reason: fmt.Sprintf("at %d: %s", at, reason)}
	}
	if s == "" {
		return Data{}, &Error{Err: ErrInvalidHRI, Reason: "empty"}
	}
	var d Data
	now := p.clock()
	for i := 0; i < len(s); {
		if s[i] != '(' {
			return Data{}, bad(i, `want "(" and an AI`)
		}
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return Data{}, bad(i, `"(" without ")"`)
		}
		ai := s[i+1 : i+end]
		if len(ai) < 2 || len(ai) > 4 || !isDigits(ai) {
			return Data{}, bad(i, fmt.Sprintf(`%q is not an AI of 2 to 4 digits (write a "(" inside data as \(`+")", ai))
		}
		def, ok := aiTable[ai]
		if !ok {
			return Data{}, &Error{AI: ai, Value: s[i:], Err: ErrUnknownAI, Reason: "not an AI of the table"}
		}
		i += end + 1
		var v strings.Builder
		for ; i < len(s) && s[i] != '('; i++ {
			if s[i] == '\\' {
				if i+1 == len(s) || s[i+1] != '(' {
					return Data{}, bad(i, `a backslash only escapes "("`)
				}
				i++
			}
			v.WriteByte(s[i])
		}
		val := v.String()
		if n := def.fixedLength(); n > 0 && val != "" && len(val) < n {
			return Data{}, &Error{AI: ai, Value: val, Err: ErrFieldTooShort,
				Reason: fmt.Sprintf("%s is %d characters, got %d", def.name(), n, len(val))}
		}
		if err := addElement(&d, def, val, now); err != nil {
			return Data{}, err
		}
	}
	if err := checkPairs(d.Elements, !p.deferRequired); err != nil {
		return Data{}, err
	}
	return d, nil
}

// EncodeHRI writes elements in their human-readable interpretation, each
// AI in parentheses before its data, with "(" in data escaped as "\(" so
// that ParseHRI reads it back. It checks each element as
// EncodeElementString does and returns a *Error like it.
func EncodeHRI(elements []Element) (string, error) {
	if len(elements) == 0 {
		return "", &Error{Err: ErrTruncated, Reason: "no element strings"}
	}
	var b strings.Builder
	for _, e := range elements {
		def, ok := aiTable[e.AI]
		if !ok {
			return "", &Error{AI: e.AI, Value: e.Value, Err: ErrUnknownAI}
		}
		if err := checkValue(def, e.Value, 0); err != nil {
			return "", err
		}
		b.WriteString("(" + e.AI + ")")
		b.WriteString(strings.ReplaceAll(e.Value, "(", `\(`))
	}
	return b.String(), nil
}
