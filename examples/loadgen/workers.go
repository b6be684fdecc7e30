package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"github.com/simonvetter/modbus"

	pml "github.com/interlock-mes/interlock/device/packml"
	"github.com/interlock-mes/interlock/device/plc"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/packml"
)

// stopped says whether the run's time is up: a worker checks it before
// each command, so that no command is cut off half way.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// pause waits d, or until stop.
func pause(stop <-chan struct{}, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
	case <-t.C:
	}
}

// operator runs batches one after another until stop: release, start on
// the route, S10 (weigh on scale sc from lot, consuming it), S20 (pH),
// complete with the finished lot. A weighing the scale gives out of
// tolerance is denied and weighed again.
func (p *plant) operator(ctx context.Context, stop <-chan struct{}, i int, ts tallies) error {
	op, sc, lot := p.operatorID(i), p.scaleID(i%p.cfg.Scales), p.lotID(i%p.cfg.Lots)
	rng := rand.New(rand.NewPCG(uint64(p.cfg.Seed), uint64(i)))
	n, cmd, weighings := 0, 0, 0
	run := func(k Kind, req mes.Request) (*mes.Outcome, error) {
		cmd++
		req.ID = p.id(op, strconv.Itoa(cmd))
		if req.Actor == "" {
			req.Actor = op
		}
		return p.exec(ctx, ts, k, req)
	}
	// must runs a command that the plant expects to be allowed.
	must := func(k Kind, req mes.Request) error {
		if stopped(stop) {
			return errStop
		}
		_, err := run(k, req)
		return err
	}
	for !stopped(stop) {
		n++
		b := fmt.Sprintf("batch/%s-%d", op, n)
		scale := map[string]string{"scale": sc}
		if err := must(KindBatchRelease, mes.Request{Model: p.batch, Subject: b, Command: mes.CmdRelease, Actor: p.supervisor()}); err != nil {
			return err
		}
		if err := must(KindBatchStart, mes.Request{Model: p.batch, Subject: b, Command: mes.CmdStart, Refs: p.binding.Refs(), Data: p.binding.Data()}); err != nil {
			return err
		}
		if err := must(KindStepStart, mes.Request{Model: p.s10, Subject: b, Step: "S10", Command: mes.CmdStart, Refs: scale}); err != nil {
			return err
		}
		for {
			if stopped(stop) {
				return errStop
			}
			weighings++
			grams, bad := 12460+rng.IntN(81), outOfTolerance(weighings, p.cfg.DenyRate)
			if bad {
				grams = 12560 + rng.IntN(100)
			}
			r, err := p.reading(sc, fmt.Sprintf("ST,GS,+%05d.%03dkg", grams/1000, grams%1000))
			if err != nil {
				return err
			}
			scan := gate.Evidence{Name: "lot-scan", Identity: lot, Source: gate.SourceScanner, Instrument: "SCN-" + op}
			_, err = run(KindStepComplete, mes.Request{Model: p.s10, Subject: b, Step: "S10", Command: mes.CmdComplete, Refs: scale,
				Evidence: []gate.Evidence{scan, evidence("net-weight", r)},
				Consume:  []event.Consumption{{Lot: lot, Quantity: r.Value, Unit: r.Unit}}})
			if bad && errors.Is(err, mes.ErrDenied) {
				continue // weighed again
			}
			if err != nil {
				return err
			}
			break
		}
		if err := must(KindStepStart, mes.Request{Model: p.s20, Subject: b, Step: "S20", Command: mes.CmdStart}); err != nil {
			return err
		}
		ph := gate.Evidence{Name: "ph", HasValue: true, Value: decimal.New(7000+int64(rng.IntN(400)), -3), Unit: "pH", Source: gate.SourceDevice}
		if err := must(KindStepComplete, mes.Request{Model: p.s20, Subject: b, Step: "S20", Command: mes.CmdComplete, Evidence: []gate.Evidence{ph}}); err != nil {
			return err
		}
		if err := must(KindBatchComplete, mes.Request{Model: p.batch, Subject: b, Command: mes.CmdComplete,
			Produce: []mes.Production{{Lot: fmt.Sprintf("FG-%s-%d", op, n), Material: p.product(), Quantity: decimal.NewFromInt(1000), Unit: "ea"}}}); err != nil {
			return err
		}
	}
	return nil
}

// outOfTolerance says whether a worker's n-th weighing (from 1) is one
// of the share rate that falls outside tolerance. They are spread evenly,
// the first weighing among them, so that even a short run has its
// denials: 0.2 makes the 1st, 6th, 11th… out of tolerance.
func outOfTolerance(n int, rate float64) bool {
	at := func(n int) int { return int(float64(n)*rate + 1 - rate) }
	return rate > 0 && at(n) > at(n-1)
}

// errStop ends a worker when the run's time is up.
var errStop = errors.New("stopped")

// checkweigher streams weights from scale i until stop, each line parsed
// as the scale adapter parses it and run as a gated command on the
// scale's checkweigh stream; a weight out of tolerance is denied.
func (p *plant) checkweigher(ctx context.Context, stop <-chan struct{}, i int, ts tallies) error {
	sc := p.scaleID(i)
	rng := rand.New(rand.NewPCG(uint64(p.cfg.Seed), uint64(1000+i)))
	subject := "checkweigh/" + sc
	refs := map[string]string{"scale": sc}
	for n := 1; !stopped(stop); n++ {
		grams, bad := 491+rng.IntN(19), outOfTolerance(n, p.cfg.DenyRate)
		if bad {
			grams = 511 + rng.IntN(20)
		}
		r, err := p.reading(sc, fmt.Sprintf("ST,GS,+0000.%03dkg", grams))
		if err != nil {
			return err
		}
		_, err = p.exec(ctx, ts, KindCheckweigh, mes.Request{ID: p.id(sc, strconv.Itoa(n)), Model: p.checkweigh, Subject: subject,
			Command: "weigh", Actor: "device:" + sc, Refs: refs, Evidence: []gate.Evidence{evidence("weight", r)}})
		if err != nil && !(bad && errors.Is(err, mes.ErrDenied)) {
			return err // a weight within tolerance must pass
		}
		pause(stop, p.cfg.ScaleInterval)
	}
	return nil
}

