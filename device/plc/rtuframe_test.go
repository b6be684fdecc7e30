package plc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// This file is the wire format of the test RTU slave (rtuslave_linux_test.go):
// a decoder for the request frames a Modbus RTU master sends and encoders
// for the replies, written from the Modbus specifications (application
// protocol v1.1b3, serial line v1.02), not from the client under test, so
// that the client is checked against an independent reading of the
// protocol.

// Function codes the test slave serves.
const (
	fnReadCoils            = 0x01
	fnReadDiscreteInputs   = 0x02
	fnReadHoldingRegisters = 0x03
	fnReadInputRegisters   = 0x04
	fnWriteSingleRegister  = 0x06
	fnWriteMultipleRegs    = 0x10
)

// crc16 is CRC-16/MODBUS computed bit by bit, the slow way the serial line
// specification describes it (reflected polynomial 0xA001, initial value
// 0xFFFF), so that it is a reference and not a copy of a table-driven one.
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// withCRC appends the CRC of b, low byte first as the wire carries it.
func withCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint16(b, crc16(b))
}

// Problems with a request frame.
var (
	errNeedMore    = errors.New("rtu: incomplete frame")
	errFrameCRC    = errors.New("rtu: CRC mismatch")
	errFunction    = errors.New("rtu: unsupported function code")
	errFrameLength = errors.New("rtu: byte count does not match the quantity")
)

// rtuRequest is one request frame.
type rtuRequest struct {
	Unit     uint8
	Function uint8
	Address  uint16
	Quantity uint16   // functions 01 to 04 and 16
	Values   []uint16 // function 06 (one value) and 16
}

// decodeRTURequest decodes the request frame at the start of b and returns
// it with its length in bytes. It returns errNeedMore when b holds only the
// beginning of a frame, errFunction for a function code it does not serve
// (the frame's length is then unknown), errFrameLength for a write whose
// byte count disagrees with its quantity, and errFrameCRC when the frame is
// complete but its CRC is wrong.
func decodeRTURequest(b []byte) (rtuRequest, int, error) {
	if len(b) < 2 {
		return rtuRequest{}, 0, errNeedMore
	}
	r := rtuRequest{Unit: b[0], Function: b[1]}
	var n int // frame length with the CRC
	switch r.Function {
	case fnReadCoils, fnReadDiscreteInputs, fnReadHoldingRegisters, fnReadInputRegisters, fnWriteSingleRegister:
		n = 8
	case fnWriteMultipleRegs:
		if len(b) < 7 {
			return rtuRequest{}, 0, errNeedMore
		}
		qty, count := binary.BigEndian.Uint16(b[4:6]), int(b[6])
		if count != 2*int(qty) {
			return rtuRequest{}, 0, fmt.Errorf("%w: %d bytes for %d registers", errFrameLength, count, qty)
		}
		n = 9 + count
	default:
		return rtuRequest{}, 0, fmt.Errorf("%w: 0x%02x", errFunction, r.Function)
	}
	if len(b) < n {
		return rtuRequest{}, 0, errNeedMore
	}
	if got, want := binary.LittleEndian.Uint16(b[n-2:n]), crc16(b[:n-2]); got != want {
		return rtuRequest{}, 0, fmt.Errorf("%w: frame says %04x, bytes give %04x", errFrameCRC, got, want)
	}
	r.Address = binary.BigEndian.Uint16(b[2:4])
	switch r.Function {
	case fnWriteSingleRegister:
		r.Values = []uint16{binary.BigEndian.Uint16(b[4:6])}
	case fnWriteMultipleRegs:
		r.Quantity = binary.BigEndian.Uint16(b[4:6])
		for i := range int(r.Quantity) {
			r.Values = append(r.Values, binary.BigEndian.Uint16(b[7+2*i:]))
		}
	default:
		r.Quantity = binary.BigEndian.Uint16(b[4:6])
	}
	return r, n, nil
}

