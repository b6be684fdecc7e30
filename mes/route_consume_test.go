package mes_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/storage"
)

// TestRouteStepConsumption: what a route step's completion consumes is
// the route's to say, as a caller of the engine (or of its HTTP front
// door) would try otherwise: a lot other than the one scanned, a lot in
// quarantine, a material the step does not use, more than was weighed,
// another unit. Each is refused with its reason; the lot scanned, in the
// quantity weighed, is consumed.
func TestRouteStepConsumption(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		env := mestest.NewOn(t, s, clock, nil).Plant()
		step := weighingInProgress(t, env, "batch-C")
		refs := map[string]string{"scale": "SC-01"}
		n := 0
		complete := func(consume ...event.Consumption) error {
			n++
			_, err := env.Engine.Execute(ctx, mes.Request{ID: fmt.Sprint("s1-complete-", n), Model: step, Subject: "batch-C", Step: "S1",
				Command: mes.CmdComplete, Actor: "op-7", Refs: refs, Consume: consume,
				Evidence: []gate.Evidence{{Name: "lot-scan", Identity: "L7", Source: gate.SourceManual},
					{Name: "net-weight", HasValue: true, Value: decimal.RequireFromString("12.50"), Unit: "kg", Source: gate.SourceManual, Stable: true}}})
			return err
		}
		kg := func(lot, q string) event.Consumption {
			return event.Consumption{Lot: lot, Quantity: decimal.RequireFromString(q), Unit: "kg"}
		}
		for _, c := range []struct {
			name    string
			consume []event.Consumption
			want    []gate.Code
		}{
			{"another lot than scanned", []event.Consumption{kg("L11", "12.5")}, []gate.Code{route.CodeConsumedNotScanned}},
			{"a lot in quarantine", []event.Consumption{kg("L8", "12.5")}, []gate.Code{gate.CodeLotNotReleased, route.CodeConsumedNotScanned}},
			{"a material the step does not use", []event.Consumption{kg("L7", "12.5"), kg("L9", "1")}, []gate.Code{route.CodeConsumedUnplanned}},
			{"more than weighed", []event.Consumption{kg("L7", "12.6")}, []gate.Code{route.CodeConsumedQuantity}},
			{"another unit", []event.Consumption{{Lot: "L7", Quantity: decimal.RequireFromString("12500"), Unit: "g"}}, []gate.Code{route.CodeConsumedQuantity}},
		} {
			err := complete(c.consume...)
			for _, code := range c.want {
				if !hasDenialCode(err, code) {
					t.Errorf("%s: %v; want %s", c.name, err, code)
				}
			}
		}
		if err := complete(kg("L7", "12.50")); err != nil {
			t.Fatalf("the scanned lot, as weighed: %v", err)
		}
	})
}