// recalibrator recalibrates the scales in turn every cfg.Recalibrate,
// moving a fact that operators' and checkweighers' gates read: their
// appends conflict and the engine evaluates them again.
func (p *plant) recalibrator(ctx context.Context, stop <-chan struct{}, ts tallies) error {
	for n := 1; ; n++ {
		pause(stop, p.cfg.Recalibrate)
		if stopped(stop) {
			return nil
		}
		sc := p.scaleID((n - 1) % p.cfg.Scales)
		raw, err := jsonOf(calibration(time.Now()))
		if err != nil {
			return err
		}
		if _, err := p.exec(ctx, ts, KindCalibrate, mes.Request{ID: p.id("cal", strconv.Itoa(n)), Model: p.equip,
			Subject: event.EquipmentStream(sc), Command: mes.CmdCalibrate, Actor: p.supervisor(), Data: raw}); err != nil {
			return err
		}
	}
}

// machineCycle is the PackML states a simulated machine goes through,
// over and over after Stopped: reset, start, run, a hold and unhold,
// complete.
var machineCycle = []pml.State{pml.Resetting, pml.Idle, pml.Starting, pml.Execute, pml.Holding, pml.Held, pml.Unholding, pml.Execute,
	pml.Completing, pml.Complete}

// checkCycle proves that every move of machineCycle is one the PackML
// model explains, so that the run records no illegal change.
func checkCycle() error {
	from := pml.Stopped
	for i := 0; i <= len(machineCycle); i++ {
		to := machineCycle[i%len(machineCycle)]
		if _, err := packml.Explain(pml.Change{From: from, To: to}); err != nil {
			return fmt.Errorf("machine cycle: %w", err)
		}
		from = to
	}
	return nil
}

// simPLC is a machine's PLC: a Modbus TCP server on loopback whose holding
// register 0 is the PackML state number.
type simPLC struct {
	addr string
	srv  *modbus.ModbusServer

	mu    sync.Mutex
	state uint16
}

func startPLC() (*simPLC, error) {
	s := &simPLC{state: uint16(pml.Stopped.Number())}
	// The library listens on the URL it is given and does not say which
	// port the OS chose: ask for a free one first, and try again in the
	// rare case that it is taken in between.
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.addr = l.Addr().String()
		l.Close()
		if s.srv, err = modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + s.addr, MaxClients: 2,
			Logger: log.New(io.Discard, "", 0)}, s); err != nil {
			return nil, err
		}
		if err = s.srv.Start(); err == nil {
			return s, nil
		} else if attempt == 5 {
			return nil, fmt.Errorf("start simulated PLC: %w", err)
		}
	}
}

func (s *simPLC) set(st pml.State) {
	s.mu.Lock()
	s.state = uint16(st.Number())
	s.mu.Unlock()
}

func (s *simPLC) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (s *simPLC) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (s *simPLC) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}
func (s *simPLC) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	if req.Addr != 0 || req.Quantity != 1 {
		return nil, modbus.ErrIllegalDataAddress
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return []uint16{s.state}, nil
}

// machineTags is the tag map of a simulated machine: its PackML state.
func machineTags() (*plc.TagMap, error) {
	return plc.NewTagMap([]plc.Tag{{Name: "state", Area: plc.AreaHoldingRegister, Address: 0, Type: plc.TypeUint16, Role: plc.RolePackMLState}})
}

// runMachine runs PLC i until stop: the machine moves one state of its
// cycle, the poller reads the tags over Modbus TCP, and each PackML state
// change it reports runs through the engine as the command that explains
// it, with the state as device evidence, on the machine's stream.
func (p *plant) runMachine(ctx context.Context, stop <-chan struct{}, i int, ts tallies) (err error) {
	id := p.machineID(i)
	sim, err := startPLC()
	if err != nil {
		return err
	}
	defer sim.srv.Stop()
	tags, err := machineTags()
	if err != nil {
		return err
	}
	poller, err := plc.NewPoller(plc.ModbusConfig{Address: sim.addr, UnitID: 1}, tags, &plc.PollerConfig{EquipmentID: id, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, poller.Close()) }()
	subject := "packml/" + id
	n := 0
	for step := -1; !stopped(stop); step++ {
		if step >= 0 {
			sim.set(machineCycle[step%len(machineCycle)])
		}
		events, err := poller.Poll(ctx)
		if err != nil {
			return fmt.Errorf("poll %s: %w", id, err)
		}
		for _, ev := range events {
			if ev.Kind != plc.EventPackMLState || ev.PackML == nil || ev.PackML.From == "" {
				continue // the first read: no move to record
			}
			cmd, err := packml.Explain(*ev.PackML)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			n++
			_, err = p.exec(ctx, ts, KindPackML, mes.Request{ID: p.id(id, strconv.Itoa(n)), Model: p.packml, Subject: subject,
				Command: cmd, Actor: "device:" + id, Evidence: []gate.Evidence{{Name: "packml-state", Identity: string(ev.PackML.To),
					Source: gate.SourceDevice, Instrument: id, Stable: true}}})
			if err != nil {
				return err
			}
		}
		pause(stop, p.cfg.PLCInterval)
	}
	return nil
}
