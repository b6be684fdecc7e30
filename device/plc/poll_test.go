package plc

import (
	"context"
	"errors"
	"io"
	"log"
	"math"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/device/packml"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/simonvetter/modbus"
)

// plcSize is how many addresses of each area the test PLC has; reading past
// it gets an illegal-data-address exception, as from a real PLC.
const plcSize = 1000

// plcRequest is one read the test PLC served.
type plcRequest struct {
	Area     Area
	Address  uint16
	Quantity uint16
	UnitID   uint8
	Client   string // the client's address, which changes on reconnection
}

// plc is a Modbus TCP server on loopback whose memory a test changes. It
// serves through github.com/simonvetter/modbus, the same stack a real
// deployment talks to, so the poller is tested end to end.
type plc struct {
	addr string

	mu       sync.Mutex
	coils    [plcSize]bool
	discrete [plcSize]bool
	holding  [plcSize]uint16
	input    [plcSize]uint16
	fail     map[Area]error // answer reads of the area with this error
	stall    chan struct{}  // when set, reads wait for it to close
	writable bool           // accept writes to holding registers; the poller never writes
	requests []plcRequest
}

// startPLC starts a test PLC on a free loopback port and stops it when the
// test ends.
func startPLC(t *testing.T) *plc {
	t.Helper()
	p := &plc{fail: make(map[Area]error)}
	var srv *modbus.ModbusServer
	// The library listens on the URL it is given and does not say which port
	// the OS chose, so ask the OS for a free port first; retry in the rare
	// case that another process takes it in between.
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.addr = l.Addr().String()
		l.Close()
		srv, err = modbus.NewServer(&modbus.ServerConfiguration{
			URL:    "tcp://" + p.addr,
			Logger: log.New(io.Discard, "", 0),
		}, p)
		if err != nil {
			t.Fatal(err)
		}
		if err = srv.Start(); err == nil {
			break
		} else if attempt == 5 {
			t.Fatalf("start Modbus server: %v", err)
		}
	}
	t.Cleanup(func() {
		p.release()
		srv.Stop()
	})
	return p
}

// set changes the PLC's memory under its lock, so a read never sees half
// of one change.
func (p *plc) set(f func(p *plc)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *plc) log() []plcRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]plcRequest(nil), p.requests...)
}

// hold makes every read wait until release.
func (p *plc) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stall = make(chan struct{})
}

func (p *plc) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
}

// serve records a read and answers it from mem, or with an error.
func servePLC[T any](p *plc, area Area, unit uint8, client string, addr, qty uint16, mem []T) ([]T, error) {
	p.mu.Lock()
	p.requests = append(p.requests, plcRequest{Area: area, Address: addr, Quantity: qty, UnitID: unit, Client: client})
	stall := p.stall
	p.mu.Unlock()
	if stall != nil {
		<-stall
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.fail[area]; err != nil {
		return nil, err
	}
	if int(addr)+int(qty) > plcSize {
		return nil, modbus.ErrIllegalDataAddress
	}
	return append([]T(nil), mem[addr:addr+qty]...), nil
}

func (p *plc) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	return servePLC(p, AreaCoil, req.UnitId, req.ClientAddr, req.Addr, req.Quantity, p.coils[:])
}

func (p *plc) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	return servePLC(p, AreaDiscreteInput, req.UnitId, req.ClientAddr, req.Addr, req.Quantity, p.discrete[:])
}

func (p *plc) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case !p.writable:
			return nil, modbus.ErrIllegalFunction
		case int(req.Addr)+len(req.Args) > plcSize:
			return nil, modbus.ErrIllegalDataAddress
		}
		copy(p.holding[req.Addr:], req.Args)
		return nil, nil
	}
	return servePLC(p, AreaHoldingRegister, req.UnitId, req.ClientAddr, req.Addr, req.Quantity, p.holding[:])
}

func (p *plc) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return servePLC(p, AreaInputRegister, req.UnitId, req.ClientAddr, req.Addr, req.Quantity, p.input[:])
}

