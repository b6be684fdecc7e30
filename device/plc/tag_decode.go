package plc

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/interlock-mes/interlock"

	"github.com/shopspring/decimal"
)

// Errors from DecodeTag.
var (
	// ErrInvalidTag means the tag handed to DecodeTag would not pass
	// NewTagMap.
	ErrInvalidTag = fmt.Errorf("invalid tag: %w", interlock.ErrInvalid)
	// ErrRawLength means the raw values do not match the width of the
	// tag's type.
	ErrRawLength = errors.New("raw value has the wrong length")
	// ErrRawBit means a coil or discrete input was given a value other than
	// 0 or 1.
	ErrRawBit = errors.New("raw bit is not 0 or 1")
	// ErrNotFinite means a float32 tag holds NaN or an infinity, which is no
	// quantity.
	ErrNotFinite = errors.New("value is not a finite number")
)

// DecodeTag turns the raw values of tag t into a number, honouring its
// type, word order and scale. raw holds the register words in address order
// as the device returned them, or, for a coil or discrete input, a single
// element 0 or 1. A bool decodes to 0 or 1 and is never scaled.
//
// A float32 is converted exactly from its binary value (0.1 in a register
// reads as 0.100000001490116119384765625) and then multiplied by the scale
// in decimal, so no float64 rounding enters the result.
//
// The error wraps ErrInvalidTag, ErrRawLength, ErrRawBit or ErrNotFinite.
// DecodeTag is pure and safe for concurrent use.
func DecodeTag(t Tag, raw []uint16) (decimal.Decimal, error) {
	if ps := t.check(0); len(ps) > 0 {
		return decimal.Decimal{}, fmt.Errorf("decode %q: %w: %v", t.Name, ErrInvalidTag, ps[0].Err)
	}
	if want := t.Type.Width(); len(raw) != want {
		return decimal.Decimal{}, fmt.Errorf("decode %q: %w: %s wants %d, got %d", t.Name, ErrRawLength, t.Type, want, len(raw))
	}
	var v decimal.Decimal
	switch t.Type {
	case TypeBool:
		if raw[0] > 1 {
			return decimal.Decimal{}, fmt.Errorf("decode %q: %w: %d", t.Name, ErrRawBit, raw[0])
		}
		return decimal.NewFromInt(int64(raw[0])), nil
	case TypeInt16:
		v = decimal.NewFromInt(int64(int16(raw[0])))
	case TypeUint16:
		v = decimal.NewFromInt(int64(raw[0]))
	case TypeInt32:
		v = decimal.NewFromInt(int64(int32(join32(t.WordOrder, raw))))
	case TypeUint32:
		v = decimal.NewFromInt(int64(join32(t.WordOrder, raw)))
	case TypeFloat32:
		f, err := exactFloat32(math.Float32frombits(join32(t.WordOrder, raw)))
		if err != nil {
			return decimal.Decimal{}, fmt.Errorf("decode %q: %w", t.Name, err)
		}
		v = f
	}
	if t.Scale == nil {
		return v, nil
	}
	return v.Mul(*t.Scale), nil
}

// join32 puts two registers together in the tag's word order.
func join32(order WordOrder, raw []uint16) uint32 {
	hi, lo := raw[0], raw[1]
	if order == LowWordFirst {
		hi, lo = lo, hi
	}
	return uint32(hi)<<16 | uint32(lo)
}

// exactFloat32 returns the exact decimal value of f. Every finite binary
// fraction m·2^e with e < 0 equals m·5^-e·10^e, so the result needs at most
// 149 fractional digits and no rounding.
func exactFloat32(f float32) (decimal.Decimal, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return decimal.Decimal{}, fmt.Errorf("%w: %v", ErrNotFinite, f)
	}
	bits := math.Float32bits(f)
	neg := bits>>31 != 0
	exp := int((bits >> 23) & 0xFF)
	mant := int64(bits & 0x7FFFFF)
	if exp == 0 {
		exp = 1 // subnormal: no implicit leading 1
	} else {
		mant |= 1 << 23
	}
	exp -= 127 + 23 // f = mant · 2^exp
	if neg {
		mant = -mant
	}
	m := big.NewInt(mant)
	if exp >= 0 {
		return decimal.NewFromBigInt(m.Lsh(m, uint(exp)), 0), nil
	}
	five := new(big.Int).Exp(big.NewInt(5), big.NewInt(int64(-exp)), nil)
	return decimal.NewFromBigInt(m.Mul(m, five), int32(exp)), nil
}
