package mes_test

import (
	"context"
	"errors"
	"testing"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/storage"
)

// Every step of a route has its own model, so one registry holds them all
// and a service that finds the model by name runs each step by its own
// rules; a request that names one step's model for another step is
// refused, and the route's order still reads every step.
func TestRouteStepModelsInOneRegistry(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		o := newOrderEnv(t, s, clock)
		rs := mestest.Must[*route.Registry](t)(route.NewRegistry(o.env.Engine, nil))
		v := mestest.Must[*route.Version](t)(rs.Load(ctx, "ORD-1", 1))
		models := mestest.Must[[]*mes.Model](t)(route.StepModels(v, nil))
		if len(models) != 4 {
			t.Fatalf("StepModels gave %d models; want 4", len(models))
		}
		reg := mestest.Must[*mes.Registry](t)(mes.NewRegistry(models...))
		byName := func(step string) *mes.Model {
			t.Helper()
			m, ok := reg.Model(route.StepModelName("ORD-1", step), 1)
			if !ok {
				t.Fatalf("the registry has no model for step %s", step)
			}
			return m
		}
		n := 0
		run := func(model *mes.Model, step string, cmd mes.Command) (*mes.Outcome, error) {
			n++
			req := mes.Request{ID: "reg-" + string(rune('a'+n)), Model: model, Subject: "batch-O", Step: step, Command: cmd, Actor: "op-7"}
			if cmd == mes.CmdComplete {
				req.Evidence = []gate.Evidence{{Name: "note", Identity: "fine", Source: gate.SourceManual}}
			}
			return o.env.Engine.Execute(ctx, req)
		}
		var re *mes.RequestError
		if _, err := run(byName("R1"), "R2", mes.CmdStart); !errors.As(err, &re) || re.Field != "Step" {
			t.Errorf("R1's model run for step R2: %v; want a *RequestError on Step", err)
		}
		for _, step := range []string{"R1", "R2", "R3"} {
			for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
				if _, err := run(byName(step), step, c); err != nil {
					t.Fatalf("%s %s through the registry: %v", step, c, err)
				}
			}
		}
		if _, err := run(byName("R1"), "R1", mes.CmdStart); !errors.Is(err, mes.ErrIllegalTransition) {
			t.Errorf("R1 started again: %v; want an illegal transition", err)
		}
		if st, err := o.env.Engine.State(ctx, byName("R3"), "batch-O", "R3"); err != nil || st != lifecycle.StepComplete {
			t.Errorf("R3 is %q (%v); want complete", st, err)
		}
		// The model the order environment built for R4 is another
		// instance of the same step's model: it reads the same records.
		if _, err := o.env.Engine.Execute(ctx, mes.Request{ID: "r4", Model: o.steps["R4"], Subject: "batch-O", Step: "R4",
			Command: mes.CmdStart, Actor: "op-7"}); err != nil {
			t.Errorf("R4 after R3: %v", err)
		}
	})
	if _, err := route.StepModels(nil, nil); err == nil {
		t.Error("StepModels(nil) gave no error")
	}
}

// A lot scan that allows typing accepts a typed lot id, recorded as manual
// entry; one that does not accepts a scanner's read alone.
func TestRouteScanLotTyped(t *testing.T) {
	t.Parallel()
	for _, typed := range []bool{false, true} {
		env := mestest.New(t, nil).Plant()
		ctx := context.Background()
		r := &route.Route{Product: "SCAN-1", Version: 1, Operations: []route.Operation{{ID: "OP1", Name: "Dispense", Steps: []route.Step{
			{ID: "S1", Instructions: "Scan the lot.", Requirements: []route.Requirement{route.ScanLot{Name: "lot-scan", Material: "API-100", AllowTyped: typed}}},
		}}}}
		v := startOnRoute(t, env, r, "batch-S")
		if got := v.Route.Operations[0].Steps[0].Requirements[0].(route.ScanLot).AllowTyped; got != typed {
			t.Fatalf("AllowTyped %v came back from the record as %v", typed, got)
		}
		step := mestest.Must[*mes.Model](t)(route.StepModel(v, "S1", nil))
		mestest.Must[*mes.Outcome](t)(env.Engine.Execute(ctx, mes.Request{ID: "s1-start", Model: step, Subject: "batch-S", Step: "S1",
			Command: mes.CmdStart, Actor: "op-7"}))
		out, err := env.Engine.Execute(ctx, mes.Request{ID: "s1-typed", Model: step, Subject: "batch-S", Step: "S1", Command: mes.CmdComplete,
			Actor: "op-7", Evidence: []gate.Evidence{{Name: "lot-scan", Identity: "L7", Source: gate.SourceManual}}})
		switch {
		case typed && err != nil:
			t.Errorf("a typed lot where typing is allowed: %v", err)
		case !typed && !hasDenialCode(err, mes.CodeEvidenceWrongSource):
			t.Errorf("a typed lot where only a scanner is allowed: %v; want %s", err, mes.CodeEvidenceWrongSource)
		case !typed:
			if _, err := env.Engine.Execute(ctx, mes.Request{ID: "s1-scan", Model: step, Subject: "batch-S", Step: "S1", Command: mes.CmdComplete,
				Actor: "op-7", Evidence: []gate.Evidence{{Name: "lot-scan", Identity: "L7", Source: gate.SourceScanner, Instrument: "SCN-1"}}}); err != nil {
				t.Errorf("a scanned lot: %v", err)
			}
		default:
			if !out.Allowed || string(out.Records[0].Evidence) == "" {
				t.Errorf("typed completion: %+v", out)
			}
		}
	}
}
