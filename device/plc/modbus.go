package plc

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/simonvetter/modbus"
)

// ModbusConfig says where a PLC listens for Modbus TCP and which unit on it
// to address.
type ModbusConfig struct {
	// Address is the host and port of the Modbus TCP server, such as
	// "10.0.0.5:502". Required.
	Address string
	// UnitID is the unit identifier sent with every request. 0 is sent as
	// 0: many PLCs ignore the field, but a gateway needs the real one, so it
	// is never guessed.
	UnitID uint8
}

// Errors of talking to a device. A *ConnectError wraps ErrConnect; a
// *RequestError wraps ErrTimeout, ErrProtocol or a ModbusException.
var (
	// ErrConnect means no TCP connection to the device could be made.
	ErrConnect = errors.New("modbus: cannot connect")
	// ErrTimeout means a device did not answer in time: a PLC within the
	// poller's Timeout (the connection is dropped and made again on the
	// next poll, because a late answer would otherwise be taken for the next
	// one), or a scale within its command timeout (*scale.TimeoutError).
	ErrTimeout = errors.New("plc: no answer in time")
	// ErrProtocol means the device answered with something that is not a
	// valid Modbus reply, or the connection broke.
	ErrProtocol = errors.New("modbus: protocol error")
)

// ModbusException is an exception code a device sent back instead of data.
// It is an error, so errors.Is(err, ExceptionIllegalDataAddress) tests for a
// particular one and errors.As reads the code.
type ModbusException uint8

// The exception codes of the Modbus application protocol, section 7.
const (
	ExceptionIllegalFunction         ModbusException = 0x01
	ExceptionIllegalDataAddress      ModbusException = 0x02
	ExceptionIllegalDataValue        ModbusException = 0x03
	ExceptionServerDeviceFailure     ModbusException = 0x04
	ExceptionAcknowledge             ModbusException = 0x05
	ExceptionServerDeviceBusy        ModbusException = 0x06
	ExceptionMemoryParityError       ModbusException = 0x08
	ExceptionGatewayPathUnavailable  ModbusException = 0x0A
	ExceptionGatewayTargetNoResponse ModbusException = 0x0B
)

var exceptionNames = map[ModbusException]string{
	ExceptionIllegalFunction:         "illegal function",
	ExceptionIllegalDataAddress:      "illegal data address",
	ExceptionIllegalDataValue:        "illegal data value",
	ExceptionServerDeviceFailure:     "server device failure",
	ExceptionAcknowledge:             "acknowledge",
	ExceptionServerDeviceBusy:        "server device busy",
	ExceptionMemoryParityError:       "memory parity error",
	ExceptionGatewayPathUnavailable:  "gateway path unavailable",
	ExceptionGatewayTargetNoResponse: "gateway target device failed to respond",
}

func (e ModbusException) Error() string {
	if name, ok := exceptionNames[e]; ok {
		return fmt.Sprintf("modbus exception %d (%s)", uint8(e), name)
	}
	return fmt.Sprintf("modbus exception %d", uint8(e))
}

// libraryExceptions maps the errors of github.com/simonvetter/modbus that
// stand for exception replies back to their codes.
var libraryExceptions = map[error]ModbusException{
	modbus.ErrIllegalFunction:         ExceptionIllegalFunction,
	modbus.ErrIllegalDataAddress:      ExceptionIllegalDataAddress,
	modbus.ErrIllegalDataValue:        ExceptionIllegalDataValue,
	modbus.ErrServerDeviceFailure:     ExceptionServerDeviceFailure,
	modbus.ErrAcknowledge:             ExceptionAcknowledge,
	modbus.ErrServerDeviceBusy:        ExceptionServerDeviceBusy,
	modbus.ErrMemoryParityError:       ExceptionMemoryParityError,
	modbus.ErrGWPathUnavailable:       ExceptionGatewayPathUnavailable,
	modbus.ErrGWTargetFailedToRespond: ExceptionGatewayTargetNoResponse,
}