// encodeRTURequest is the inverse of decodeRTURequest, for tests of the
// decoder; r must use a served function code.
func encodeRTURequest(r rtuRequest) []byte {
	b := []byte{r.Unit, r.Function}
	b = binary.BigEndian.AppendUint16(b, r.Address)
	switch r.Function {
	case fnWriteSingleRegister:
		b = binary.BigEndian.AppendUint16(b, r.Values[0])
	case fnWriteMultipleRegs:
		b = binary.BigEndian.AppendUint16(b, r.Quantity)
		b = append(b, byte(2*len(r.Values)))
		for _, v := range r.Values {
			b = binary.BigEndian.AppendUint16(b, v)
		}
	default:
		b = binary.BigEndian.AppendUint16(b, r.Quantity)
	}
	return withCRC(b)
}

// bitsReply answers function 01 or 02: the bits packed eight to a byte,
// the lowest address in the lowest bit.
func bitsReply(unit, fn uint8, bits []bool) []byte {
	packed := make([]byte, (len(bits)+7)/8)
	for i, v := range bits {
		if v {
			packed[i/8] |= 1 << (i % 8)
		}
	}
	return withCRC(append([]byte{unit, fn, byte(len(packed))}, packed...))
}

// registersReply answers function 03 or 04.
func registersReply(unit, fn uint8, regs []uint16) []byte {
	b := []byte{unit, fn, byte(2 * len(regs))}
	for _, v := range regs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return withCRC(b)
}

// exceptionReply answers any function with an exception code.
func exceptionReply(unit, fn uint8, code ModbusException) []byte {
	return withCRC([]byte{unit, fn | 0x80, byte(code)})
}

func TestCRC16KnownValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []byte
		want uint16
	}{
		// The check value of CRC-16/MODBUS in the catalogue of CRCs.
		{[]byte("123456789"), 0x4B37},
		// Read 10 holding registers of unit 1 from 0, as printed in
		// vendors' manuals: 01 03 00 00 00 0A C5 CD.
		{[]byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A}, 0xCDC5},
		{nil, 0xFFFF},
	}
	for _, tt := range tests {
		if got := crc16(tt.in); got != tt.want {
			t.Errorf("crc16(% x) = %04x, want %04x", tt.in, got, tt.want)
		}
	}
	if diff := cmp.Diff([]byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD}, withCRC([]byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A})); diff != "" {
		t.Errorf("withCRC: wire order (-want +got):\n%s", diff)
	}
}

func TestDecodeRTURequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame []byte
		want  rtuRequest
		n     int
		err   error
	}{
		{"ReadHolding", []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD}, rtuRequest{Unit: 1, Function: 3, Quantity: 10}, 8, nil},
		{"ReadCoilsThenMore", append(withCRC([]byte{7, 1, 0, 19, 0, 37}), 0xAA), rtuRequest{Unit: 7, Function: 1, Address: 19, Quantity: 37}, 8, nil},
		{"WriteSingle", withCRC([]byte{7, 6, 0, 1, 0x12, 0x34}), rtuRequest{Unit: 7, Function: 6, Address: 1, Values: []uint16{0x1234}}, 8, nil},
		{"WriteMultiple", withCRC([]byte{7, 0x10, 0, 4, 0, 2, 4, 0, 1, 0xFF, 0xFE}), rtuRequest{Unit: 7, Function: 16, Address: 4, Quantity: 2, Values: []uint16{1, 0xFFFE}}, 13, nil},
		{"Empty", nil, rtuRequest{}, 0, errNeedMore},
		{"HalfARead", []byte{7, 3, 0, 0}, rtuRequest{}, 0, errNeedMore},
		{"HalfAWriteHeader", []byte{7, 0x10, 0, 4, 0}, rtuRequest{}, 0, errNeedMore},
		{"BadCRC", []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCE}, rtuRequest{}, 0, errFrameCRC},
		{"UnknownFunction", withCRC([]byte{7, 0x2B, 0x0E, 1, 0}), rtuRequest{}, 0, errFunction},
		{"ByteCountDisagrees", withCRC([]byte{7, 0x10, 0, 4, 0, 2, 3, 0, 1, 0xFF}), rtuRequest{}, 0, errFrameLength},
	}
	for _, tt := range tests {
		got, n, err := decodeRTURequest(tt.frame)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" || n != tt.n {
			t.Errorf("%s: length %d, want %d; request (-want +got):\n%s", tt.name, n, tt.n, diff)
		}
	}
}

