package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/interlock-mes/interlock/device/plc"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/exception"
)

// mixerID is the mixer whose PLC the demo simulates.
const mixerID = "MX-01"

// The mixer PLC's tag map: coil 0 runs the mixer, holding register 0 is
// its fault code, 1 its speed set point in rpm.
var mixerTags = []plc.Tag{
	{Name: "running", Area: plc.AreaCoil, Address: 0, Type: plc.TypeBool, Role: plc.RoleRunning},
	{Name: "fault", Area: plc.AreaHoldingRegister, Address: 0, Type: plc.TypeUint16, Role: plc.RoleFaultCode},
	{Name: "speed", Area: plc.AreaHoldingRegister, Address: 1, Type: plc.TypeUint16, Unit: "rpm", Role: plc.RoleParameter},
}

// plcMemory is the simulated PLC's memory, served over Modbus TCP.
type plcMemory struct {
	mu      sync.Mutex
	running bool
	regs    [2]uint16 // fault, speed
}

var _ modbus.RequestHandler = (*plcMemory)(nil)

// HandleCoils serves coil 0, the running bit.
func (m *plcMemory) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if req.Addr != 0 || req.Quantity != 1 {
		return nil, modbus.ErrIllegalDataAddress
	}
	if req.IsWrite {
		m.running = req.Args[0]
	}
	return []bool{m.running}, nil
}

// HandleDiscreteInputs: the mixer has none.
func (m *plcMemory) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalDataAddress
}

// HandleHoldingRegisters serves the fault code and the speed.
func (m *plcMemory) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if int(req.Addr)+int(req.Quantity) > len(m.regs) {
		return nil, modbus.ErrIllegalDataAddress
	}
	if req.IsWrite {
		copy(m.regs[req.Addr:], req.Args)
	}
	return append([]uint16(nil), m.regs[req.Addr:req.Addr+req.Quantity]...), nil
}

// HandleInputRegisters: the mixer has none.
func (m *plcMemory) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalDataAddress
}

// livePLC is mixer MX-01's PLC, simulated in process behind a loopback
// Modbus TCP server, and read by device/plc's poller as a real one would
// be. A fault it reports takes the mixer out of service through the
// engine (the exception service's equipment hold), so every gate that
// asks for the mixer blocks until a person returns it to service.
type livePLC struct {
	mem    *plcMemory
	srv    *modbus.ModbusServer
	poller *plc.Poller
	stop   context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	events []plc.Event // the latest first, at most maxPLCEvents
}

const maxPLCEvents = 12

// newLivePLC starts the simulated PLC and its poller. onFault is called
// (from the poller's goroutine) with each fault code the PLC reports.
func newLivePLC(onFault func(ctx context.Context, code int64)) (*livePLC, error) {
	l := &livePLC{mem: &plcMemory{regs: [2]uint16{0, 120}}, done: make(chan struct{})}
	// The server does not say which port the OS chose: ask for a free one
	// first, and again if another process takes it in between.
	var addr string
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr = ln.Addr().String()
		ln.Close()
		if l.srv, err = modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, Timeout: time.Minute, MaxClients: 4,
			Logger: log.New(io.Discard, "", 0)}, l.mem); err != nil {
			return nil, err
		}
		if err = l.srv.Start(); err == nil {
			break
		} else if attempt == 5 {
			return nil, fmt.Errorf("start the simulated PLC: %w", err)
		}
	}
	tags, err := plc.NewTagMap(mixerTags)
	if err != nil {
		l.srv.Stop()
		return nil, err
	}
	if l.poller, err = plc.NewPoller(plc.ModbusConfig{Address: addr, UnitID: 1}, tags,
		&plc.PollerConfig{EquipmentID: mixerID, Interval: 250 * time.Millisecond}); err != nil {
		l.srv.Stop()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	go func() { _ = l.poller.Run(ctx) }()
	go func() {
		defer close(l.done)
		for ev := range l.poller.Events() {
			l.mu.Lock()
			l.events = append([]plc.Event{ev}, l.events...)
			if len(l.events) > maxPLCEvents {
				l.events = l.events[:maxPLCEvents]
			}
			l.mu.Unlock()
			if ev.Kind == plc.EventFault && ev.Fault != nil && ev.Fault.Code != 0 && onFault != nil {
				onFault(ctx, ev.Fault.Code)
			}
		}
	}()
	return l, nil
}

// Close stops the poller, waits for it, and stops the server.
func (l *livePLC) Close() error {
	l.stop()
	<-l.done
	l.srv.Stop()
	return nil
}

// set changes the simulated PLC's memory, as the machine would.
func (l *livePLC) set(running bool, fault, speed uint16) {
	l.mem.mu.Lock()
	defer l.mem.mu.Unlock()
	l.mem.running, l.mem.regs[0], l.mem.regs[1] = running, fault, speed
}