// RequestError says which read failed and why. Err is a ModbusException,
// or wraps ErrTimeout or ErrProtocol.
type RequestError struct {
	Equipment string
	Area      Area
	Address   uint16 // first address of the request, 0-based
	Quantity  uint16
	Tags      []string // the tags the request would have read
	Err       error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("read %s %s %d+%d (%s): %v", e.Equipment, e.Area, e.Address, e.Quantity, strings.Join(e.Tags, ", "), e.Err)
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// ConnectError says that no connection to the device could be made. It
// matches ErrConnect and wraps the network error.
type ConnectError struct {
	Equipment string
	Address   string // host:port
	Err       error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("connect %s at %s: %v", e.Equipment, e.Address, e.Err)
}

// Unwrap returns ErrConnect and the network error.
func (e *ConnectError) Unwrap() []error { return []error{ErrConnect, e.Err} }

// translateModbusError maps an error of the Modbus library to this package's errors:
// the one place where the library's errors are interpreted, so none of them
// escapes as the only cause.
func translateModbusError(err error) error {
	if errors.Is(err, ErrProtocol) {
		return err
	}
	var lib modbus.Error
	if errors.As(err, &lib) {
		if code, ok := libraryExceptions[lib]; ok {
			return code
		}
		if lib == modbus.ErrRequestTimedOut {
			return fmt.Errorf("%w: %w", ErrTimeout, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrProtocol, err)
}

// reconnectAfter reports whether err leaves the connection in doubt. An
// exception reply proves the link works, so it is kept; after anything else
// the next poll connects afresh.
func reconnectAfter(err error) bool {
	var exc ModbusException
	return !errors.As(err, &exc)
}

// Request size limits of the Modbus application protocol.
const (
	maxBitsPerRequest      = 2000
	maxRegistersPerRequest = 125
)

// readRequest is one Modbus read covering the tags in it.
type readRequest struct {
	area     Area
	address  uint16
	quantity uint16
	tags     []Tag
}

// planReads groups tags into as few reads as the protocol allows: tags whose
// addresses touch or overlap share a read, up to the per-request limit. Gaps
// are never bridged, because reading an address the device lacks gets an
// exception for the whole request. Requests come in area order, then
// address order.
func planReads(tags []Tag) []readRequest {
	var reqs []readRequest
	for _, area := range []Area{AreaCoil, AreaDiscreteInput, AreaHoldingRegister, AreaInputRegister} {
		var in []Tag
		for _, t := range tags {
			if t.Area == area {
				in = append(in, t)
			}
		}
		slices.SortStableFunc(in, func(a, b Tag) int { return a.Address - b.Address })
		limit := maxRegistersPerRequest
		if area.bitArea() {
			limit = maxBitsPerRequest
		}
		var cur *readRequest
		for _, t := range in {
			start, end := t.Address, t.Address+t.Type.Width() // end is exclusive
			if cur != nil {
				curEnd := int(cur.address) + int(cur.quantity)
				newEnd := max(curEnd, end)
				if start <= curEnd && newEnd-int(cur.address) <= limit {
					cur.quantity = uint16(newEnd - int(cur.address))
					cur.tags = append(cur.tags, t)
					continue
				}
			}
			reqs = append(reqs, readRequest{area: area, address: uint16(start), quantity: uint16(end - start), tags: []Tag{t}})
			cur = &reqs[len(reqs)-1]
		}
	}
	return reqs
}

func (r readRequest) tagNames() []string {
	names := make([]string, len(r.tags))
	for i, t := range r.tags {
		names[i] = t.Name
	}
	return names
}

// modbusReader is the part of *modbus.ModbusClient a poll needs.
type modbusReader interface {
	ReadCoils(addr, quantity uint16) ([]bool, error)
	ReadDiscreteInputs(addr, quantity uint16) ([]bool, error)
	ReadRegisters(addr, quantity uint16, regType modbus.RegType) ([]uint16, error)
}

var _ modbusReader = (*modbus.ModbusClient)(nil)

// read performs r and returns the raw words of the whole range, bits as 0
// or 1. The error is a ModbusException or wraps ErrTimeout or ErrProtocol.
func (r readRequest) read(c modbusReader) ([]uint16, error) {
	words, err := r.readRaw(c)
	if err != nil {
		return nil, translateModbusError(err)
	}
	return words, nil
}

func (r readRequest) readRaw(c modbusReader) ([]uint16, error) {
	var bits []bool
	var err error
	switch r.area {
	case AreaCoil:
		bits, err = c.ReadCoils(r.address, r.quantity)
	case AreaDiscreteInput:
		bits, err = c.ReadDiscreteInputs(r.address, r.quantity)
	case AreaHoldingRegister:
		return r.checkLen(c.ReadRegisters(r.address, r.quantity, modbus.HOLDING_REGISTER))
	case AreaInputRegister:
		return r.checkLen(c.ReadRegisters(r.address, r.quantity, modbus.INPUT_REGISTER))
	}
	if err != nil {
		return nil, err
	}
	words := make([]uint16, len(bits))
	for i, b := range bits {
		if b {
			words[i] = 1
		}
	}
	return r.checkLen(words, nil)
}

// checkLen guards the slicing that follows against a library that returned
// fewer values than asked for.
func (r readRequest) checkLen(words []uint16, err error) ([]uint16, error) {
	if err != nil {
		return nil, err
	}
	if len(words) != int(r.quantity) {
		return nil, fmt.Errorf("%w: %d values for %d addresses", ErrProtocol, len(words), r.quantity)
	}
	return words, nil
}
