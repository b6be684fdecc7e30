package canonjson

import "bytes"

// maxFlatMembers bounds the objects appendFlat takes, so that their spans
// fit in an array on the stack.
const maxFlatMembers = 32

// maxFlatDigits bounds the numbers appendFlat takes: far from MaxExponent,
// and short enough to see at a glance that they are canonical.
const maxFlatDigits = 15

// flatMember locates one member of a flat object in the source: the key
// without its quotes, and the value as it stands.
type flatMember struct {
	keyStart, keyEnd, valStart, valEnd int
}

// appendFlat is the fast path of Append for the most common payload: one
// object whose keys are plain ASCII and whose values are strings of plain
// ASCII, true, false, null or numbers already in canonical form. Those
// stand in the source as the canonical form writes them, so only the
// members' order changes, and they are copied once, in key order, with no
// intermediate output. For anything else, duplicate keys included, it
// writes nothing and reports false, and the general parser takes over
// (and reports any error). A test holds it to the general parser's output.
func appendFlat(dst, src []byte) ([]byte, bool) {
	var buf [maxFlatMembers]flatMember
	members := buf[:0]
	i := skipSpace(src, 0)
	if i >= len(src) || src[i] != '{' {
		return dst, false
	}
	i = skipSpace(src, i+1)
	if i < len(src) && src[i] == '}' {
		if skipSpace(src, i+1) != len(src) {
			return dst, false
		}
		return append(dst, '{', '}'), true
	}
	size := 2 // the braces
	for {
		if i >= len(src) || src[i] != '"' || len(members) == maxFlatMembers {
			return dst, false
		}
		var m flatMember
		m.keyStart = i + 1
		if m.keyEnd = plainString(src, m.keyStart); m.keyEnd < 0 {
			return dst, false
		}
		i = skipSpace(src, m.keyEnd+1)
		if i >= len(src) || src[i] != ':' {
			return dst, false
		}
		m.valStart = skipSpace(src, i+1)
		if m.valEnd = flatValue(src, m.valStart); m.valEnd < 0 {
			return dst, false
		}
		members = append(members, m)
		size += m.keyEnd - m.keyStart + 3 + m.valEnd - m.valStart + 1 // "key": and a comma
		i = skipSpace(src, m.valEnd)
		if i >= len(src) {
			return dst, false
		}
		if src[i] == '}' {
			break
		}
		if src[i] != ',' {
			return dst, false
		}
		i = skipSpace(src, i+1)
	}
	if skipSpace(src, i+1) != len(src) {
		return dst, false
	}
	// Plain ASCII keys sort by their bytes as by their UTF-16 code units.
	key := func(m *flatMember) []byte { return src[m.keyStart:m.keyEnd] }
	for k := 1; k < len(members); k++ {
		for j := k; j > 0; j-- {
			c := compareKeyBytes(key(&members[j-1]), key(&members[j]))
			if c == 0 {
				return dst, false // duplicate: the parser names it
			}
			if c < 0 {
				break
			}
			members[j-1], members[j] = members[j], members[j-1]
		}
	}
	if cap(dst)-len(dst) < size {
		grown := make([]byte, len(dst), len(dst)+size)
		copy(grown, dst)
		dst = grown
	}
	dst = append(dst, '{')
	for k := range members {
		m := &members[k]
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, src[m.keyStart-1:m.keyEnd+1]...)
		dst = append(dst, ':')
		dst = append(dst, src[m.valStart:m.valEnd]...)
	}
	return append(dst, '}'), true
}

// compareKeyBytes is bytes.Compare for short keys, which mostly differ in
// their first bytes: a loop beats the call into the general one.
func compareKeyBytes(a, b []byte) int {
	n := min(len(a), len(b))
	for i, c := range a[:n] {
		if c != b[i] {
			return int(c) - int(b[i])
		}
	}
	return len(a) - len(b)
}

func skipSpace(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString returns the index of the quote that ends the string whose
// content starts at i, or -1 when the string holds anything but plain
// ASCII or does not end.
func plainString(src []byte, i int) int {
	for i < len(src) && plain[src[i]] {
		i++
	}
	if i < len(src) && src[i] == '"' {
		return i
	}
	return -1
}

// flatValue returns the end of the value at i when it is one appendFlat
// copies as it stands, or -1.
func flatValue(src []byte, i int) int {
	if i >= len(src) {
		return -1
	}
	switch c := src[i]; {
	case c == '"':
		if end := plainString(src, i+1); end >= 0 {
			return end + 1
		}
	case c == 't':
		return literalEnd(src, i, "true")
	case c == 'f':
		return literalEnd(src, i, "false")
	case c == 'n':
		return literalEnd(src, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return canonicalNumberEnd(src, i)
	}
	return -1
}

func literalEnd(src []byte, i int, lit string) int {
	if bytes.HasPrefix(src[i:], []byte(lit)) {
		return i + len(lit)
	}
	return -1
}

// canonicalNumberEnd returns the end of the number at i when it is already
// canonical and short: no exponent, no leading zeros, no trailing zeros in
// a fraction, not negative zero, at most maxFlatDigits digits; or -1.
func canonicalNumberEnd(src []byte, i int) int {
	start := i
	if src[i] == '-' {
		i++
	}
	intStart := i
	for i < len(src) && src[i] >= '0' && src[i] <= '9' {
		i++
	}
	intLen := i - intStart
	if intLen == 0 || (intLen > 1 && src[intStart] == '0') {
		return -1
	}
	digits, zero := intLen, intLen == 1 && src[intStart] == '0'
	if i < len(src) && src[i] == '.' {
		i++
		fracStart := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			if src[i] != '0' {
				zero = false
			}
			i++
		}
		if i == fracStart || src[i-1] == '0' {
			return -1
		}
		digits += i - fracStart
	}
	if digits > maxFlatDigits || (zero && src[start] == '-') {
		return -1
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E' || src[i] == '.') {
		return -1
	}
	return i
}
