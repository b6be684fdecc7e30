package main

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/route"
)

// TestBatchBindsRoute: the seeded batches ran their start bound to the
// approved route version of the product, by its digest, and the route was
// drafted and approved by two people.
func TestBatchBindsRoute(t *testing.T) {
	_, p := newTestServer(t)
	ctx := t.Context()
	v, err := p.routes.Load(ctx, product, routeVersion)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != route.Approved {
		t.Fatalf("route %s v%d is %s, want approved", product, routeVersion, v.Status)
	}
	recs, err := p.store.Load(ctx, route.Stream(product, routeVersion), 1)
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]bool{}
	for _, r := range recs {
		actors[r.Actor] = true
	}
	if !actors["qa-3"] || !actors["qa-4"] {
		t.Errorf("route drafted and approved by %v, want qa-3 and qa-4", actors)
	}
	for _, b := range batches {
		bound, err := p.routes.VerifyBinding(ctx, batchRecords(t, p, b))
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if bound.Route.Product != product || bound.Route.Version != routeVersion || bound.Digest != v.Digest {
			t.Errorf("%s is bound to %s v%d digest %s, want %s v%d digest %s", b,
				bound.Route.Product, bound.Route.Version, bound.Digest, product, routeVersion, v.Digest)
		}
	}
}

// TestRouteStepNeedsBinding: a route step does not run on a batch that
// bound no route, and a batch does not start without an approved route.
func TestRouteStepNeedsBinding(t *testing.T) {
	_, p := newTestServer(t)
	ctx := t.Context()
	const unbound = "batch/B-2026-999"
	if err := p.exec(ctx, mes.Request{Model: p.batch, Subject: unbound, Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
		t.Fatal(err)
	}
	var denied *mes.DeniedError
	_, err := p.engine.Execute(ctx, mes.Request{ID: "start-unbound", Model: p.batch, Subject: unbound, Command: mes.CmdStart, Actor: "op-7"})
	if !errors.As(err, &denied) || !hasReason(denied.Reasons, gate.CodeRefMissing) {
		t.Errorf("a batch started without a route: %v, want a denial with %s", err, gate.CodeRefMissing)
	}
	if _, _, err := p.routes.StepModelFor(ctx, unbound, mixStepID, nil); !errors.Is(err, route.ErrNotBound) {
		t.Errorf("StepModelFor an unbound batch: %v, want %v", err, route.ErrNotBound)
	}
	m := p.steps[weighStepID]
	_, err = p.engine.Execute(ctx, mes.Request{ID: "weigh-unbound", Model: m, Subject: unbound, Step: weighStepID, Command: mes.CmdStart,
		Actor: "op-7", Refs: map[string]string{"lot": "L7", "scale": "SC-01"}})
	if !errors.As(err, &denied) || !hasReason(denied.Reasons, route.CodeNotBound) {
		t.Errorf("the route's weighing step on an unbound batch: %v, want a denial with %s", err, route.CodeNotBound)
	}
	// On a bound batch the same step model passes the binding.
	vd, err := p.engine.Check(ctx, mes.Request{Model: m, Subject: "batch/B-2026-001", Step: weighStepID, Command: mes.CmdStart,
		Actor: "op-7", Refs: map[string]string{"lot": "L7", "scale": "SC-01"}})
	if err != nil {
		t.Fatal(err)
	}
	if hasReason(vd.Reasons, route.CodeNotBound) || hasReason(vd.Reasons, route.CodeOtherVersion) {
		t.Errorf("the route's weighing step on B-2026-001, bound on its start: %v", vd.Reasons)
	}
}

// TestStepsRunFromRoute: the weigh, mix and pack steps run as the
// approved route's step models, one per step, all in the app's registry
// (and so in its JSON front door); the route, not the app, orders them:
// mixing waits for the weighing's verification.
func TestStepsRunFromRoute(t *testing.T) {
	_, p := newTestServer(t)
	ctx := t.Context()
	for _, id := range []string{weighStepID, mixStepID, packStepID} {
		m, ok := p.registry.Model(route.StepModelName(product, id), routeVersion)
		if !ok || m != p.steps[id] {
			t.Fatalf("the registry does not hold the route's model of %s", id)
		}
		if got := m.Steps(); len(got) != 1 || got[0] != id {
			t.Errorf("%s's model runs %v, want %s alone", id, got, id)
		}
	}
	// B-2026-001 has its weighing to do: the route does not have mixing
	// next, so the dry run refuses it with the route's own reason, and the
	// weighing's model refuses to run the mixing step at all.
	vd, err := p.engine.Check(ctx, p.taskRequest(p.task(mixStepID), "batch/B-2026-001", "op-7", mes.CmdStart))
	if err != nil {
		t.Fatal(err)
	}
	if !hasReason(vd.Reasons, route.CodeOutOfOrder) {
		t.Errorf("mixing before the weighing: %v, want %s", vd.Reasons, route.CodeOutOfOrder)
	}
	var re *mes.RequestError
	if _, err := p.engine.Check(ctx, mes.Request{Model: p.steps[weighStepID], Subject: "batch/B-2026-001", Step: mixStepID,
		Command: mes.CmdStart, Actor: "op-7"}); !errors.As(err, &re) || re.Field != "Step" {
		t.Errorf("the weighing's model asked to start mixing: %v, want a request error on Step", err)
	}
	// Who may do what is the plant's: the untrained operator may not start
	// the dispensing, and QA may not start it either.
	for _, who := range []struct {
		actor string
		code  gate.Code
	}{{"op-8", gate.CodeTrainingMissing}, {"qa-3", gate.CodeRoleMissing}} {
		vd, err := p.engine.Check(ctx, mes.Request{Model: p.steps[weighStepID], Subject: "batch/B-2026-001", Step: weighStepID,
			Command: mes.CmdStart, Actor: who.actor, Refs: map[string]string{"scale": "SC-01"}})
		if err != nil {
			t.Fatal(err)
		}
		if !hasReason(vd.Reasons, who.code) {
			t.Errorf("%s starts the dispensing: %v, want %s", who.actor, vd.Reasons, who.code)
		}
	}
	// The made batch ran every step by the route's models: its records
	// name them.
	names := map[string]bool{}
	for _, r := range batchRecords(t, p, "batch/B-2026-000") {
		var tr struct{ Model, Step string }
		if err := json.Unmarshal(r.Payload, &tr); err == nil && tr.Step != "" {
			names[tr.Model] = true
		}
	}
	for _, id := range []string{weighStepID, mixStepID, packStepID} {
		if !names[route.StepModelName(product, id)] {
			t.Errorf("B-2026-000's records name the models %v; none is %s", names, route.StepModelName(product, id))
		}
	}
}
