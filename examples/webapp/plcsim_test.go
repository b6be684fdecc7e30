package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/route"
)

// TestPLCFault: the simulated PLC, read over Modbus TCP by the poller,
// reports a fault; the mixer is taken out of service through the engine,
// by the PLC's actor; a supervisor returns it from the equipment page.
func TestPLCFault(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	sv := signIn(t, srv, "sv-1")
	_, body := sv.get("/equipment")
	mustContain(t, body, "MX-01", "SC-01", "Simulated PLC")
	postForm(t, sv, "/plc/simulator", http.StatusBadRequest, url.Values{"fault": {"x"}, "speed": {"120"}})
	sv.get("/equipment")
	postForm(t, sv, "/plc/simulator", http.StatusOK, url.Values{"running": {"on"}, "fault": {"17"}, "speed": {"150"}})

	mixer := event.EquipmentStream(mixerID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := p.engine.State(t.Context(), p.equip, mixer, "")
		if err != nil {
			t.Fatal(err)
		}
		if st == mes.EquipmentOutOfService {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mixer is %q, want out of service after the PLC's fault", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	recs, err := p.store.Load(t.Context(), mixer, 1)
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Actor != "plc/"+mixerID {
		t.Errorf("taken out of service by %q, want the PLC", last.Actor)
	}
	_, body = sv.get("/equipment")
	mustContain(t, body, "code 17", "running")
	// The mixing step now waits for the mixer, as the dry run says.
	v, err := p.engine.Check(t.Context(), p.taskRequest(p.task(mixStepID), "batch/B-2026-001", "op-7", mes.CmdStart))
	if err != nil {
		t.Fatal(err)
	}
	if !hasReason(v.Reasons, gate.CodeEquipmentUnavailable) {
		t.Errorf("the mixing step's dry run with the mixer out of service: %v, want %s", v.Reasons, gate.CodeEquipmentUnavailable)
	}

	postForm(t, sv, "/plc/simulator", http.StatusOK, url.Values{"fault": {"0"}, "speed": {"150"}})
	body = postForm(t, sv, "/equipment/MX-01/return", http.StatusOK, url.Values{"reason": {"bearing replaced"}})
	mustContain(t, body, "out-of-service → in-service")
	sv.get("/equipment")
	postForm(t, sv, "/equipment/NOPE/return", http.StatusNotFound, url.Values{"reason": {"x"}})
}

func hasReason(rs []gate.Reason, c gate.Code) bool {
	for _, r := range rs {
		if r.Code == c {
			return true
		}
	}
	return false
}

// TestTaskInput: the mixing and packing pages answer bad input with a
// message, an unknown step or batch with 404, never a 500.
func TestTaskInput(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	op := signIn(t, srv, "op-7")
	const mix = "/batches/B-2026-001/steps/S20-mix"
	_, body := op.get(mix)
	mustContain(t, body, "mix the blend on mixer MX-01", string(route.CodeOutOfOrder))
	if strings.Contains(body, string(gate.CodeRefMissing)) {
		t.Error("the dry run misses the equipment the server names")
	}
	postForm(t, op, mix, http.StatusBadRequest, url.Values{"action": {"dance"}})
	if status, _ := op.get("/batches/B-2026-001/steps/S99"); status != http.StatusNotFound {
		t.Errorf("an unknown step: %d, want 404", status)
	}
	if status, _ := op.get("/batches/B-9/steps/S20-mix"); status != http.StatusNotFound {
		t.Errorf("an unknown batch: %d, want 404", status)
	}
	op.get(mix)
	postForm(t, op, "/batches/B-9/steps/S20-mix", http.StatusNotFound, url.Values{"action": {"start"}})
}
