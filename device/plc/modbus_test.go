package plc

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/simonvetter/modbus"
)

func TestPlanReads(t *testing.T) {
	t.Parallel()
	reg := func(name string, addr int, typ DataType) Tag {
		t := Tag{Name: name, Area: AreaHoldingRegister, Address: addr, Type: typ}
		if typ.Width() == 2 {
			t.WordOrder = HighWordFirst
		}
		return t
	}
	coil := func(name string, addr int) Tag { return Tag{Name: name, Area: AreaCoil, Address: addr, Type: TypeBool} }
	type span struct {
		Area     Area
		Address  uint16
		Quantity uint16
		Tags     []string
	}
	var wide []Tag // 130 contiguous registers: more than one request may carry
	for i := range 130 {
		wide = append(wide, reg(fmt.Sprint("r", i), i, TypeUint16))
	}
	var bits []Tag // 2001 contiguous coils
	for i := range 2001 {
		bits = append(bits, coil(fmt.Sprint("c", i), i))
	}
	names := func(prefix string, from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprint(prefix, i))
		}
		return out
	}
	tests := []struct {
		name string
		tags []Tag
		want []span
	}{
		{name: "Nothing"},
		{name: "OneTag", tags: []Tag{reg("a", 40, TypeFloat32)},
			want: []span{{AreaHoldingRegister, 40, 2, []string{"a"}}}},
		{name: "ContiguousJoin", tags: []Tag{reg("b", 2, TypeInt32), reg("a", 0, TypeInt32), reg("c", 4, TypeInt16)},
			want: []span{{AreaHoldingRegister, 0, 5, []string{"a", "b", "c"}}}},
		{name: "GapSplits", tags: []Tag{reg("a", 0, TypeInt16), reg("b", 2, TypeInt16)},
			want: []span{{AreaHoldingRegister, 0, 1, []string{"a"}}, {AreaHoldingRegister, 2, 1, []string{"b"}}}},
		{name: "OverlapJoins", tags: []Tag{reg("a", 10, TypeUint32), reg("lo", 11, TypeUint16), reg("b", 12, TypeInt16)},
			want: []span{{AreaHoldingRegister, 10, 3, []string{"a", "lo", "b"}}}},
		{name: "ContainedTagDoesNotShrink", tags: []Tag{reg("a", 10, TypeUint32), reg("hi", 10, TypeUint16)},
			want: []span{{AreaHoldingRegister, 10, 2, []string{"a", "hi"}}}},
		{name: "AreasNeverMix", tags: []Tag{
			{Name: "i", Area: AreaInputRegister, Address: 1, Type: TypeInt16},
			reg("h", 0, TypeInt16),
			{Name: "d", Area: AreaDiscreteInput, Address: 0, Type: TypeBool},
			coil("c", 1),
		}, want: []span{
			{AreaCoil, 1, 1, []string{"c"}},
			{AreaDiscreteInput, 0, 1, []string{"d"}},
			{AreaHoldingRegister, 0, 1, []string{"h"}},
			{AreaInputRegister, 1, 1, []string{"i"}},
		}},
		{name: "RegisterLimit", tags: wide, want: []span{
			{AreaHoldingRegister, 0, 125, names("r", 0, 125)},
			{AreaHoldingRegister, 125, 5, names("r", 125, 130)},
		}},
		{name: "ThirtyTwoBitAtTheLimitMovesWhole", tags: append(wide[:124:124], reg("x", 124, TypeUint32)),
			want: []span{{AreaHoldingRegister, 0, 124, names("r", 0, 124)}, {AreaHoldingRegister, 124, 2, []string{"x"}}}},
		{name: "BitLimit", tags: bits, want: []span{
			{AreaCoil, 0, 2000, names("c", 0, 2000)},
			{AreaCoil, 2000, 1, []string{"c2000"}},
		}},
		{name: "TopOfAddressSpace", tags: []Tag{reg("a", 65534, TypeUint32)},
			want: []span{{AreaHoldingRegister, 65534, 2, []string{"a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewTagMap(tt.tags); err != nil {
				t.Fatalf("test tags are invalid: %v", err)
			}
			var got []span
			for _, r := range planReads(tt.tags) {
				got = append(got, span{r.area, r.address, r.quantity, r.tagNames()})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   error
		want error
	}{
		{modbus.ErrIllegalFunction, ExceptionIllegalFunction},
		{modbus.ErrIllegalDataAddress, ExceptionIllegalDataAddress},
		{modbus.ErrIllegalDataValue, ExceptionIllegalDataValue},
		{modbus.ErrServerDeviceFailure, ExceptionServerDeviceFailure},
		{modbus.ErrAcknowledge, ExceptionAcknowledge},
		{modbus.ErrServerDeviceBusy, ExceptionServerDeviceBusy},
		{modbus.ErrMemoryParityError, ExceptionMemoryParityError},
		{modbus.ErrGWPathUnavailable, ExceptionGatewayPathUnavailable},
		{modbus.ErrGWTargetFailedToRespond, ExceptionGatewayTargetNoResponse},
		{modbus.ErrRequestTimedOut, ErrTimeout},
		{modbus.ErrProtocolError, ErrProtocol},
		{modbus.ErrBadCRC, ErrCRC},
		{modbus.ErrBadCRC, ErrProtocol},
		{modbus.ErrShortFrame, ErrProtocol},
		{modbus.ErrBadUnitId, ErrProtocol},
		{errors.New("unknown exception code (12)"), ErrProtocol},
		{fmt.Errorf("%w: short", ErrProtocol), ErrProtocol},
	}
	for _, tt := range tests {
		got := translateModbusError(tt.in)
		if !errors.Is(got, tt.want) {
			t.Errorf("translateModbusError(%v) = %v, want %v", tt.in, got, tt.want)
		}
		var exc ModbusException
		if isExc := errors.As(tt.want, &exc); isExc == reconnectAfter(got) {
			t.Errorf("reconnectAfter(%v) = %v; exceptions keep the connection, nothing else does", got, reconnectAfter(got))
		}
	}
}

func TestModbusExceptionMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   ModbusException
		want string
	}{
		{ExceptionIllegalDataAddress, "modbus exception 2 (illegal data address)"},
		{ExceptionGatewayTargetNoResponse, "modbus exception 11 (gateway target device failed to respond)"},
		{ModbusException(0x42), "modbus exception 66"},
	}
	for _, tt := range tests {
		if got := tt.in.Error(); got != tt.want {
			t.Errorf("ModbusException(%d).Error() = %q, want %q", uint8(tt.in), got, tt.want)
		}
	}
}
