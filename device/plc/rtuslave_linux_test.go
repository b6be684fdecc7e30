package plc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/simonvetter/modbus"
	"golang.org/x/sys/unix"
)

// rtuSlave is a Modbus RTU device on a pseudo-terminal: the poller opens
// the pty's slave end by name as if it were a serial port, and the test
// slave answers on the master end, decoding request frames with
// decodeRTURequest and answering from a *plc, the same memory and request
// log the Modbus TCP tests serve. The simonvetter/modbus library has an
// RTU client but no RTU server, hence this one.
type rtuSlave struct {
	path   string // the pty's slave end: the "serial port"
	unit   uint8
	plc    *plc
	master *os.File
	held   *os.File // the slave end, held open so the master never reads EIO between the poller's opens
	done   chan struct{}

	mu       sync.Mutex
	mangle   []func(reply []byte) []byte // applied to the next replies, one each
	silent   bool                        // read requests but never answer
	rejected []error                     // request frames that did not decode
}

// startRTUPLC starts a test PLC answering Modbus RTU as unit on a fresh
// pty, and stops it when the test ends.
func startRTUPLC(t *testing.T, unit uint8) *rtuSlave {
	t.Helper()
	master, held, path, err := openPTY()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pseudo-terminal for a serial line: %v; CI runs the RTU tests", err)
		}
		t.Skipf("no pseudo-terminal for a serial line: %v", err)
	}
	s := &rtuSlave{path: path, unit: unit, plc: &plc{fail: make(map[Area]error)}, master: master, held: held, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() {
		s.plc.release()
		master.Close() // ends serve's read
		<-s.done
		held.Close()
	})
	return s
}

// openPTY opens a pseudo-terminal pair and puts the slave end in raw mode,
// as device/scale's simulator does; the serial driver sets its own line
// settings when the poller opens the port.
func openPTY() (master, held *os.File, path string, err error) {
	// O_NONBLOCK lets os.NewFile use the runtime poller, so that Close
	// unblocks a pending Read.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, "", err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, "", err
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, nil, "", err
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	path = fmt.Sprintf("/dev/pts/%d", n)
	sfd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, "", err
	}
	tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err == nil {
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		err = unix.IoctlSetTermios(sfd, unix.TCSETS, tio)
	}
	if err != nil {
		unix.Close(sfd)
		master.Close()
		return nil, nil, "", err
	}
	return master, os.NewFile(uintptr(sfd), path), path, nil
}

// lineSettings returns the serial settings the port has now: the ones the
// poller's driver set, since the pty's two ends share them.
func (s *rtuSlave) lineSettings() (*unix.Termios, error) {
	return unix.IoctlGetTermios(int(s.held.Fd()), unix.TCGETS)
}

// mangleNext makes the next reply go out as f makes it.
func (s *rtuSlave) mangleNext(f func(reply []byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mangle = append(s.mangle, f)
}

func (s *rtuSlave) setSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

func (s *rtuSlave) rejectedFrames() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.rejected...)
}

// serve reads request frames until the master is closed. A frame that does
// not decode is dropped with whatever else is buffered, as a device drops
// a garbled frame and waits for the line to go quiet.
func (s *rtuSlave) serve() {
	defer close(s.done)
	var buf []byte
	chunk := make([]byte, 512)
	for {
		n, err := s.master.Read(chunk)
		if err != nil {
			return
		}
		buf = append(buf, chunk[:n]...)
		for len(buf) > 0 {
			req, size, err := decodeRTURequest(buf)
			if errors.Is(err, errNeedMore) {
				break
			}
			if err != nil {
				s.mu.Lock()
				s.rejected = append(s.rejected, err)
				s.mu.Unlock()
				buf = nil
				break
			}
			buf = buf[size:]
			if req.Unit != s.unit {
				continue // another device's frame, or a broadcast: no reply
			}
			reply := s.answer(req)
			s.mu.Lock()
			silent := s.silent
			if len(s.mangle) > 0 {
				reply = s.mangle[0](reply)
				s.mangle = s.mangle[1:]
			}
			s.mu.Unlock()
			if silent {
				continue
			}
			if _, err := s.master.Write(reply); err != nil {
				return
			}
		}
	}
}

// answer serves req from the PLC's memory through the handler methods the
// Modbus TCP server calls, so both transports see one device.
func (s *rtuSlave) answer(req rtuRequest) []byte {
	const client = "rtu"
	var bits []bool
	var regs []uint16
	var err error
	switch req.Function {
	case fnReadCoils:
		bits, err = s.plc.HandleCoils(&modbus.CoilsRequest{ClientAddr: client, UnitId: req.Unit, Addr: req.Address, Quantity: req.Quantity})
	case fnReadDiscreteInputs:
		bits, err = s.plc.HandleDiscreteInputs(&modbus.DiscreteInputsRequest{ClientAddr: client, UnitId: req.Unit, Addr: req.Address, Quantity: req.Quantity})
	case fnReadHoldingRegisters:
		regs, err = s.plc.HandleHoldingRegisters(&modbus.HoldingRegistersRequest{ClientAddr: client, UnitId: req.Unit, Addr: req.Address, Quantity: req.Quantity})
	case fnReadInputRegisters:
		regs, err = s.plc.HandleInputRegisters(&modbus.InputRegistersRequest{ClientAddr: client, UnitId: req.Unit, Addr: req.Address, Quantity: req.Quantity})
	case fnWriteSingleRegister, fnWriteMultipleRegs:
		_, err = s.plc.HandleHoldingRegisters(&modbus.HoldingRegistersRequest{
			ClientAddr: client, UnitId: req.Unit, Addr: req.Address, Quantity: uint16(len(req.Values)), IsWrite: true, Args: req.Values,
		})
	}
	if err != nil {
		code := ExceptionServerDeviceFailure
		var lib modbus.Error
		if errors.As(err, &lib) {
			if c, ok := libraryExceptions[lib]; ok {
				code = c
			}
		}
		return exceptionReply(req.Unit, req.Function, code)
	}
	switch req.Function {
	case fnReadCoils, fnReadDiscreteInputs:
		return bitsReply(req.Unit, req.Function, bits)
	case fnReadHoldingRegisters, fnReadInputRegisters:
		return registersReply(req.Unit, req.Function, regs)
	case fnWriteSingleRegister:
		return encodeRTURequest(req) // the echo of the request
	default: // fnWriteMultipleRegs: address and quantity
		b := binary.BigEndian.AppendUint16([]byte{req.Unit, req.Function}, req.Address)
		return withCRC(binary.BigEndian.AppendUint16(b, req.Quantity))
	}
}
