package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/device/scale/scalesim"
	"github.com/interlock-mes/interlock/gate"
)

const tareStep = "/batches/B-2026-001/steps/S10-weigh-api"

// startWeighing signs op-7 in and starts the weighing step of B-2026-001.
func startWeighing(t *testing.T) (*browser, *plant, *app) {
	t.Helper()
	srv, p, a := newTestApp(t)
	op := signIn(t, srv, "op-7")
	op.get(tareStep)
	if status, body := op.post(tareStep, url.Values{"csrf": {op.csrf}, "action": {"start"}, "lot": {"L7"}}); status != http.StatusOK {
		t.Fatalf("start: %d\n%s", status, body)
	}
	return op, p, a
}

func settle(a *app, load string) {
	a.live.sim.SetLoad(decimal.RequireFromString(load))
	a.live.sim.SetStable(true)
}

// TestTare tares the empty container, weighs the material into it and
// completes the step with the net weight; the record has tare, gross
// and net.
func TestTare(t *testing.T) {
	t.Parallel()
	op, p, a := startWeighing(t)
	settle(a, "0.80") // the empty container
	status, body := op.post(tareStep, url.Values{"csrf": {op.csrf}, "action": {"tare"}, "lot": {"L7"}})
	if status != http.StatusOK {
		t.Fatalf("tare: %d\n%s", status, body)
	}
	mustContain(t, body, `id="live-tare">0.80 kg<`, "tared SC-01 at 0.80 kg")
	if got := a.live.sim.Snapshot().Net; !got.IsZero() {
		t.Errorf("after the tare the scale shows %s net, want 0", got)
	}

	settle(a, "13.30") // 12.50 kg of API-100 in the container
	status, body = op.get("/scale")
	var rd scaleReading
	if err := json.Unmarshal([]byte(body), &rd); status != http.StatusOK || err != nil || rd.Value != "12.50" || rd.Tare != "0.80" || !rd.Stable {
		t.Fatalf("/scale: %d %s", status, body)
	}
	if status, body = op.get(tareStep); !strings.Contains(body, `id="live-tare">0.80 kg<`) {
		t.Errorf("the step screen does not show the tare: %d", status)
	}
	status, body = op.post(tareStep, url.Values{"csrf": {op.csrf}, "action": {"complete-scale"}, "lot": {"L7"}})
	if status != http.StatusOK {
		t.Fatalf("complete with 12.50 kg net on a 0.80 kg tare: %d\n%s", status, body)
	}
	mustContain(t, body, "in-progress → complete")

	recs := batchRecords(t, p, "batch/B-2026-001")
	last := recs[len(recs)-1]
	if last.Type != "step.completed" {
		t.Fatalf("the last record is %s", last.Type)
	}
	var ev []gate.Evidence
	if err := json.Unmarshal(last.Evidence, &ev); err != nil {
		t.Fatalf("the evidence: %v\n%s", err, last.Evidence)
	}
	want := map[string]string{"net-weight": "12.5", "net-weight.tare": "0.8", "net-weight.gross": "13.3"}
	for _, e := range ev {
		w, ok := want[e.Name]
		if !ok {
			continue
		}
		delete(want, e.Name)
		if !e.Value.Equal(decimal.RequireFromString(w)) || e.Unit != "kg" || e.Instrument != "SC-01" || e.Source != gate.SourceDevice || !e.Stable {
			t.Errorf("evidence %s: %+v, want %s kg stable from SC-01", e.Name, e, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("the completion lacks %v: %s", want, last.Evidence)
	}
}

// TestTareRefused: a tare on an unsettled pan, a tare the scale cannot
// take, and one before the step starts are each told on the page; the
// scale keeps its tare.
func TestTareRefused(t *testing.T) {
	t.Parallel()
	op, _, a := startWeighing(t)
	tare := func(want int, says ...string) {
		t.Helper()
		status, body := op.post(tareStep, url.Values{"csrf": {op.csrf}, "action": {"tare"}, "lot": {"L7"}})
		if status != want {
			t.Fatalf("tare: %d, want %d\n%s", status, want, body)
		}
		mustContain(t, body, append([]string{`id="error"`, "Not tared", `id="live-tare">0.00 kg<`}, says...)...)
	}

	a.live.sim.SetLoad(decimal.RequireFromString("0.80"))
	a.live.sim.SetStable(false)
	tare(http.StatusConflict, "not settled")

	settle(a, "0.80")
	a.live.sim.Script("T", "T I") // the scale cannot tare now
	tare(http.StatusServiceUnavailable, "did not tare", "not executable")

	a.live.sim.SetCondition(scalesim.Overload)
	tare(http.StatusServiceUnavailable, "did not tare", "overload")
	a.live.sim.SetCondition(scalesim.Normal)

	if tr, err := a.live.tareWeight(context.Background()); err != nil || !tr.Value.IsZero() {
		t.Errorf("after refused tares the scale holds a tare of %s (%v)", tr.Value, err)
	}
	// Settled and answering, the same tare is taken.
	if status, body := op.post(tareStep, url.Values{"csrf": {op.csrf}, "action": {"tare"}}); status != http.StatusOK {
		t.Fatalf("tare: %d\n%s", status, body)
	}
}

// TestTareCSRF: a tare without the page's CSRF token is refused and the
// scale is not tared.
func TestTareCSRF(t *testing.T) {
	t.Parallel()
	op, _, a := startWeighing(t)
	settle(a, "0.80")
	if status, _ := op.post(tareStep, url.Values{"action": {"tare"}}); status != http.StatusForbidden {
		t.Errorf("tare without a CSRF token: %d, want 403", status)
	}
	if status, _ := op.post(tareStep, url.Values{"csrf": {"00"}, "action": {"tare"}}); status != http.StatusForbidden {
		t.Errorf("tare with a wrong CSRF token: %d, want 403", status)
	}
	for _, c := range a.live.sim.Commands() {
		if c == "T" {
			t.Fatalf("the scale was sent T: %v", a.live.sim.Commands())
		}
	}
}

// TestTareBeforeStart: the scale is tared for a step in progress only.
func TestTareBeforeStart(t *testing.T) {
	t.Parallel()
	srv, _, a := newTestApp(t)
	settle(a, "0.80")
	op := signIn(t, srv, "op-7")
	op.get(tareStep)
	status, body := op.post(tareStep, url.Values{"csrf": {op.csrf}, "action": {"tare"}})
	if status != http.StatusConflict {
		t.Fatalf("tare of a pending step: %d, want 409\n%s", status, body)
	}
	mustContain(t, body, `id="error"`, "once the step is started")
	if slices.Contains(a.live.sim.Commands(), "T") {
		t.Errorf("the scale was sent T: %v", a.live.sim.Commands())
	}
}
