package canonjson

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is the deepest nesting of arrays and objects that Append accepts.
const MaxDepth = 100

// MaxExponent bounds the decimal exponent of a number, so that a short input
// such as 1e999999999 cannot expand into an enormous canonical form.
const MaxExponent = 1000

// SyntaxError reports input that is not JSON, or JSON that has no canonical
// form under this package's rules.
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("canonical json: %s at offset %d", e.Msg, e.Offset)
}

// Canonicalize returns the canonical form of the JSON value in src.
func Canonicalize(src []byte) ([]byte, error) {
	return Append(make([]byte, 0, len(src)), src)
}

// Append appends the canonical form of the JSON value in src to dst and
// returns the extended buffer. On error dst is returned unchanged in length
// (its spare capacity may have been written) together with a *SyntaxError.
func Append(dst, src []byte) ([]byte, error) {
	return AppendLimit(dst, src, 0)
}

// AppendLimit is Append for a canonical form of at most limit bytes (no
// limit when limit is 0): a number whose canonical form would take the
// output past it is refused, with a *SyntaxError, before it is written,
// so the cost of hostile input is bounded by the limit, not by what its
// numbers expand to. The result may still exceed limit by less than one
// number's or string's width; callers check the final length.
func AppendLimit(dst, src []byte, limit int) ([]byte, error) {
	if canonicalEnd(src, 0, 0) == len(src) {
		return append(dst, src...), nil
	}
	if out, ok := appendFlat(dst, src); ok {
		return out, nil
	}
	return appendParsed(dst, src, limit)
}

// appendParsed is Append through the general parser.
func appendParsed(dst, src []byte, limit int) ([]byte, error) {
	p := parsers.Get().(*parser)
	defer func() {
		p.src, p.out = nil, nil
		parsers.Put(p)
	}()
	p.src, p.pos, p.out = src, 0, dst
	start := len(dst)
	p.base, p.limit = start, limit
	p.skipSpace()
	if err := p.value(0); err != nil {
		return dst[:start], err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return dst[:start], p.errorf("unexpected data after the value")
	}
	return p.out, nil
}

// parsers keeps the scratch buffers of finished parsers for the next call.
var parsers = sync.Pool{New: func() any { return new(parser) }}

// Valid reports whether src has a canonical form; IsCanonical whether it
// already is one.
func Valid(src []byte) bool {
	_, err := Canonicalize(src)
	return err == nil
}

// IsCanonical reports whether src is exactly its own canonical form.
func IsCanonical(src []byte) bool {
	out, err := Canonicalize(src)
	return err == nil && bytes.Equal(out, src)
}

type parser struct {
	src     []byte
	pos     int
	out     []byte
	base    int      // where this value's output starts in out
	limit   int      // the most bytes the value's canonical form may take; 0: no limit
	scratch []byte   // reused when members of an object must be reordered
	members []member // a stack: each open object owns the tail from its base
	numBuf  []byte   // significant digits of the number being read

	// What the last string written holds, so that keys can be compared
	// without decoding them.
	strEscaped bool // an escape: a backslash in the output
	strHigh    bool // a character at U+E000 or above
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) error {
	if p.pos >= len(p.src) {
		return p.errorf("unexpected end of input")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		if depth >= MaxDepth {
			return p.errorf("nesting deeper than %d", MaxDepth)
		}
		return p.object(depth + 1)
	case c == '[':
		if depth >= MaxDepth {
			return p.errorf("nesting deeper than %d", MaxDepth)
		}
		return p.array(depth + 1)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.errorf("unexpected character %q", c)
	}
}

func (p *parser) literal(lit string) error {
	if !bytes.HasPrefix(p.src[p.pos:], []byte(lit)) {
		return p.errorf("invalid literal")
	}
	p.pos += len(lit)
	p.out = append(p.out, lit...)
	return nil
}

func (p *parser) array(depth int) error {
	p.pos++ // [
	p.out = append(p.out, '[')
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		p.out = append(p.out, ']')
		return nil
	}
	for {
		p.skipSpace()
		if err := p.value(depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return p.errorf("unexpected end of input in array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.out = append(p.out, ',')
		case ']':
			p.pos++
			p.out = append(p.out, ']')
			return nil
		default:
			return p.errorf("expected ',' or ']' in array")
		}
	}
}

// member is the span of one encoded object member in p.out. Reordering a
// nested object keeps its length, so spans stay valid until their own object
// is closed.
type member struct {
	start, end int  // encoded "key":value in p.out
	keyEnd     int  // the closing quote of the key
	escaped    bool // the encoded key holds an escape
	// plain keys hold neither escapes nor characters at U+E000 or above,
	// so their bytes sort as their UTF-16 code units do.
	plain bool
}

