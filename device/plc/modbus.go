package plc

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/simonvetter/modbus"
)

// ModbusConfig says how to reach a PLC and which unit to address: over
// Modbus TCP at Address, or over Modbus RTU on the serial line Serial.
// Exactly one of the two is set.
type ModbusConfig struct {
	// Address is the host and port of the Modbus TCP server, such as
	// "10.0.0.5:502". Required for Modbus TCP; empty for Modbus RTU.
	Address string
	// Serial is the serial line of a Modbus RTU device. Required for
	// Modbus RTU; nil for Modbus TCP.
	Serial *SerialConfig
	// UnitID is the unit identifier sent with every request. Over TCP, 0
	// is sent as 0: many PLCs ignore the field, but a gateway needs the
	// real one, so it is never guessed. Over RTU it is the device's
	// address on the bus and must be 1 to 247: 0 is the broadcast
	// address, which no device answers, and 248 to 255 are reserved.
	UnitID uint8
}

// SerialConfig is the serial line of a Modbus RTU device. Every field is
// required and must match the device's settings: the Modbus serial line
// specification's default (even parity, 1 stop bit) and common practice
// (no parity, 1 or 2 stop bits) disagree, and a mismatch shows only as
// garbled frames, so nothing is guessed. RTU always uses 8 data bits.
//
// The response timeout is PollerConfig.Timeout, as over TCP.
type SerialConfig struct {
	// Device is the serial port, such as "/dev/ttyUSB0" or
	// "/dev/serial/by-id/usb-FTDI_…". Required.
	Device string
	// Baud is the line speed in bits per second: one of 1200, 2400, 4800,
	// 9600, 19200, 38400, 57600, 115200 or 230400.
	Baud int
	// Parity is ParityEven, ParityOdd or ParityNone.
	Parity Parity
	// StopBits is 1 or 2.
	StopBits int
}

// Parity is the parity bit of a serial character.
type Parity string

// The parities of a Modbus serial line.
const (
	ParityNone Parity = "none"
	ParityEven Parity = "even"
	ParityOdd  Parity = "odd"
)

// serialBauds are the line speeds a SerialConfig may name: the standard
// rates that the serial driver can set on Linux, macOS, the BSDs and
// Windows alike, so that a configuration valid here opens everywhere.
var serialBauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400}

// Unit addresses of a Modbus serial line (Modbus over Serial Line v1.02,
// section 2.2): 0 is broadcast, 248 to 255 are reserved.
const (
	minRTUUnit = 1
	maxRTUUnit = 247
)

// check returns a sentence for each problem of s, naming the field.
func (s *SerialConfig) check() []string {
	var ps []string
	if strings.TrimSpace(s.Device) == "" {
		ps = append(ps, "ModbusConfig.Serial.Device is empty; want a serial port such as /dev/ttyUSB0")
	}
	if !slices.Contains(serialBauds, s.Baud) {
		ps = append(ps, fmt.Sprintf("ModbusConfig.Serial.Baud %d is not a standard rate; want one of %v", s.Baud, serialBauds))
	}
	switch s.Parity {
	case ParityNone, ParityEven, ParityOdd:
	default:
		ps = append(ps, fmt.Sprintf("ModbusConfig.Serial.Parity %q; want even, odd or none", s.Parity))
	}
	if s.StopBits != 1 && s.StopBits != 2 {
		ps = append(ps, fmt.Sprintf("ModbusConfig.Serial.StopBits %d; want 1 or 2", s.StopBits))
	}
	return ps
}

// libraryParity is p in the Modbus library's terms; p must be valid.
func (p Parity) libraryParity() uint {
	switch p {
	case ParityEven:
		return modbus.PARITY_EVEN
	case ParityOdd:
		return modbus.PARITY_ODD
	}
	return modbus.PARITY_NONE
}

// check returns a sentence for each problem of c, naming the field.
func (c ModbusConfig) check() []string {
	switch {
	case c.Serial != nil && c.Address != "":
		return []string{fmt.Sprintf("ModbusConfig has both Address %q (Modbus TCP) and Serial (Modbus RTU); set one", c.Address)}
	case c.Serial != nil:
		ps := c.Serial.check()
		if c.UnitID < minRTUUnit || c.UnitID > maxRTUUnit {
			why := "reserved on a serial line"
			if c.UnitID == 0 {
				why = "the broadcast address, which no device answers"
			}
			ps = append(ps, fmt.Sprintf("ModbusConfig.UnitID %d is %s; want %d to %d for Modbus RTU", c.UnitID, why, minRTUUnit, maxRTUUnit))
		}
		return ps
	case c.Address == "":
		return []string{`ModbusConfig.Address "" is not host:port; set it for Modbus TCP, or set Serial for Modbus RTU`}
	}
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		return []string{fmt.Sprintf("ModbusConfig.Address %q is not host:port", c.Address)}
	}
	return nil
}

// clientConfig returns the Modbus library's configuration for c, which
// must be valid, with timeout as the response timeout.
func (c ModbusConfig) clientConfig(timeout time.Duration) *modbus.ClientConfiguration {
	cc := &modbus.ClientConfiguration{
		URL:     "tcp://" + c.Address,
		Timeout: timeout,
		// The library logs to stdout unless told otherwise; errors reach
		// the caller as values instead.
		Logger: log.New(io.Discard, "", 0),
	}
	if s := c.Serial; s != nil {
		// Every serial setting is passed explicitly, so none of the
		// library's own defaults (19200 baud, 8N2) can apply.
		cc.URL = "rtu://" + s.Device
		cc.Speed = uint(s.Baud)
		cc.DataBits = 8
		cc.Parity = s.Parity.libraryParity()
		cc.StopBits = uint(s.StopBits)
	}
	return cc
}

// where names the device's end of the link: host:port or the serial port.
func (c ModbusConfig) where() string {
	if c.Serial != nil {
		return c.Serial.Device
	}
	return c.Address
}

// Errors of talking to a device. A *ConnectError wraps ErrConnect; a
// *RequestError wraps ErrTimeout, ErrProtocol (or ErrCRC, which matches
// ErrProtocol) or a ModbusException.
var (
	// ErrConnect means no TCP connection to the device could be made, or
	// its serial port could not be opened.
	ErrConnect = errors.New("modbus: cannot connect")
	// ErrTimeout means a device did not answer in time: a PLC within the
	// poller's Timeout (the connection is dropped and made again on the
	// next poll, because a late answer would otherwise be taken for the next
	// one), or a scale within its command timeout (*scale.TimeoutError).
	ErrTimeout = errors.New("plc: no answer in time")
	// ErrProtocol means the device answered with something that is not a
	// valid Modbus reply, or the connection broke.
	ErrProtocol = errors.New("modbus: protocol error")
	// ErrCRC means a Modbus RTU reply arrived whose CRC does not match its
	// bytes: noise on the line, a wrong baud rate or parity, or two
	// devices answering at once. It matches ErrProtocol too.
	ErrCRC = fmt.Errorf("%w: RTU reply failed its CRC check", ErrProtocol)
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
	Address   string // host:port, or the serial port of a Modbus RTU device
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
		switch lib {
		case modbus.ErrRequestTimedOut:
			return fmt.Errorf("%w: %w", ErrTimeout, err)
		case modbus.ErrBadCRC:
			return ErrCRC
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