// plcStatus is what the equipment page shows of the PLC.
type plcStatus struct {
	Running      bool
	Fault, Speed uint16
	Events       []plcEventView
}

// plcEventView is one PLC event, said in a line.
type plcEventView struct {
	Time, Kind, Detail string
}

func (l *livePLC) status() plcStatus {
	l.mem.mu.Lock()
	s := plcStatus{Running: l.mem.running, Fault: l.mem.regs[0], Speed: l.mem.regs[1]}
	l.mem.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.events {
		v := plcEventView{Time: ev.Time.Format("15:04:05"), Kind: string(ev.Kind)}
		switch {
		case ev.Fault != nil && ev.Fault.Err != nil:
			v.Detail = ev.Fault.Err.Error()
		case ev.Fault != nil:
			v.Detail = fmt.Sprintf("code %d", ev.Fault.Code)
		case ev.Parameter != nil:
			v.Detail = fmt.Sprintf("%s = %s %s", ev.Parameter.Name, ev.Parameter.New.String(), ev.Parameter.Unit)
		}
		s.Events = append(s.Events, v)
	}
	return s
}

// takeOutOnFault returns the PLC's fault handler: it takes the mixer out
// of service through the engine, as the PLC's actor, with the fault code
// as the reason. A mixer already out of service is a denial on the record,
// which is what happened.
func takeOutOnFault(p *plant, log *slog.Logger) func(ctx context.Context, code int64) {
	return func(ctx context.Context, code int64) {
		_, err := p.exceptions.PlaceHold(ctx, exception.By{CommandID: "plc-fault-" + randomToken(), Actor: "plc/" + mixerID},
			exception.Hold{Target: exception.HoldEquipment, ID: mixerID, Reason: fmt.Sprintf("PLC fault code %d", code)})
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("PLC fault not recorded as out of service", "code", code, "err", err)
		}
	}
}

// equipmentRow is a piece of equipment on the equipment page.
type equipmentRow struct {
	ID    string
	State string
}

// equipmentView is the equipment page.
type equipmentView struct {
	Result
	Equipment []equipmentRow
	PLC       *plcStatus // nil without the simulated PLC
	Key       string
}

func (a *app) equipmentView(ctx context.Context) (*equipmentView, error) {
	p := a.plant
	ids, err := p.streams(ctx, event.EquipmentStream(""))
	if err != nil {
		return nil, err
	}
	v := &equipmentView{Key: randomToken()}
	for _, id := range ids {
		st, err := p.engine.State(ctx, p.equip, event.EquipmentStream(id), "")
		if err != nil {
			return nil, err
		}
		v.Equipment = append(v.Equipment, equipmentRow{ID: id, State: string(st)})
	}
	if a.plc != nil {
		s := a.plc.status()
		v.PLC = &s
	}
	return v, nil
}

func (a *app) equipmentPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.equipmentView(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "equipment", "Equipment", v)
}

// returnPost returns equipment to service, by the signed-in person,
// through the equipment's model.
func (a *app) returnPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, err := a.equipmentView(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	known := false
	for _, e := range v.Equipment {
		known = known || e.ID == id
	}
	if !known {
		a.fail(w, r, fmt.Errorf("equipment %s: %w", id, errNotFound))
		return
	}
	by := exception.By{CommandID: r.PostFormValue("key"), Actor: current(r).actor}
	if by.CommandID == "" {
		by.CommandID = randomToken()
	}
	out, err := a.plant.exceptions.ReleaseHold(ctx, by, exception.Hold{Target: exception.HoldEquipment, ID: id,
		Reason: strings.TrimSpace(r.PostFormValue("reason"))})
	status := v.explain(mes.CmdReturn, out, err)
	if nv, err := a.equipmentView(ctx); err == nil {
		nv.Result = v.Result
		v = nv
	}
	a.render(w, r, status, "equipment", "Equipment", v)
}

// plcSimulate changes the simulated PLC's memory, as the machine would
// (a demo's control, not an operator's): run or stop, a fault code, the
// speed set point.
func (a *app) plcSimulate(w http.ResponseWriter, r *http.Request) {
	if a.plc == nil {
		http.Error(w, "no simulated PLC", http.StatusNotFound)
		return
	}
	fault, err1 := strconv.ParseUint(strings.TrimSpace(r.PostFormValue("fault")), 10, 16)
	speed, err2 := strconv.ParseUint(strings.TrimSpace(r.PostFormValue("speed")), 10, 16)
	if err1 != nil || err2 != nil {
		v, err := a.equipmentView(r.Context())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.Error = "the fault code and the speed are whole numbers from 0 to 65535"
		a.render(w, r, http.StatusBadRequest, "equipment", "Equipment", v)
		return
	}
	a.plc.set(r.PostFormValue("running") != "", uint16(fault), uint16(speed))
	http.Redirect(w, r, "/equipment", http.StatusSeeOther)
}