// drawRTURequest draws a request of any function the slave serves.
func drawRTURequest(t *rapid.T) rtuRequest {
	r := rtuRequest{
		Unit:     rapid.Uint8().Draw(t, "unit"),
		Function: rapid.SampledFrom([]uint8{fnReadCoils, fnReadDiscreteInputs, fnReadHoldingRegisters, fnReadInputRegisters, fnWriteSingleRegister, fnWriteMultipleRegs}).Draw(t, "function"),
		Address:  rapid.Uint16().Draw(t, "address"),
	}
	switch r.Function {
	case fnWriteSingleRegister:
		r.Values = []uint16{rapid.Uint16().Draw(t, "value")}
	case fnWriteMultipleRegs:
		r.Values = rapid.SliceOfN(rapid.Uint16(), 1, 123).Draw(t, "values")
		r.Quantity = uint16(len(r.Values))
	default:
		r.Quantity = rapid.Uint16().Draw(t, "quantity")
	}
	return r
}

// TestRTURequestRoundTrip: every request encodes to a frame that decodes
// to the same request, whole, and to errNeedMore when cut short anywhere.
func TestRTURequestRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		r := drawRTURequest(t)
		frame := encodeRTURequest(r)
		got, n, err := decodeRTURequest(frame)
		if err != nil || n != len(frame) {
			t.Fatalf("decode(% x) = %d bytes, %v; want %d bytes", frame, n, err, len(frame))
		}
		if diff := cmp.Diff(r, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		cut := rapid.IntRange(0, len(frame)-1).Draw(t, "cut")
		if _, _, err := decodeRTURequest(frame[:cut]); !errors.Is(err, errNeedMore) {
			t.Fatalf("decode of the first %d of %d bytes: %v, want errNeedMore", cut, len(frame), err)
		}
	})
}

// TestRTUFlippedBitIsRejected: a frame with any one bit flipped is never
// accepted, whatever the bit: CRC-16 catches every single-bit error, and
// a flip that changes the function code or the byte count of a write
// makes a frame the slave cannot take, or one whose CRC then fails.
func TestRTUFlippedBitIsRejected(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		frame := encodeRTURequest(drawRTURequest(t))
		bit := rapid.IntRange(0, 8*len(frame)-1).Draw(t, "bit")
		frame[bit/8] ^= 1 << (bit % 8)
		if got, n, err := decodeRTURequest(frame); err == nil {
			t.Fatalf("frame with bit %d flipped was accepted as %d of %d bytes: %+v", bit, n, len(frame), got)
		}
	})
}

// FuzzDecodeRTURequest: the decoder never panics, reports a length within
// the input, and what it accepts encodes back to the same bytes.
func FuzzDecodeRTURequest(f *testing.F) {
	f.Add([]byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD})
	f.Add(withCRC([]byte{7, 0x10, 0, 4, 0, 2, 4, 0, 1, 0xFF, 0xFE}))
	f.Add(withCRC([]byte{7, 0x10, 0, 4, 0, 0x80, 0, 0}))
	f.Add([]byte{7, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := decodeRTURequest(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			return
		}
		if n < 8 || n > len(b) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if diff := cmp.Diff(b[:n], encodeRTURequest(r)); diff != "" {
			t.Fatalf("re-encoding %+v (-input +encoded):\n%s", r, diff)
		}
	})
}
