package main

import (
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
	v, err := p.routes.Load(ctx, product, routeVersion)
	if err != nil {
		t.Fatal(err)
	}
	m, err := route.StepModel(v, weighStepID, nil)
	if err != nil {
		t.Fatal(err)
	}
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
