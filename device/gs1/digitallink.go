package gs1

import (
	"net/url"
	"strings"
)

// digitalLinkKeys lists, for each primary key of the GS1 Digital Link
// standard (1.x) that this package understands, the key qualifiers that may
// follow it in the path, in the only order they may appear.
var digitalLinkKeys = map[string][]string{
	"01":   {"22", "10", "21"},
	"00":   nil,
	"414":  {"254"},
	"401":  nil,
	"402":  nil,
	"8004": nil,
}

// ParseDigitalLink parses an uncompressed GS1 Digital Link URI such as
// "https://id.example.com/01/09506000134352/10/ABC%2F1?17=271231" into the
// same Data as the equivalent element string, with Symbology left empty.
// The host and any path before the primary key are not interpreted. Path
// segments and query values are percent-decoded; a GTIN-8, -12 or -13 is
// padded to 14 digits; query parameters whose names are all digits are AIs
// and must be known, other parameters (such as linkType) are ignored.
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
			if _, ok := digitalLinkKeys[k]; ok {
				return Data{}, &Error{AI: k, Value: v, Err: ErrInvalidDigitalLink, Reason: "a primary key cannot be a query attribute"}
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
		quals, ok := digitalLinkKeys[segs[i]]
		if !ok || (len(segs)-i)%2 != 0 {
			continue
		}
		next, fits := 0, true
		for j := i + 2; j < len(segs); j += 2 {
			k := next
			for k < len(quals) && quals[k] != segs[j] {
				k++
			}
			if k == len(quals) {
				fits = false
				break
			}
			next = k + 1
		}
		if fits {
			return i
		}
	}
	return -1
}
