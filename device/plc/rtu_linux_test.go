package plc

import (
	"context"
	"errors"
	"io"
	"log"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/device/packml"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/simonvetter/modbus"
	"golang.org/x/sys/unix"
)

// testLine is the serial line of most RTU tests: fast, so that the
// library's inter-frame delays stay short.
var testLine = SerialConfig{Baud: 115200, Parity: ParityEven, StopBits: 1}

func newRTUTestPoller(t *testing.T, s *rtuSlave, unit uint8, line SerialConfig, m *TagMap, timeout time.Duration) *Poller {
	t.Helper()
	line.Device = s.path
	pl, err := NewPoller(ModbusConfig{Serial: &line, UnitID: unit}, m, &PollerConfig{
		EquipmentID: "FILLER-1",
		Interval:    10 * time.Millisecond,
		Timeout:     timeout,
		Clock:       pollClock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	return pl
}

// TestRTUSlaveAgainstLibraryClient checks the test slave against the
// library's own RTU client, every function it serves, before the slave is
// trusted to test the poller.
func TestRTUSlaveAgainstLibraryClient(t *testing.T) {
	t.Parallel()
	s := startRTUPLC(t, 7)
	s.plc.set(func(p *plc) {
		p.writable = true
		p.coils[3], p.coils[10] = true, true
		p.discrete[1] = true
		p.holding[5] = 0xBEEF
		p.input[2] = 42
	})
	c, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL: "rtu://" + s.path, Speed: 115200, DataBits: 8, Parity: modbus.PARITY_EVEN, StopBits: 1,
		Timeout: time.Second, Logger: log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetUnitId(7); err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	coils, err := c.ReadCoils(0, 11)
	if diff := cmp.Diff([]bool{false, false, false, true, false, false, false, false, false, false, true}, coils); err != nil || diff != "" {
		t.Errorf("ReadCoils: %v (-want +got):\n%s", err, diff)
	}
	inputs, err := c.ReadDiscreteInputs(0, 3)
	if diff := cmp.Diff([]bool{false, true, false}, inputs); err != nil || diff != "" {
		t.Errorf("ReadDiscreteInputs: %v (-want +got):\n%s", err, diff)
	}
	regs, err := c.ReadRegisters(4, 2, modbus.HOLDING_REGISTER)
	if diff := cmp.Diff([]uint16{0, 0xBEEF}, regs); err != nil || diff != "" {
		t.Errorf("read holding registers: %v (-want +got):\n%s", err, diff)
	}
	regs, err = c.ReadRegisters(2, 1, modbus.INPUT_REGISTER)
	if diff := cmp.Diff([]uint16{42}, regs); err != nil || diff != "" {
		t.Errorf("read input registers: %v (-want +got):\n%s", err, diff)
	}
	if err := c.WriteRegister(100, 0x1234); err != nil {
		t.Errorf("WriteRegister (06): %v", err)
	}
	if err := c.WriteRegisters(200, []uint16{1, 2, 0xFFFF}); err != nil {
		t.Errorf("WriteRegisters (16): %v", err)
	}
	var written [4]uint16
	s.plc.set(func(p *plc) { written = [4]uint16{p.holding[100], p.holding[200], p.holding[201], p.holding[202]} })
	if written != [4]uint16{0x1234, 1, 2, 0xFFFF} {
		t.Errorf("registers after the writes: %#v", written)
	}
	if _, err := c.ReadRegisters(plcSize-1, 2, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("read past the end: %v, want the illegal-data-address exception", err)
	}
	s.plc.set(func(p *plc) { p.writable = false })
	if err := c.WriteRegister(100, 1); !errors.Is(err, modbus.ErrIllegalFunction) {
		t.Errorf("write to a read-only PLC: %v, want the illegal-function exception", err)
	}
	if r := s.rejectedFrames(); len(r) != 0 {
		t.Errorf("the slave rejected frames of the library's client: %v", r)
	}
}

// TestPollerRTUSameEventsAsTCP drives one PLC memory over Modbus TCP and
// another over Modbus RTU through the same changes, and wants the same
// events, the same errors and the same reads from both.
func TestPollerRTUSameEventsAsTCP(t *testing.T) {
	t.Parallel()
	tcp := startPLC(t)
	rtu := startRTUPLC(t, 7)
	tcpPoller := newTestPoller(t, tcp, lineTags(t), time.Second)
	rtuPoller := newRTUTestPoller(t, rtu, 7, testLine, lineTags(t), time.Second)
	target := float32Words(250.5)
	steps := []struct {
		name   string
		change func(p *plc)
		kinds  []EventKind // what both must report, so that equality is not of two empty lists
	}{
		{"FirstPoll", func(p *plc) {
			p.coils[0] = true
			p.holding[1] = 6 // Execute
			p.holding[2], p.holding[3] = 0, 1000
			p.holding[4] = 3
			p.holding[10], p.holding[11] = target[0], target[1]
		}, []EventKind{EventRunning, EventPackMLState, EventParameterChange}},
		{"NothingChanged", nil, nil},
		{"PartsMade", func(p *plc) { p.holding[2], p.holding[3] = 1, 4; p.holding[4] = 5 }, []EventKind{EventCounts}},
		{"FaultStopsTheLine", func(p *plc) { p.coils[0] = false; p.holding[0] = 42; p.holding[1] = 11 },
			[]EventKind{EventStopped, EventFault, EventPackMLState}},
		{"DeviceBusy", func(p *plc) { p.fail[AreaHoldingRegister] = modbus.ErrServerDeviceBusy }, []EventKind{EventFault}},
		{"Recovered", func(p *plc) { p.fail[AreaHoldingRegister] = nil; p.holding[0] = 0; p.holding[1] = 4 },
			[]EventKind{EventFaultCleared, EventFaultCleared, EventPackMLState}},
		{"UndefinedState", func(p *plc) { p.holding[1] = 0 }, []EventKind{EventInvalidValue}},
		{"NewTarget", func(p *plc) { w := float32Words(251); p.holding[10], p.holding[11] = w[0], w[1] }, []EventKind{EventParameterChange}},
	}
	// Errors match when they say the same: each transport makes its own
	// error values.
	sameErrors := cmp.Comparer(func(a, b error) bool {
		if a == nil || b == nil {
			return a == b
		}
		return a.Error() == b.Error()
	})
	ctx := context.Background()
	for _, s := range steps {
		if s.change != nil {
			tcp.set(s.change)
			rtu.plc.set(s.change)
		}
		tcpEvents, tcpErr := tcpPoller.Poll(ctx)
		rtuEvents, rtuErr := rtuPoller.Poll(ctx)
		if diff := cmp.Diff(tcpErr, rtuErr, sameErrors); diff != "" {
			t.Errorf("%s: errors (-tcp +rtu):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(tcpEvents, rtuEvents, sameErrors, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: events (-tcp +rtu):\n%s", s.name, diff)
		}
		var kinds []EventKind
		for _, e := range rtuEvents {
			kinds = append(kinds, e.Kind)
		}
		if diff := cmp.Diff(s.kinds, kinds); diff != "" {
			t.Errorf("%s: event kinds over RTU (-want +got):\n%s", s.name, diff)
		}
	}
	reads := func(p *plc) []plcRequest {
		var out []plcRequest
		for _, r := range p.log() {
			r.Client = ""
			out = append(out, r)
		}
		return out
	}
	tcpReads, rtuReads := reads(tcp), reads(rtu.plc)
	if diff := cmp.Diff(tcpReads, rtuReads); diff != "" {
		t.Errorf("reads (-tcp +rtu):\n%s", diff)
	}
	if r := rtu.rejectedFrames(); len(r) != 0 {
		t.Errorf("the slave rejected frames of the poller: %v", r)
	}
}

// TestPollerRTULineSettings: the poller opens the port with exactly the
// speed, parity and stop bits configured, and 8 data bits; none of the
// library's defaults (19200 8N2) leaks through. The pty's two ends share
// their settings, so the slave reads what the poller's driver set.
func TestPollerRTULineSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line                 SerialConfig
		speed                uint32
		parity, odd, twoStop bool
	}{
		{SerialConfig{Baud: 9600, Parity: ParityEven, StopBits: 1}, unix.B9600, true, false, false},
		{SerialConfig{Baud: 19200, Parity: ParityOdd, StopBits: 2}, unix.B19200, true, true, true},
		{SerialConfig{Baud: 38400, Parity: ParityNone, StopBits: 1}, unix.B38400, false, false, false},
		{SerialConfig{Baud: 115200, Parity: ParityNone, StopBits: 2}, unix.B115200, false, false, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.line.Parity), func(t *testing.T) {
			t.Parallel()
			s := startRTUPLC(t, 1)
			m, err := NewTagMap([]Tag{{Name: "running", Area: AreaCoil, Type: TypeBool, Role: RoleRunning}})
			if err != nil {
				t.Fatal(err)
			}
			pl := newRTUTestPoller(t, s, 1, tt.line, m, time.Second)
			if _, err := pl.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			tio, err := s.lineSettings()
			if err != nil {
				t.Fatal(err)
			}
			type settings struct {
				Speed                uint32
				CS8                  bool
				Parity, Odd, TwoStop bool
			}
			want := settings{tt.speed, true, tt.parity, tt.odd, tt.twoStop}
			got := settings{
				Speed: tio.Cflag & unix.CBAUD, CS8: tio.Cflag&unix.CSIZE == unix.CS8,
				// A pty clears PARENB whatever it is told (drivers/tty/pty.c);
				// the driver enables input parity checking with it, and that
				// stays.
				Parity: tio.Iflag&unix.INPCK != 0, Odd: tio.Cflag&unix.PARODD != 0, TwoStop: tio.Cflag&unix.CSTOPB != 0,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%+v: line settings (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

// TestPollerRTUGarbledReply: a reply that fails its CRC, or is not a valid
// reply at all, is a protocol error naming the read, reported once as a
// fault; the next poll reopens the port, reads cleanly and clears it.
func TestPollerRTUGarbledReply(t *testing.T) {
	t.Parallel()
	withoutCRC := func(b []byte) []byte { return slices.Clone(b[:len(b)-2]) }
	tests := []struct {
		name   string
		mangle func(reply []byte) []byte
		crc    bool // the error must be ErrCRC; all are ErrProtocol
	}{
		{"FlippedDataBit", func(b []byte) []byte { b = slices.Clone(b); b[3] ^= 0x01; return b }, true},
		{"FlippedCRCBit", func(b []byte) []byte { b = slices.Clone(b); b[len(b)-1] ^= 0x80; return b }, true},
		{"OtherUnitAnswers", func(b []byte) []byte { b = withoutCRC(b); b[0]++; return withCRC(b) }, false},
		{"UnknownFunction", func(b []byte) []byte { b = withoutCRC(b); b[1] = 0x07; return withCRC(b) }, false},
		{"ByteCountWrong", func(b []byte) []byte { b = withoutCRC(b); b[2] = 2; return withCRC(append(b, 0)) }, false},
		{"Truncated", func(b []byte) []byte { return b[:2] }, false},
		{"LineNoise", func([]byte) []byte { return []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startRTUPLC(t, 7)
			s.plc.set(func(p *plc) { p.coils[0] = true; p.holding[1] = 4 })
			m, err := NewTagMap([]Tag{
				{Name: "running", Area: AreaCoil, Type: TypeBool, Role: RoleRunning},
				{Name: "state", Area: AreaHoldingRegister, Address: 1, Type: TypeUint16, Role: RolePackMLState},
			})
			if err != nil {
				t.Fatal(err)
			}
			// The timeout is a guard: only the truncated reply waits for it.
			pl := newRTUTestPoller(t, s, 7, testLine, m, 300*time.Millisecond)
			ctx := context.Background()
			if _, err := pl.Poll(ctx); err != nil {
				t.Fatal(err)
			}

			s.mangleNext(tt.mangle)
			evs, err := pl.Poll(ctx)
			if !errors.Is(err, ErrProtocol) || errors.Is(err, ErrCRC) != tt.crc || errors.Is(err, ErrTimeout) {
				t.Fatalf("poll with a garbled reply: %v; want ErrProtocol, ErrCRC %v", err, tt.crc)
			}
			var re *RequestError
			if !errors.As(err, &re) || re.Area != AreaCoil || re.Address != 0 || re.Quantity != 1 || !slices.Equal(re.Tags, []string{"running"}) {
				t.Errorf("error %v does not name the coil read", err)
			}
			wantFault := plcEvent(EventFault, TagValue{Tag: "running"})
			wantFault.Fault = &Fault{Err: ErrProtocol}
			if diff := cmp.Diff([]Event{wantFault}, evs, eventCmpOpts); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}

			evs, err = pl.Poll(ctx)
			if err != nil {
				t.Fatalf("poll after the garbled reply: %v", err)
			}
			wantCleared := plcEvent(EventFaultCleared)
			wantCleared.Fault = &Fault{Err: ErrProtocol}
			if diff := cmp.Diff([]Event{wantCleared}, evs, eventCmpOpts); diff != "" {
				t.Errorf("events after the garbled reply (-want +got):\n%s", diff)
			}
			if r := s.rejectedFrames(); len(r) != 0 {
				t.Errorf("the slave rejected frames of the poller: %v", r)
			}
		})
	}
	// The message says what went wrong in words an engineer on the line
	// can act on.
	if got, want := (&RequestError{Equipment: "FILLER-1", Area: AreaCoil, Quantity: 1, Tags: []string{"running"}, Err: ErrCRC}).Error(),
		"read FILLER-1 coil 0+1 (running): modbus: protocol error: RTU reply failed its CRC check"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

// TestPollerRTUNoAnswer: a device that does not answer, or a unit id that
// no device on the line has, is a timeout; the poll after a silence that
// ended reads cleanly.
func TestPollerRTUNoAnswer(t *testing.T) {
	t.Parallel()
	m, err := NewTagMap([]Tag{{Name: "state", Area: AreaInputRegister, Address: 3, Type: TypeUint16, Role: RolePackMLState}})
	if err != nil {
		t.Fatal(err)
	}
	wantFault := plcEvent(EventFault, TagValue{Tag: "state"})
	wantFault.Fault = &Fault{Err: ErrTimeout}
	for _, tt := range []struct {
		name       string
		pollerUnit uint8
		silent     bool
	}{
		{"SilentDevice", 7, true},
		{"NoSuchUnit", 9, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startRTUPLC(t, 7)
			s.plc.set(func(p *plc) { p.input[3] = 2 })
			s.setSilent(tt.silent)
			pl := newRTUTestPoller(t, s, tt.pollerUnit, testLine, m, 200*time.Millisecond)
			evs, err := pl.Poll(context.Background())
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("poll: %v, want ErrTimeout", err)
			}
			if diff := cmp.Diff([]Event{wantFault}, evs, eventCmpOpts); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if !tt.silent {
				return
			}
			s.setSilent(false)
			evs, err = pl.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantCleared := plcEvent(EventFaultCleared)
			wantCleared.Fault = &Fault{Err: ErrTimeout}
			state := plcEvent(EventPackMLState, plcValue("state", "2", "", 2))
			state.PackML = &packml.Change{To: packml.Stopped}
			if diff := cmp.Diff([]Event{wantCleared, state}, evs, eventCmpOpts); diff != "" {
				t.Errorf("events after the silence (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollerRTUConnectError(t *testing.T) {
	t.Parallel()
	port := filepath.Join(t.TempDir(), "ttyUSB9") // nothing there
	line := testLine
	line.Device = port
	pl, err := NewPoller(ModbusConfig{Serial: &line, UnitID: 1}, lineTags(t), &PollerConfig{EquipmentID: "FILLER-1", Clock: pollClock})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := pl.Poll(context.Background())
	var ce *ConnectError
	if !errors.Is(err, ErrConnect) || !errors.As(err, &ce) || ce.Address != port || ce.Equipment != "FILLER-1" {
		t.Fatalf("Poll error = %v, want a *ConnectError for %s matching ErrConnect", err, port)
	}
	if !errors.Is(err, unix.ENOENT) {
		t.Errorf("Poll error %v does not wrap the system's reason", err)
	}
	want := plcEvent(EventFault)
	want.Fault = &Fault{Err: ErrConnect}
	if diff := cmp.Diff([]Event{want}, evs, eventCmpOpts); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