func (p *parser) key(m *member) []byte { return p.out[m.start+1 : m.keyEnd] }

// compareKeys orders two encoded keys of p.out by their decoded UTF-16 code
// units.
func (p *parser) compareKeys(a, b *member) int {
	ka, kb := p.key(a), p.key(b)
	if a.plain && b.plain {
		return compareBytes(ka, kb)
	}
	if a.escaped || b.escaped {
		return compareUTF16(decodeEscapes(ka), decodeEscapes(kb))
	}
	return compareUTF16(ka, kb)
}

func (p *parser) object(depth int) error {
	p.pos++ // {
	objStart := len(p.out)
	p.out = append(p.out, '{')
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		p.out = append(p.out, '}')
		return nil
	}
	base := len(p.members)
	defer func() { p.members = p.members[:base] }()
	sorted := true
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return p.errorf("expected a string key in object")
		}
		if len(p.members) > base {
			p.out = append(p.out, ',')
		}
		start, keyAt := len(p.out), p.pos
		if err := p.str(); err != nil {
			return err
		}
		// The member is filled in where it is kept: copying a struct just
		// written field by field stalls the processor on its loads.
		p.members = append(p.members, member{})
		mi := len(p.members) - 1
		m := &p.members[mi]
		m.start, m.keyEnd = start, len(p.out)-1
		m.escaped, m.plain = p.strEscaped, !p.strEscaped && !p.strHigh
		if mi > base {
			switch c := p.compareKeys(&p.members[mi-1], &p.members[mi]); {
			case c == 0:
				return &SyntaxError{Offset: keyAt, Msg: fmt.Sprintf("duplicate key %q", p.key(&p.members[mi]))}
			case c > 0:
				sorted = false
			}
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return p.errorf("expected ':' after object key")
		}
		p.pos++
		p.out = append(p.out, ':')
		p.skipSpace()
		if err := p.value(depth); err != nil {
			return err
		}
		p.members[mi].end = len(p.out)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return p.errorf("unexpected end of input in object")
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] != '}' {
			return p.errorf("expected ',' or '}' in object")
		}
		p.pos++
		break
	}
	if !sorted {
		members := p.members[base:]
		if dup := p.sortMembers(members); dup >= 0 {
			return p.errorf("duplicate key %q", p.key(&members[dup]))
		}
		body := p.scratch[:0]
		for i, m := range members {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, p.out[m.start:m.end]...)
		}
		p.out = append(p.out[:objStart+1], body...)
		p.scratch = body
	}
	p.out = append(p.out, '}')
	return nil
}

// sortMembers sorts the members of one object by key and returns the index
// of a member whose key equals its predecessor's, or -1. Objects are mostly
// small, and an insertion sort that compares members in place is then
// faster than a general sort that copies them into its comparison calls.
// It also compares every pair that ends up adjacent, so it sees any
// duplicate on the way.
func (p *parser) sortMembers(ms []member) int {
	if len(ms) > 12 {
		slices.SortFunc(ms, func(a, b member) int { return p.compareKeys(&a, &b) })
		for i := 1; i < len(ms); i++ {
			if p.compareKeys(&ms[i-1], &ms[i]) == 0 {
				return i
			}
		}
		return -1
	}
	dup := -1
	for i := 1; i < len(ms); i++ {
		j := i
		for ; j > 0; j-- {
			c := p.compareKeys(&ms[j-1], &ms[j])
			if c == 0 {
				dup = j
			}
			if c <= 0 {
				break
			}
			ms[j-1], ms[j] = ms[j], ms[j-1]
		}
	}
	return dup
}

// str reads a JSON string at p.pos and writes its canonical encoding.
func (p *parser) str() error {
	p.pos++ // opening quote
	p.out = append(p.out, '"')
	p.strEscaped, p.strHigh = false, false
	for {
		// Copy the longest run that needs no attention.
		run := p.pos
		for run < len(p.src) && plain[p.src[run]] {
			run++
		}
		p.out = append(p.out, p.src[p.pos:run]...)
		p.pos = run
		if p.pos >= len(p.src) {
			return p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			p.out = append(p.out, '"')
			return nil
		case c < 0x20:
			return p.errorf("control character in string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return p.errorf("invalid UTF-8 in string")
			}
			p.strHigh = p.strHigh || r >= 0xE000
			p.out = append(p.out, p.src[p.pos:p.pos+size]...)
			p.pos += size
		default: // backslash
			at := len(p.out)
			if err := p.escape(); err != nil {
				return err
			}
			if c := p.out[at]; c == '\\' {
				p.strEscaped = true
			} else if c >= 0xEE { // the lead byte of U+E000 and above
				p.strHigh = true
			}
		}
	}
}