// lineTags is the tag map of a small filling line used by several tests.
func lineTags(t *testing.T) *TagMap {
	t.Helper()
	m, err := NewTagMap([]Tag{
		{Name: "running", Area: AreaCoil, Address: 0, Type: TypeBool, Role: RoleRunning},
		{Name: "fault", Area: AreaHoldingRegister, Address: 0, Type: TypeUint16, Role: RoleFaultCode},
		{Name: "state", Area: AreaHoldingRegister, Address: 1, Type: TypeUint16, Role: RolePackMLState},
		{Name: "good", Area: AreaHoldingRegister, Address: 2, Type: TypeUint32, WordOrder: HighWordFirst, Role: RoleGoodCount},
		{Name: "reject", Area: AreaHoldingRegister, Address: 4, Type: TypeUint16, Role: RoleRejectCount},
		{Name: "fill-target", Area: AreaHoldingRegister, Address: 10, Type: TypeFloat32, WordOrder: LowWordFirst, Unit: "g", Role: RoleParameter},
		{Name: "comment", Area: AreaHoldingRegister, Address: 500, Type: TypeUint16}, // no role: never read
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	pollTime  = time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	pollClock = func() time.Time { return pollTime }
)

func newTestPoller(t *testing.T, p *plc, m *TagMap, timeout time.Duration) *Poller {
	t.Helper()
	pl, err := NewPoller(ModbusConfig{Address: p.addr, UnitID: 7}, m, &PollerConfig{
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

// float32Words returns f as two registers, low word first.
func float32Words(f float32) [2]uint16 {
	b := math.Float32bits(f)
	return [2]uint16{uint16(b), uint16(b >> 16)}
}

func plcValue(name string, value string, unit string, raw ...uint16) TagValue {
	return TagValue{Tag: name, Raw: raw, Value: decimal.RequireFromString(value), Unit: unit}
}

func plcEvent(kind EventKind, tags ...TagValue) Event {
	return Event{Equipment: "FILLER-1", Kind: kind, Time: pollTime.UTC(), Tags: tags}
}

func TestPollerPoll(t *testing.T) {
	t.Parallel()
	p := startPLC(t)
	target := float32Words(250.5)
	p.set(func(p *plc) {
		p.coils[0] = true
		p.holding[1] = 6 // Execute
		p.holding[2], p.holding[3] = 0, 1000
		p.holding[4] = 3
		p.holding[10], p.holding[11] = target[0], target[1]
	})
	pl := newTestPoller(t, p, lineTags(t), time.Second)
	ctx := context.Background()

	steps := []struct {
		name   string
		change func(p *plc)
		want   []Event
	}{
		{name: "FirstPoll", want: []Event{
			plcEvent(EventRunning, plcValue("running", "1", "", 1)),
			func() Event {
				e := plcEvent(EventPackMLState, plcValue("state", "6", "", 6))
				e.PackML = &packml.Change{To: packml.Execute}
				return e
			}(),
			func() Event {
				e := plcEvent(EventParameterChange, plcValue("fill-target", "250.5", "g", target[0], target[1]))
				e.Parameter = &ParameterChange{Name: "fill-target", New: decimal.RequireFromString("250.5"), Unit: "g", First: true}
				return e
			}(),
		}},
		{name: "NothingChanged"},
		{name: "PartsMade", change: func(p *plc) { p.holding[2], p.holding[3] = 1, 4; p.holding[4] = 5 }, want: []Event{
			func() Event {
				e := plcEvent(EventCounts, plcValue("good", "65540" /* 1<<16 + 4 */, "", 1, 4), plcValue("reject", "5", "", 5))
				e.Counts = &Counts{
					Good: decimal.NewFromInt(65540), GoodDelta: decimal.NewFromInt(64540),
					Reject: decimal.NewFromInt(5), RejectDelta: decimal.NewFromInt(2),
				}
				return e
			}(),
		}},
		{name: "FaultStopsTheLine", change: func(p *plc) { p.coils[0] = false; p.holding[0] = 42; p.holding[1] = 11 }, want: []Event{
			plcEvent(EventStopped, plcValue("running", "0", "", 0)),
			func() Event {
				e := plcEvent(EventFault, plcValue("fault", "42", "", 42))
				e.Fault = &Fault{Code: 42}
				return e
			}(),
			func() Event {
				e := plcEvent(EventPackMLState, plcValue("state", "11", "", 11))
				e.PackML = &packml.Change{From: packml.Execute, To: packml.Held}
				return e
			}(),
		}},
		{name: "UndefinedState", change: func(p *plc) { p.holding[1] = 0 }, want: []Event{
			func() Event {
				e := plcEvent(EventInvalidValue, plcValue("state", "0", "", 0))
				e.Invalid = &packml.InvalidStateError{Value: decimal.Zero}
				return e
			}(),
		}},
	}
	for _, s := range steps {
		if s.change != nil {
			p.set(s.change)
		}
		got, err := pl.Poll(ctx)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, got, eventCmpOpts); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", s.name, diff)
		}
		for _, e := range got {
			if e.Time.Location() != time.UTC {
				t.Errorf("%s: event time %v is not UTC", s.name, e.Time)
			}
		}
	}

	// Every poll is the same three reads, on one connection, to unit 7, and
	// the tag without a role is never read.
	var want []plcRequest
	client := p.log()[0].Client
	for range steps {
		want = append(want,
			plcRequest{Area: AreaCoil, Address: 0, Quantity: 1, UnitID: 7, Client: client},
			plcRequest{Area: AreaHoldingRegister, Address: 0, Quantity: 5, UnitID: 7, Client: client},
			plcRequest{Area: AreaHoldingRegister, Address: 10, Quantity: 2, UnitID: 7, Client: client},
		)
	}
	if diff := cmp.Diff(want, p.log()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestPollerGroupsContiguousAddresses(t *testing.T) {
	t.Parallel()
	p := startPLC(t)
	m, err := NewTagMap([]Tag{
		{Name: "h3", Area: AreaHoldingRegister, Address: 3, Type: TypeInt32, WordOrder: HighWordFirst, Role: RoleParameter},
		{Name: "h0", Area: AreaHoldingRegister, Address: 0, Type: TypeInt16, Role: RoleParameter},
		{Name: "h1", Area: AreaHoldingRegister, Address: 1, Type: TypeUint16, Role: RoleParameter},
		{Name: "h2", Area: AreaHoldingRegister, Address: 2, Type: TypeUint16, Role: RoleParameter},
		{Name: "h4-overlap", Area: AreaHoldingRegister, Address: 4, Type: TypeUint16, Role: RoleParameter},
		{Name: "h7-after-gap", Area: AreaHoldingRegister, Address: 7, Type: TypeUint16, Role: RoleParameter},
		{Name: "c0", Area: AreaCoil, Address: 0, Type: TypeBool, Role: RoleRunning},
		{Name: "c1", Area: AreaCoil, Address: 1, Type: TypeBool, Role: RoleParameter},
		{Name: "c2", Area: AreaCoil, Address: 2, Type: TypeBool, Role: RoleParameter},
		{Name: "d10", Area: AreaDiscreteInput, Address: 10, Type: TypeBool, Role: RoleParameter},
		{Name: "i100", Area: AreaInputRegister, Address: 100, Type: TypeFloat32, WordOrder: HighWordFirst, Role: RoleParameter},
		{Name: "i102", Area: AreaInputRegister, Address: 102, Type: TypeInt16, Role: RoleParameter},
	})
	if err != nil {
		t.Fatal(err)
	}
	pl := newTestPoller(t, p, m, time.Second)
	if _, err := pl.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []plcRequest
	for _, r := range p.log() {
		r.Client, r.UnitID = "", 0
		got = append(got, r)
	}
	want := []plcRequest{
		{Area: AreaCoil, Address: 0, Quantity: 3},
		{Area: AreaDiscreteInput, Address: 10, Quantity: 1},
		{Area: AreaHoldingRegister, Address: 0, Quantity: 5},
		{Area: AreaHoldingRegister, Address: 7, Quantity: 1},
		{Area: AreaInputRegister, Address: 100, Quantity: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestPollerException(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tags    []Tag
		fail    map[Area]error
		want    ModbusException
		request RequestError
	}{
		{
			name: "IllegalDataAddress",
			tags: []Tag{
				{Name: "running", Area: AreaCoil, Type: TypeBool, Role: RoleRunning},
				{Name: "missing", Area: AreaHoldingRegister, Address: plcSize - 1, Type: TypeUint32, WordOrder: HighWordFirst, Role: RoleParameter},
			},
			want:    ExceptionIllegalDataAddress,
			request: RequestError{Equipment: "FILLER-1", Area: AreaHoldingRegister, Address: plcSize - 1, Quantity: 2, Tags: []string{"missing"}},
		},
		{
			name:    "ServerDeviceFailure",
			tags:    []Tag{{Name: "running", Area: AreaDiscreteInput, Address: 3, Type: TypeBool, Role: RoleRunning}},
			fail:    map[Area]error{AreaDiscreteInput: modbus.ErrServerDeviceFailure},
			want:    ExceptionServerDeviceFailure,
			request: RequestError{Equipment: "FILLER-1", Area: AreaDiscreteInput, Address: 3, Quantity: 1, Tags: []string{"running"}},
		},
		{
			name:    "GatewayTargetNoResponse",
			tags:    []Tag{{Name: "state", Area: AreaInputRegister, Address: 9, Type: TypeInt16, Role: RolePackMLState}},
			fail:    map[Area]error{AreaInputRegister: modbus.ErrGWTargetFailedToRespond},
			want:    ExceptionGatewayTargetNoResponse,
			request: RequestError{Equipment: "FILLER-1", Area: AreaInputRegister, Address: 9, Quantity: 1, Tags: []string{"state"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startPLC(t)
			p.set(func(p *plc) {
				for a, err := range tt.fail {
					p.fail[a] = err
				}
			})
			m, err := NewTagMap(tt.tags)
			if err != nil {
				t.Fatal(err)
			}
			pl := newTestPoller(t, p, m, time.Second)

			for i := range 2 {
				evs, err := pl.Poll(context.Background())
				var re *RequestError
				if !errors.As(err, &re) {
					t.Fatalf("poll %d: error %v (%T), want a *RequestError", i, err, err)
				}
				want := tt.request
				want.Err = tt.want
				if diff := cmp.Diff(want, *re, eventCmpOpts); diff != "" {
					t.Errorf("poll %d: request error (-want +got):\n%s", i, diff)
				}
				var exc ModbusException
				if !errors.As(err, &exc) || exc != tt.want || !errors.Is(err, tt.want) {
					t.Errorf("poll %d: errors.As gives exception %v, want %v", i, exc, tt.want)
				}
				var wantEvs []Event
				if i == 0 { // one fault event per outage, not one per poll
					e := plcEvent(EventFault)
					for _, name := range tt.request.Tags {
						tag, _ := m.Tag(name)
						e.Tags = append(e.Tags, TagValue{Tag: name, Unit: tag.Unit})
					}
					e.Fault = &Fault{Err: tt.want}
					wantEvs = []Event{e}
				}
				if diff := cmp.Diff(wantEvs, evs, eventCmpOpts); diff != "" {
					t.Errorf("poll %d: events (-want +got):\n%s", i, diff)
				}
			}

			// An exception proves the link works: the connection is kept.
			clients := make(map[string]bool)
			for _, r := range p.log() {
				clients[r.Client] = true
			}
			if len(clients) != 1 {
				t.Errorf("requests came from %d connections, want 1: %v", len(clients), p.log())
			}
		})
	}
}

func TestPollerRecoversFromException(t *testing.T) {
	t.Parallel()
	p := startPLC(t)
	p.set(func(p *plc) {
		p.coils[0] = true
		p.fail[AreaHoldingRegister] = modbus.ErrServerDeviceBusy
	})
	pl := newTestPoller(t, p, lineTags(t), time.Second)
	ctx := context.Background()
	evs, err := pl.Poll(ctx)
	if !errors.Is(err, ExceptionServerDeviceBusy) || len(evs) != 1 || evs[0].Kind != EventFault {
		t.Fatalf("first poll = %v, %v; want one fault event and ExceptionServerDeviceBusy", evs, err)
	}
	p.set(func(p *plc) { p.fail[AreaHoldingRegister] = nil; p.holding[1] = 4 })
	evs, err = pl.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []EventKind
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	want := []EventKind{EventFaultCleared, EventRunning, EventPackMLState, EventParameterChange}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("event kinds after recovery (-want +got):\n%s", diff)
	}
	if !errors.Is(evs[0].Fault.Err, ExceptionServerDeviceBusy) {
		t.Errorf("fault-cleared carries %v, want the fault it clears", evs[0].Fault.Err)
	}
}

func TestPollerTimeoutReconnects(t *testing.T) {
	t.Parallel()
	p := startPLC(t)
	m, err := NewTagMap([]Tag{{Name: "running", Area: AreaCoil, Type: TypeBool, Role: RoleRunning}})
	if err != nil {
		t.Fatal(err)
	}
	pl := newTestPoller(t, p, m, 500*time.Millisecond) // long enough for a loaded machine to answer the poll after the stall
	ctx := context.Background()

	p.hold()
	evs, err := pl.Poll(ctx)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("poll against a stalled PLC: %v, want ErrTimeout", err)
	}
	var re *RequestError
	if !errors.As(err, &re) || re.Area != AreaCoil || re.Address != 0 || re.Quantity != 1 {
		t.Errorf("error %v does not name the coil read", err)
	}
	wantFault := plcEvent(EventFault, TagValue{Tag: "running"})
	wantFault.Fault = &Fault{Err: ErrTimeout}
	if diff := cmp.Diff([]Event{wantFault}, evs, eventCmpOpts); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	p.release()

	evs, err = pl.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCleared := plcEvent(EventFaultCleared)
	wantCleared.Fault = &Fault{Err: ErrTimeout}
	want := []Event{wantCleared, plcEvent(EventStopped, plcValue("running", "0", "", 0))}
	if diff := cmp.Diff(want, evs, eventCmpOpts); diff != "" {
		t.Errorf("events after the stall (-want +got):\n%s", diff)
	}
	log := p.log()
	if len(log) != 2 || log[0].Client == log[1].Client {
		t.Errorf("requests %v: want the poll after the timeout on a new connection", log)
	}
}

func TestPollerConnectError(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	pl, err := NewPoller(ModbusConfig{Address: addr}, lineTags(t), &PollerConfig{EquipmentID: "FILLER-1", Clock: pollClock})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := pl.Poll(context.Background())
	var ce *ConnectError
	if !errors.Is(err, ErrConnect) || !errors.As(err, &ce) || ce.Address != addr || ce.Equipment != "FILLER-1" {
		t.Fatalf("Poll error = %v, want a *ConnectError for %s matching ErrConnect", err, addr)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Poll error %v does not wrap the network error", err)
	}
	want := plcEvent(EventFault)
	want.Fault = &Fault{Err: ErrConnect}
	if diff := cmp.Diff([]Event{want}, evs, eventCmpOpts); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// The Run tests are not parallel, so that the goroutine check after each
// sees no other test's Run.
func TestPollerRun(t *testing.T) {
	p := startPLC(t)
	p.set(func(p *plc) { p.holding[1] = 2 }) // Stopped
	pl := newTestPoller(t, p, lineTags(t), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pl.Run(ctx) }()

	next := func() Event {
		t.Helper()
		select {
		case e, ok := <-pl.Events():
			if !ok {
				t.Fatal("Events closed while Run should be running")
			}
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5s")
		}
		return Event{}
	}
	expect := func(kinds ...EventKind) []Event {
		t.Helper()
		var got []Event
		var gotKinds []EventKind
		for range kinds {
			e := next()
			got = append(got, e)
			gotKinds = append(gotKinds, e.Kind)
		}
		if diff := cmp.Diff(kinds, gotKinds); diff != "" {
			t.Fatalf("event kinds (-want +got):\n%s", diff)
		}
		return got
	}

	expect(EventStopped, EventPackMLState, EventParameterChange)
	p.set(func(p *plc) { p.holding[1] = 3 })
	if e := expect(EventPackMLState)[0]; *e.PackML != (packml.Change{From: packml.Stopped, To: packml.Starting}) {
		t.Errorf("PackML change = %+v, want Stopped → Starting", *e.PackML)
	}
	p.set(func(p *plc) { p.coils[0] = true })
	expect(EventRunning)
	p.set(func(p *plc) { p.holding[3] = 12; p.holding[4] = 1 })
	if e := expect(EventCounts)[0]; !e.Counts.GoodDelta.Equal(decimal.NewFromInt(12)) || !e.Counts.RejectDelta.Equal(decimal.NewFromInt(1)) {
		t.Errorf("counts = %+v, want deltas 12 and 1", *e.Counts)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
	// Nothing changed after the last expected event, so nothing else may
	// have been sent; the channel must be closed.
	for e := range pl.Events() {
		t.Errorf("unexpected event after the last change: %+v", e)
	}
	if err := pl.Run(context.Background()); !errors.Is(err, ErrPollerUsed) {
		t.Errorf("second Run = %v, want ErrPollerUsed", err)
	}
	checkNoPollerGoroutine(t, "device.(*Poller).Run")
}

func TestPollerRunStopsWhileReceiverIsAway(t *testing.T) {
	p := startPLC(t)
	p.set(func(p *plc) { p.coils[0] = true })
	pl := newTestPoller(t, p, lineTags(t), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pl.Run(ctx) }()
	// Wait until Run has polled and is blocked handing over the first event.
	for deadline := time.Now().Add(5 * time.Second); len(p.log()) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("Run did not poll within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run blocked on a receiver that never came")
	}
	if _, ok := <-pl.Events(); ok {
		t.Error("Events still open after Run returned")
	}
	checkNoPollerGoroutine(t, "device.(*Poller).Run")
}

// checkNoPollerGoroutine fails when a goroutine whose stack mentions frame is
// still alive shortly after the code that started it claims to be done.
func checkNoPollerGoroutine(t *testing.T, frame string) {
	t.Helper()
	var stacks string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, frame) {
			return
		}
	}
	t.Errorf("goroutine with %s still running:\n%s", frame, stacks)
}

func TestNewPollerValidation(t *testing.T) {
	t.Parallel()
	tags := lineTags(t)
	noRoles, err := NewTagMap([]Tag{{Name: "x", Area: AreaCoil, Type: TypeBool}})
	if err != nil {
		t.Fatal(err)
	}
	ok := PollerConfig{EquipmentID: "EQ"}
	tests := []struct {
		name string
		mc   ModbusConfig
		m    *TagMap
		cfg  *PollerConfig
		want []string // fragments the message must contain; none means success
	}{
		{name: "Defaults", mc: ModbusConfig{Address: "127.0.0.1:502"}, m: tags, cfg: &ok},
		{name: "NilConfig", mc: ModbusConfig{Address: "127.0.0.1:502"}, m: tags, want: []string{"PollerConfig is nil"}},
		{name: "NoEquipment", mc: ModbusConfig{Address: "127.0.0.1:502"}, m: tags, cfg: &PollerConfig{}, want: []string{"PollerConfig.EquipmentID"}},
		{name: "NegativeDurations", mc: ModbusConfig{Address: "plc:502"}, m: tags, cfg: &PollerConfig{EquipmentID: "EQ", Interval: -1, Timeout: -time.Second},
			want: []string{"PollerConfig.Interval is -1ns", "PollerConfig.Timeout is -1s"}},
		{name: "AddressWithoutPort", mc: ModbusConfig{Address: "plc"}, m: tags, cfg: &ok, want: []string{`ModbusConfig.Address "plc"`}},
		{name: "EmptyAddress", mc: ModbusConfig{}, m: tags, cfg: &ok, want: []string{`ModbusConfig.Address ""`}},
		{name: "NoRoles", mc: ModbusConfig{Address: "plc:502"}, m: noRoles, cfg: &ok, want: []string{"no tag with a role"}},
		{name: "NilMap", mc: ModbusConfig{Address: "plc:502"}, cfg: &ok, want: []string{"no tag with a role"}},
		{name: "AllAtOnce", mc: ModbusConfig{Address: "::1"}, cfg: &PollerConfig{Interval: -1},
			want: []string{"EquipmentID", "Interval", "Address", "no tag with a role"}},
		{name: "RTU", mc: ModbusConfig{Serial: &SerialConfig{Device: "/dev/ttyUSB0", Baud: 9600, Parity: ParityEven, StopBits: 1}, UnitID: 247}, m: tags, cfg: &ok},
		{name: "RTUNothingSet", mc: ModbusConfig{Serial: &SerialConfig{}}, m: tags, cfg: &ok, want: []string{
			"ModbusConfig.Serial.Device is empty",
			"ModbusConfig.Serial.Baud 0 is not a standard rate",
			`ModbusConfig.Serial.Parity ""; want even, odd or none`,
			"ModbusConfig.Serial.StopBits 0; want 1 or 2",
			"ModbusConfig.UnitID 0 is the broadcast address, which no device answers; want 1 to 247",
		}},
		{name: "RTUWrongValues", mc: ModbusConfig{Serial: &SerialConfig{Device: " ", Baud: 921600, Parity: "Even", StopBits: 3}, UnitID: 248}, m: tags, cfg: &ok, want: []string{
			"ModbusConfig.Serial.Device is empty",
			"ModbusConfig.Serial.Baud 921600 is not a standard rate",
			`ModbusConfig.Serial.Parity "Even"`,
			"ModbusConfig.Serial.StopBits 3",
			"ModbusConfig.UnitID 248 is reserved on a serial line",
		}},
		{name: "BothTransports", mc: ModbusConfig{Address: "plc:502", Serial: &SerialConfig{Device: "/dev/ttyS0", Baud: 19200, Parity: ParityNone, StopBits: 2}, UnitID: 1},
			m: tags, cfg: &ok, want: []string{`ModbusConfig has both Address "plc:502" (Modbus TCP) and Serial (Modbus RTU); set one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl, err := NewPoller(tt.mc, tt.m, tt.cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if pl.cfg.Interval != DefaultPollInterval || pl.cfg.Timeout != DefaultPollTimeout || pl.cfg.Clock == nil {
					t.Errorf("defaults not filled: %+v", pl.cfg)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, interlock.ErrInvalid) {
				t.Fatalf("error = %v, want ErrInvalidConfig and interlock.ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPollerPollCancelled(t *testing.T) {
	t.Parallel()
	p := startPLC(t)
	pl := newTestPoller(t, p, lineTags(t), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	evs, err := pl.Poll(ctx)
	if !errors.Is(err, context.Canceled) || evs != nil {
		t.Errorf("Poll on a cancelled context = %v, %v; want no events and context.Canceled", evs, err)
	}
	if log := p.log(); len(log) != 0 {
		t.Errorf("a cancelled poll sent requests: %v", log)
	}
}

func TestRequestErrorMessage(t *testing.T) {
	t.Parallel()
	err := &RequestError{Equipment: "FILLER-1", Area: AreaHoldingRegister, Address: 999, Quantity: 2, Tags: []string{"a", "b"}, Err: ExceptionIllegalDataAddress}
	want := "read FILLER-1 holding-register 999+2 (a, b): modbus exception 2 (illegal data address)"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
