package gs1

import "strings"

// ParseScan parses one barcode read as a scanner sends it, choosing the
// parser by its symbology identifier: the GS1 symbologies (GS1-128 "]C1",
// GS1 DataBar "]e0", GS1 DataMatrix "]d2", GS1 QR Code "]Q3", GS1 DotCode
// "]J1") carry element strings; a plain QR Code ("]Q1") or Data Matrix
// ("]d1") carries a GS1 Digital Link URI. Data without an identifier is a
// Digital Link when it starts with "http://" or "https://", and element
// strings otherwise. Data keeps the identifier in Symbology.
//
// The error is a *Error wrapping ErrNotGS1 for a symbology that carries
// neither (such as EAN-13 "]E0"), for a plain QR Code or Data Matrix whose
// data is not a web address, and for data without an identifier that
// starts with neither a digit, FNC1 nor a web address; otherwise it is an
// error of ParseElementString or ParseDigitalLink.
func (p *Parser) ParseScan(s string) (Data, error) {
	sym := symbologyOf(s)
	switch {
	case announcesElementStrings(sym):
		return p.ParseElementString(s)
	case sym == SymbologyQR || sym == SymbologyDataMatrix:
		body := s[len(sym):]
		if !isWebAddress(body) {
			return Data{}, &Error{Value: s, Err: ErrNotGS1,
				Reason: "a plain " + symbologyName(sym) + " carries GS1 data only as a Digital Link URI"}
		}
		d, err := p.ParseDigitalLink(body)
		if err != nil {
			return Data{}, err
		}
		d.Symbology = sym
		return d, nil
	case sym != SymbologyNone:
		return Data{}, &Error{Value: s, Err: ErrNotGS1,
			Reason: "symbology identifier " + string(sym) + " announces neither GS1 element strings nor a Digital Link"}
	case isWebAddress(s):
		return p.ParseDigitalLink(s)
	case s == "" || s[0] == ']' || s[0] == GS || s[0] >= '0' && s[0] <= '9':
		return p.ParseElementString(s)
	}
	reason := "neither GS1 element strings nor a GS1 Digital Link URI"
	if s[0] == '(' {
		reason += " (text with AIs in parentheses goes to ParseHRI)"
	}
	return Data{}, &Error{Value: s, Err: ErrNotGS1, Reason: reason}
}

// isWebAddress reports whether s starts with an http or https scheme, in
// any case, as URI schemes are case-insensitive.
func isWebAddress(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && (strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"))
}

func symbologyName(sym Symbology) string {
	if sym == SymbologyQR {
		return "QR Code"
	}
	return "Data Matrix"
}
