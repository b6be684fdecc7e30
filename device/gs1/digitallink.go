package gs1

import (
	"net/url"
	"strings"
)

// ParseDigitalLink parses an uncompressed GS1 Digital Link URI such as
// "https://id.example.com/01/09506000134352/10/ABC%2F1?17=271231" into the
// same Data as the equivalent element string, with Symbology left empty.
// Every primary key of the GS1 Barcode Syntax Dictionary is understood (00,
// 01, 253, 255, 401, 402, 414, 415, 417, 8003, 8004, 8006, 8010, 8013,
// 8017, 8018), each with its key qualifiers in their one order, and one
// sequence of them where the dictionary gives alternatives (01 takes 22, 10,
// 21 or else 235). The host and any path before the primary key are not
// interpreted. Path
// segments and query values are percent-decoded; a GTIN-8, -12 or -13 is
// padded to 14 digits; query parameters whose names are all digits are AIs
// and must be known and allowed as Digital Link data attributes (not a key
// or a key qualifier such as 21); other parameters (such as linkType) are
// ignored. The dictionary's pairing rules apply as in ParseElementString.
// Elements come in URI order: primary key, qualifiers, then query AIs. A '+'
// in the query is a plus sign, as RFC 3986 has it, not an encoded space.
//
// The error is a *Error wrapping ErrInvalidDigitalLink for a URI that does
// not have the Digital Link shape, or one of the element errors of
// ParseElementString for bad data.
func (p *Parser) ParseDigitalLink(uri string) (Data, error) {
	bad := func(reason string) error {
		return &Error{Value: uri, Err: ErrInvalidDigitalLink, Reason: reason}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return Data{}, bad(err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Data{}, bad("scheme must be http or https")
	}
	if u.Host == "" || u.Opaque != "" {
		return Data{}, bad("no host")
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i, s := range segs {
		if segs[i], err = url.PathUnescape(s); err != nil {
			return Data{}, bad(err.Error())
		}
	}
	start := digitalLinkStart(segs)
	if start < 0 {
		return Data{}, bad("no primary key with its qualifiers at the end of the path")
	}
	var elems []Element
	for i := start; i < len(segs); i += 2 {
		elems = append(elems, Element{AI: segs[i], Value: segs[i+1]})
	}
	if elems[0].AI == "01" {
		if g, ok := normalizeGTIN(elems[0].Value); ok && isDigits(g) {
			elems[0].Value = g
		}
	}
	if u.RawQuery != "" {
		for _, kv := range strings.Split(u.RawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if k, err = url.PathUnescape(k); err != nil {
				return Data{}, bad(err.Error())
			}
			if !isDigits(k) {
				continue
			}
			if v, err = url.PathUnescape(v); err != nil {
				return Data{}, bad(err.Error())
			}
			def, ok := aiTable[k]
			switch {
			case !ok:
				return Data{}, &Error{AI: k, Value: v, Err: ErrUnknownAI}
			case def.dlKey:
				return Data{}, &Error{AI: k, Value: v, Err: ErrInvalidDigitalLink, Reason: "a primary key cannot be a query attribute"}
			case !def.dlAttr:
				return Data{}, &Error{AI: k, Value: v, Err: ErrInvalidDigitalLink, Reason: "not a Digital Link data attribute; a key qualifier belongs in the path"}
			}
			elems = append(elems, Element{AI: k, Value: v})
		}
	}
	var d Data
	now := p.clock()
	for _, e := range elems {
		def, ok := aiTable[e.AI]
		if !ok {
			return Data{}, &Error{AI: e.AI, Value: e.Value, Err: ErrUnknownAI}
		}
		if err := addElement(&d, def, e.Value, now); err != nil {
			return Data{}, err
		}
	}
	if err := checkPairs(d.Elements, !p.deferRequired); err != nil {
		return Data{}, err
	}
	return d, nil
}

// digitalLinkStart returns the index of the path segment holding the primary
// key AI, or -1. The path prefix is free text, so the first position from
// which the rest of the path reads as key, value and ordered qualifier pairs
// wins; a prefix segment that happens to look like an AI cannot satisfy that.
func digitalLinkStart(segs []string) int {
	for i := 0; i+1 < len(segs); i++ {
		def, ok := aiTable[segs[i]]
		if !ok || !def.dlKey || (len(segs)-i)%2 != 0 {
			continue
		}
		var quals []string
		for j := i + 2; j < len(segs); j += 2 {
			quals = append(quals, segs[j])
		}
		if len(quals) == 0 {
			return i
		}
		for _, seq := range def.dlQualifiers {
			if inOrder(quals, seq) {
				return i
			}
		}
	}
	return -1
}

// inOrder reports whether quals is a subsequence of seq: each qualifier at
// most once, in the order of seq.
func inOrder(quals, seq []string) bool {
	next := 0
	for _, q := range quals {
		for next < len(seq) && seq[next] != q {
			next++
		}
		if next == len(seq) {
			return false
		}
		next++
	}
	return true
}