func (p *parser) escape() error {
	if p.pos+1 >= len(p.src) {
		return p.errorf("unterminated escape")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		p.out = appendEscapedRune(p.out, rune(c))
		return nil
	case 'b':
		p.out = append(p.out, '\\', 'b')
		return nil
	case 'f':
		p.out = append(p.out, '\\', 'f')
		return nil
	case 'n':
		p.out = append(p.out, '\\', 'n')
		return nil
	case 'r':
		p.out = append(p.out, '\\', 'r')
		return nil
	case 't':
		p.out = append(p.out, '\\', 't')
		return nil
	case 'u':
	default:
		return p.errorf("invalid escape \\%c", c)
	}
	r, ok := p.hex4()
	if !ok {
		return p.errorf("invalid \\u escape")
	}
	if utf16.IsSurrogate(r) {
		if r >= 0xDC00 || p.pos+1 >= len(p.src) || p.src[p.pos] != '\\' || p.src[p.pos+1] != 'u' {
			return p.errorf("lone surrogate in string")
		}
		p.pos += 2
		r2, ok := p.hex4()
		if !ok {
			return p.errorf("invalid \\u escape")
		}
		r = utf16.DecodeRune(r, r2)
		if r == utf8.RuneError {
			return p.errorf("lone surrogate in string")
		}
	}
	p.out = appendEscapedRune(p.out, r)
	return nil
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.src) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

const hexDigits = "0123456789abcdef"

// plain tells the bytes that stand for themselves inside a canonical
// string: printable ASCII other than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendEscapedRune writes r as it appears inside a canonical string.
func appendEscapedRune(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xF])
	}
	return utf8.AppendRune(dst, r)
}

// AppendString appends s as a canonical JSON string. It reports an error when
// s is not valid UTF-8.
func AppendString(dst []byte, s string) ([]byte, error) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		if c < utf8.RuneSelf {
			dst = appendEscapedRune(dst, rune(c))
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return dst, fmt.Errorf("canonical json: invalid UTF-8 in %q", s)
			}
			dst = append(dst, s[i:i+size]...)
			i += size
		}
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

// decodeEscapes decodes the body of a string that this package has just
// written, so only its own escapes occur.
func decodeEscapes(body []byte) []byte {
	var s []byte
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			s = append(s, body[i])
			continue
		}
		i++
		switch body[i] {
		case 'b':
			s = append(s, '\b')
		case 'f':
			s = append(s, '\f')
		case 'n':
			s = append(s, '\n')
		case 'r':
			s = append(s, '\r')
		case 't':
			s = append(s, '\t')
		case 'u':
			v, _ := strconv.ParseUint(string(body[i+1:i+5]), 16, 8)
			s = append(s, byte(v))
			i += 4
		default:
			s = append(s, body[i])
		}
	}
	return s
}

// compareBytes is bytes.Compare for the short keys of JSON objects, where
// the call into the general one costs more than the loop.
func compareBytes(a, b []byte) int {
	n := min(len(a), len(b))
	for i, c := range a[:n] {
		if c != b[i] {
			return int(c) - int(b[i])
		}
	}
	return len(a) - len(b)
}

// CompareKeys orders two object keys as canonical form does (RFC 8785: by
// their UTF-16 code units), for encoders that write members in canonical
// order themselves.
func CompareKeys(a, b string) int {
	return compareUTF16(unsafe.Slice(unsafe.StringData(a), len(a)), unsafe.Slice(unsafe.StringData(b), len(b)))
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 sorts
// object keys. It differs from byte order only when a supplementary-plane
// character meets one in U+E000..U+FFFF.
func compareUTF16(a, b []byte) int {
	for len(a) > 0 && len(b) > 0 {
		if a[0] == b[0] && a[0] < utf8.RuneSelf {
			a, b = a[1:], b[1:]
			continue
		}
		ra, na := utf8.DecodeRune(a)
		rb, nb := utf8.DecodeRune(b)
		if ra != rb {
			if ua, ub := firstUnit(ra), firstUnit(rb); ua != ub {
				return int(ua) - int(ub)
			}
			// Both are supplementary with the same high surrogate: the low
			// surrogates order as the code points do.
			return int(ra) - int(rb)
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

func firstUnit(r rune) rune {
	if r >= 0x10000 {
		hi, _ := utf16.EncodeRune(r)
		return hi
	}
	return r
}
