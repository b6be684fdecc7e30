package canonjson

import (
	"fmt"
	"strconv"
)

// number reads a JSON number at p.pos and writes it as an exact decimal in
// canonical form (see the package documentation).
func (p *parser) number() error {
	start := p.pos
	neg := false
	if p.src[p.pos] == '-' {
		neg = true
		p.pos++
	}
	intStart := p.pos
	p.digits()
	intPart := p.src[intStart:p.pos]
	if len(intPart) == 0 {
		return p.errorf("invalid number")
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return &SyntaxError{Offset: intStart, Msg: "leading zero in number"}
	}
	var frac []byte
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		fracStart := p.pos
		p.digits()
		frac = p.src[fracStart:p.pos]
		if len(frac) == 0 {
			return p.errorf("missing digits after decimal point")
		}
	}
	exp := 0
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		expStart := p.pos
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		digitsStart := p.pos
		p.digits()
		if p.pos == digitsStart {
			return p.errorf("missing digits in exponent")
		}
		if p.pos-digitsStart > 9 {
			return &SyntaxError{Offset: start, Msg: "number exponent out of range"}
		}
		e, err := strconv.Atoi(string(p.src[expStart:p.pos]))
		if err != nil {
			return &SyntaxError{Offset: start, Msg: "invalid exponent"}
		}
		exp = e
	}

	// value = digits × 10^exp, with digits the integer and fraction digits.
	exp -= len(frac)
	lead := 0
	for lead < len(intPart) && intPart[lead] == '0' {
		lead++
	}
	digits := append(p.numBuf[:0], intPart[lead:]...)
	digits = append(digits, frac...)
	p.numBuf = digits
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		p.out = append(p.out, '0')
		return nil
	}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	// The exponent that matters is the one of the most significant digit.
	if top := exp + len(digits) - 1; top > MaxExponent || exp < -MaxExponent {
		return &SyntaxError{Offset: start, Msg: "number exponent out of range"}
	}
	// The canonical form is known before it is written: refuse one that
	// would take the output past its budget, so that short inputs such as
	// 1e1000 cannot make a few megabytes of text cost gigabytes.
	width := len(digits) + max(exp, 0) + max(-(len(digits)+exp), 0) + 2
	if p.limit > 0 && len(p.out)-p.base+width > p.limit {
		return &SyntaxError{Offset: start, Msg: fmt.Sprintf("canonical form over the limit of %d bytes", p.limit)}
	}
	if neg {
		p.out = append(p.out, '-')
	}
	switch point := len(digits) + exp; {
	case exp >= 0:
		p.out = append(p.out, digits...)
		for range exp {
			p.out = append(p.out, '0')
		}
	case point > 0:
		p.out = append(p.out, digits[:point]...)
		p.out = append(p.out, '.')
		p.out = append(p.out, digits[point:]...)
	default:
		p.out = append(p.out, '0', '.')
		for range -point {
			p.out = append(p.out, '0')
		}
		p.out = append(p.out, digits...)
	}
	return nil
}

func (p *parser) digits() {
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
}
