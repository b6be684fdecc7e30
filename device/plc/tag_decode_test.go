package plc

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

func TestDecodeTag(t *testing.T) {
	t.Parallel()
	reg := func(typ DataType, order WordOrder, scale string) Tag {
		t := Tag{Name: "v", Area: AreaHoldingRegister, Type: typ, WordOrder: order}
		if scale != "" {
			t.Scale = scaleOf(scale)
		}
		return t
	}
	f32 := func(f float32, order WordOrder) []uint16 {
		b := math.Float32bits(f)
		if order == LowWordFirst {
			return []uint16{uint16(b), uint16(b >> 16)}
		}
		return []uint16{uint16(b >> 16), uint16(b)}
	}
	tests := []struct {
		name string
		tag  Tag
		raw  []uint16
		want string
	}{
		{"BoolCoilOn", Tag{Name: "b", Area: AreaCoil, Type: TypeBool}, []uint16{1}, "1"},
		{"BoolDiscreteOff", Tag{Name: "b", Area: AreaDiscreteInput, Type: TypeBool}, []uint16{0}, "0"},
		{"Int16Positive", reg(TypeInt16, "", ""), []uint16{1234}, "1234"},
		{"Int16Negative", reg(TypeInt16, "", ""), []uint16{0xFFFE}, "-2"},
		{"Int16Min", reg(TypeInt16, "", ""), []uint16{0x8000}, "-32768"},
		{"Int16Scaled", reg(TypeInt16, "", "0.1"), []uint16{0xFF85}, "-12.3"},
		{"Uint16Max", reg(TypeUint16, "", ""), []uint16{0xFFFF}, "65535"},
		{"Uint16Scaled", reg(TypeUint16, "", "0.01"), []uint16{12345}, "123.45"},
		{"Uint16NegativeScale", reg(TypeUint16, "", "-2"), []uint16{21}, "-42"},
		{"Int32HighFirst", reg(TypeInt32, HighWordFirst, ""), []uint16{0x0001, 0x0002}, "65538"},
		{"Int32LowFirst", reg(TypeInt32, LowWordFirst, ""), []uint16{0x0002, 0x0001}, "65538"},
		{"Int32NegativeHighFirst", reg(TypeInt32, HighWordFirst, ""), []uint16{0xFFFF, 0xFFFD}, "-3"},
		{"Int32NegativeLowFirst", reg(TypeInt32, LowWordFirst, ""), []uint16{0xFFFD, 0xFFFF}, "-3"},
		{"Int32MinScaled", reg(TypeInt32, HighWordFirst, "0.5"), []uint16{0x8000, 0x0000}, "-1073741824"},
		{"Uint32HighFirst", reg(TypeUint32, HighWordFirst, ""), []uint16{0xFFFF, 0xFFFE}, "4294967294"},
		{"Uint32LowFirst", reg(TypeUint32, LowWordFirst, ""), []uint16{0xFFFE, 0xFFFF}, "4294967294"},
		{"Uint32Scaled", reg(TypeUint32, LowWordFirst, "0.001"), []uint16{0x86A0, 0x0001}, "100"},
		{"Float32HighFirst", reg(TypeFloat32, HighWordFirst, ""), f32(1.5, HighWordFirst), "1.5"},
		{"Float32LowFirst", reg(TypeFloat32, LowWordFirst, ""), f32(-2.25, LowWordFirst), "-2.25"},
		{"Float32Exact", reg(TypeFloat32, HighWordFirst, ""), f32(0.1, HighWordFirst), "0.100000001490116119384765625"},
		{"Float32ExactScaled", reg(TypeFloat32, LowWordFirst, "10"), f32(0.1, LowWordFirst), "1.00000001490116119384765625"},
		{"Float32Large", reg(TypeFloat32, HighWordFirst, ""), f32(math.MaxFloat32, HighWordFirst), "340282346638528859811704183484516925440"},
		{"Float32SmallestSubnormal", reg(TypeFloat32, HighWordFirst, ""), []uint16{0, 1},
			"0.000000000000000000000000000000000000000000001401298464324817070923729583289916131280261941876515771757068283889791082685860601486638188362121582031250"},
		{"Float32NegativeZero", reg(TypeFloat32, HighWordFirst, ""), []uint16{0x8000, 0}, "0"},
		{"Float32Integer", reg(TypeFloat32, HighWordFirst, "0.25"), f32(1000, HighWordFirst), "250"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeTag(tt.tag, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if want := decimal.RequireFromString(tt.want); !got.Equal(want) {
				t.Errorf("DecodeTag = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecodeTagErrors(t *testing.T) {
	t.Parallel()
	float := Tag{Name: "f", Area: AreaInputRegister, Type: TypeFloat32, WordOrder: HighWordFirst}
	tests := []struct {
		name string
		tag  Tag
		raw  []uint16
		want error
	}{
		{"NaN", float, []uint16{0x7FC0, 0}, ErrNotFinite},
		{"PlusInf", float, []uint16{0x7F80, 0}, ErrNotFinite},
		{"MinusInfLowFirst", Tag{Name: "f", Area: AreaInputRegister, Type: TypeFloat32, WordOrder: LowWordFirst}, []uint16{0, 0xFF80}, ErrNotFinite},
		{"TooFewWords", float, []uint16{1}, ErrRawLength},
		{"TooManyWords", Tag{Name: "i", Area: AreaInputRegister, Type: TypeInt16}, []uint16{1, 2}, ErrRawLength},
		{"NoBits", Tag{Name: "b", Area: AreaCoil, Type: TypeBool}, nil, ErrRawLength},
		{"BitNotZeroOrOne", Tag{Name: "b", Area: AreaCoil, Type: TypeBool}, []uint16{2}, ErrRawBit},
		{"InvalidTag", Tag{Name: "i", Area: AreaCoil, Type: TypeInt16}, []uint16{1}, ErrInvalidTag},
		{"MissingWordOrder", Tag{Name: "i", Area: AreaHoldingRegister, Type: TypeInt32}, []uint16{1, 2}, ErrInvalidTag},
		{"ZeroScale", Tag{Name: "i", Area: AreaHoldingRegister, Type: TypeInt16, Scale: scaleOf("0")}, []uint16{1}, ErrInvalidTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeTag(tt.tag, tt.raw)
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeTag = %s, %v; want error %v", got, err, tt.want)
			}
		})
	}
}

// referenceDecode is a deliberately plain second decoder: it lays the words
// out as bytes and lets encoding/binary and big.Rat do the work, so a bug in
// DecodeTag's bit twiddling or exact float conversion shows as a mismatch.
func referenceDecode(t Tag, raw []uint16) (*big.Rat, bool) {
	b := make([]byte, 2*len(raw))
	for i, w := range raw {
		binary.BigEndian.PutUint16(b[2*i:], w)
	}
	if len(raw) == 2 && t.WordOrder == LowWordFirst {
		b = append(b[2:4], b[0:2]...)
	}
	r := new(big.Rat)
	switch t.Type {
	case TypeBool, TypeUint16:
		r.SetInt64(int64(binary.BigEndian.Uint16(b)))
	case TypeInt16:
		r.SetInt64(int64(int16(binary.BigEndian.Uint16(b))))
	case TypeUint32:
		r.SetInt64(int64(binary.BigEndian.Uint32(b)))
	case TypeInt32:
		r.SetInt64(int64(int32(binary.BigEndian.Uint32(b))))
	case TypeFloat32:
		f := math.Float32frombits(binary.BigEndian.Uint32(b))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, false
		}
		r.SetFloat64(float64(f)) // a float32 widens to float64 exactly
	}
	if t.Scale != nil && t.Type != TypeBool {
		r.Mul(r, t.Scale.Rat())
	}
	return r, true
}

func FuzzDecodeTag(f *testing.F) {
	f.Add("holding-register", "float32", "high-word-first", "0.1", 0, uint16(0x3DCC), uint16(0xCCCD), uint8(2))
	f.Add("input-register", "int32", "low-word-first", "", 65534, uint16(0xFFFF), uint16(0x8000), uint8(2))
	f.Add("coil", "bool", "", "", 5, uint16(1), uint16(0), uint8(1))
	f.Add("holding-register", "int16", "", "-1e-3", 7, uint16(0x8000), uint16(0), uint8(1))
	f.Add("input-register", "uint32", "high-word-first", "1e64", 1, uint16(0xFFFF), uint16(0xFFFF), uint8(2))
	f.Add("holding-register", "float32", "low-word-first", "", 0, uint16(0), uint16(0x7F80), uint8(2))
	f.Fuzz(func(t *testing.T, area, typ, order, scale string, addr int, w0, w1 uint16, n uint8) {
		tag := Tag{Name: "fuzz", Area: Area(area), Type: DataType(typ), WordOrder: WordOrder(order), Address: addr}
		if scale != "" {
			s, err := decimal.NewFromString(scale)
			if err != nil {
				return
			}
			tag.Scale = &s
		}
		raw := []uint16{w0, w1, w0}[:min(int(n), 3)]
		got, err := DecodeTag(tag, raw)
		valid := len(tag.check(0)) == 0
		if !valid {
			if !errors.Is(err, ErrInvalidTag) {
				t.Fatalf("invalid tag %+v decoded to %s, %v", tag, got, err)
			}
			return
		}
		if len(raw) != tag.Type.Width() {
			if !errors.Is(err, ErrRawLength) {
				t.Fatalf("%d words for %s decoded to %s, %v", len(raw), tag.Type, got, err)
			}
			return
		}
		if tag.Type == TypeBool && raw[0] > 1 {
			if !errors.Is(err, ErrRawBit) {
				t.Fatalf("bit %d decoded to %s, %v", raw[0], got, err)
			}
			return
		}
		want, finite := referenceDecode(tag, raw)
		if !finite {
			if !errors.Is(err, ErrNotFinite) {
				t.Fatalf("non-finite float decoded to %s, %v", got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("DecodeTag(%+v, %v): %v", tag, raw, err)
		}
		if got.Rat().Cmp(want) != 0 {
			t.Fatalf("DecodeTag(%+v, %v) = %s, reference says %s", tag, raw, got, want.FloatString(160))
		}
	})
}