// startOnRoute has r drafted by qa-3 and approved by qa-4 (registered
// here), and batch released and started on it by sv-1 and op-7, as
// mestest's plant has them; it returns the approved version.
func startOnRoute(t testing.TB, env *mestest.Env, r *route.Route, batch string) *route.Version {
	t.Helper()
	ctx := context.Background()
	env.Fact("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
	env.Fact("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
	rs := mestest.Must[*route.Registry](t)(route.NewRegistry(env.Engine, nil))
	mestest.Must[*mes.Outcome](t)(rs.Draft(ctx, route.DraftRequest{CommandID: "draft", Actor: "qa-3", Route: r}))
	mestest.Must[*mes.Outcome](t)(rs.Approve(ctx, route.VersionRequest{CommandID: "approve", Actor: "qa-4", Product: r.Product, Version: r.Version}))
	v := mestest.Must[*route.Version](t)(rs.Load(ctx, r.Product, r.Version))
	binding := mestest.Must[route.Binding](t)(rs.Bind(ctx, r.Product, r.Version))
	m := mestest.Must[*mes.Model](t)(lifecycle.Batch(lifecycle.Every(mestest.Must[mes.Option](t)(route.BindOnStart()))))
	for _, req := range []mes.Request{
		{ID: "release-" + batch, Model: m, Subject: batch, Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "start-" + batch, Model: m, Subject: batch, Command: mes.CmdStart, Actor: "op-7", Refs: binding.Refs(), Data: binding.Data()},
	} {
		mestest.Must[*mes.Outcome](t)(env.Engine.Execute(ctx, req))
	}
	return v
}

// TestRouteStepConsumptionModel checks the rule on random consumptions
// against a reference: the dry run of a weighing's completion (12.50 kg
// of API-100 from scanned lot L7) allows exactly those that consume
// nothing, or consume L7 alone, in kg, 12.5 in all; a lot named twice is
// a bad request.
func TestRouteStepConsumptionModel(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	ctx := context.Background()
	step := weighingInProgress(t, env, "batch-M")
	refs := map[string]string{"scale": "SC-01"}
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(0, 3).Draw(rt, "consumptions")
		var cs []event.Consumption
		seen := map[string]bool{}
		dup, total, onlyL7kg := false, decimal.Zero, true
		for i := range n {
			lot := rapid.SampledFrom([]string{"L7", "L8", "L9", "L11"}).Draw(rt, fmt.Sprint("lot ", i))
			q := rapid.SampledFrom([]string{"12.5", "12.50", "6.25", "0.1", "12500"}).Draw(rt, fmt.Sprint("quantity ", i))
			unit := rapid.SampledFrom([]string{"kg", "g"}).Draw(rt, fmt.Sprint("unit ", i))
			dup = dup || seen[lot]
			seen[lot] = true
			onlyL7kg = onlyL7kg && lot == "L7" && unit == "kg"
			total = total.Add(decimal.RequireFromString(q))
			cs = append(cs, event.Consumption{Lot: lot, Quantity: decimal.RequireFromString(q), Unit: unit})
		}
		vd, err := env.Engine.Check(ctx, mes.Request{Model: step, Subject: "batch-M", Step: "S1", Command: mes.CmdComplete, Actor: "op-7",
			Refs: refs, Consume: cs, Evidence: []gate.Evidence{{Name: "lot-scan", Identity: "L7", Source: gate.SourceManual},
				{Name: "net-weight", HasValue: true, Value: decimal.RequireFromString("12.50"), Unit: "kg", Source: gate.SourceManual, Stable: true}}})
		if dup {
			if !errors.Is(err, interlock.ErrInvalid) {
				rt.Fatalf("a lot consumed twice: %v, %+v; want a bad request", err, vd)
			}
			return
		}
		if err != nil {
			rt.Fatal(err)
		}
		want := n == 0 || (onlyL7kg && total.Equal(decimal.RequireFromString("12.5")))
		if vd.Allowed != want {
			rt.Fatalf("consuming %+v: allowed %v (%v), reference %v", cs, vd.Allowed, vd.Reasons, want)
		}
	})
}

// weighingInProgress adds to env's plant a minimum weight on SC-01 and
// lots L8 (API-100, in quarantine), L9 (EXC-200) and L11 (API-100), starts
// batch on a route whose one step S1 scans a lot of API-100 (typing
// allowed) and weighs 12.50 ± 0.05 kg of it, starts S1 on SC-01 as op-7,
// and returns S1's model.
func weighingInProgress(t testing.TB, env *mestest.Env, batch string) *mes.Model {
	t.Helper()
	now := env.Clock.Now()
	env.Fact("equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid",
		"due": now.Add(30 * 24 * time.Hour), "min_weight": "0.5", "min_weight_unit": "kg"})
	for _, l := range []struct {
		id, material string
		release      bool
	}{{"L8", "API-100", false}, {"L9", "EXC-200", true}, {"L11", "API-100", true}} {
		env.Fact("lot", event.LotStream(l.id), mes.CmdReceive, event.Receipt{Material: l.material, Quantity: decimal.NewFromInt(50), Unit: "kg",
			Expiry: now.Add(90 * 24 * time.Hour)})
		if l.release {
			env.Fact("lot", event.LotStream(l.id), mes.CmdRelease, nil)
		}
	}
	r := &route.Route{Product: "CON-1", Version: 1, Operations: []route.Operation{{ID: "OP1", Name: "Dispense", Steps: []route.Step{
		{ID: "S1", Instructions: "Scan the API lot and weigh 12.5 kg of it.", Requirements: []route.Requirement{
			route.ScanLot{Name: "lot-scan", Material: "API-100", AllowTyped: true},
			route.Weigh{Name: "net-weight", Material: "API-100", Target: decimal.RequireFromString("12.5"), Below: decimal.RequireFromString("0.05"),
				Above: decimal.RequireFromString("0.05"), Unit: "kg", Bounds: gate.Inclusive},
		}},
	}}}}
	v := startOnRoute(t, env, r, batch)
	step := mestest.Must[*mes.Model](t)(route.StepModel(v, "S1", nil))
	mestest.Must[*mes.Outcome](t)(env.Engine.Execute(context.Background(), mes.Request{ID: "s1-start-" + batch, Model: step, Subject: batch,
		Step: "S1", Command: mes.CmdStart, Actor: "op-7", Refs: map[string]string{"scale": "SC-01"}}))
	return step
}
