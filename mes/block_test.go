package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// stores runs fn against a fresh memory store and a fresh Postgres schema.
func stores(t *testing.T, fn func(t *testing.T, s storage.Store)) {
	clock := func() time.Time { return now }
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		fn(t, memory.New(&memory.Config{Clock: clock}))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock, ReadAllWait: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

// weighing is a two-step dispensing route for the block tests: S10 weighs
// API-100 from the planned lot on a scale, S20 mixes and needs S10 done.
type weighing struct {
	weigh, mix *mes.Model
}

func newWeighing(tb testing.TB) weighing {
	g := must[gate.Gate](tb)
	d := func(s string) gate.Tolerance {
		return gate.Tolerance{Target: decimalOf(tb, "12.50"), Below: decimalOf(tb, s), Above: decimalOf(tb, s), Unit: "kg", Bounds: gate.Inclusive}
	}
	weigh := must[*mes.Model](tb)(mes.NewModel("weigh-step", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepComplete).Initial(lifecycle.StepPending).Final(lifecycle.StepComplete).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"), mes.WithGates(
			g(gate.RequireRole("operator")),
			g(gate.TrainingCurrent("dispensing")),
			g(gate.EquipmentReady(gate.FromRef("scale"))),
			g(gate.LotUsable(gate.FromRef("lot"), "API-100")),
			g(gate.EvidencePresent("lot-scan", gate.FromRef("lot"))),
		)).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}}),
			mes.WithGates(
				g(gate.WithinTolerance("net-weight", d("0.05"))),
				g(gate.RequireSource("net-weight", gate.SourceDevice)),
				g(gate.RequireStable("net-weight")),
				g(gate.EquipmentReady(gate.FromRef("scale"))),
			)).
		Build())
	mix := must[*mes.Model](tb)(mes.NewModel("mix-step", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress).Initial(lifecycle.StepPending).Final(lifecycle.StepInProgress).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"), mes.WithGates(
			g(gate.PriorSteps([]gate.StepState{gate.StepComplete, gate.StepVerified}, "S10")),
		)).
		Build())
	return weighing{weigh: weigh, mix: mix}
}

func scan(id string) gate.Evidence {
	return gate.Evidence{Name: "lot-scan", Identity: id, Source: gate.SourceScanner, Instrument: "SCN-1"}
}

func weight(tb testing.TB, v string, src gate.Source, stable bool) gate.Evidence {
	return gate.Evidence{Name: "net-weight", HasValue: true, Value: decimalOf(tb, v), Unit: "kg", Source: src, Instrument: "SC-01", Stable: stable}
}

// TestBlocks shows each wrong action denied on both stores: no state changes,
// no material moves, and the denied attempt is on the record with the code of
// the gate that failed.
func TestBlocks(t *testing.T) {
	t.Parallel()
	type setup func(t *testing.T, e *mes.Engine, f *facts, w weighing)
	startS10 := func(lot, scanned, scale, actor string) mes.Request {
		return mes.Request{ID: "start-S10", Model: nil, Subject: "batch-B42", Step: "S10", Command: mes.CmdStart, Actor: actor,
			Refs: map[string]string{"lot": lot, "scale": scale}, Evidence: []gate.Evidence{scan(scanned)}}
	}
	started := func(t *testing.T, e *mes.Engine, _ *facts, w weighing) {
		req := startS10("L7", "L7", "SC-01", "op-7")
		req.Model = w.weigh
		if _, err := e.Execute(context.Background(), req); err != nil {
			t.Fatalf("start S10: %v", err)
		}
	}
	complete := func(tb testing.TB, ev gate.Evidence, lot string) mes.Request {
		return mes.Request{ID: "complete-S10", Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
			Refs: map[string]string{"lot": lot, "scale": "SC-01"}, Evidence: []gate.Evidence{ev},
			Consume: []event.Consumption{{Lot: lot, Quantity: ev.Value, Unit: "kg"}}}
	}
	tests := []struct {
		name  string
		setup setup
		req   func(t *testing.T, w weighing) mes.Request
		step  string // the step whose state must not change
		code  gate.Code
	}{
		{"wrong lot scanned", nil, func(t *testing.T, w weighing) mes.Request {
			r := startS10("L7", "L8", "SC-01", "op-7")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeIdentityMismatch},
		{"lot of the wrong material", func(t *testing.T, e *mes.Engine, f *facts, w weighing) {
			f.run("lot", event.LotStream("L9"), mes.CmdReceive, event.Receipt{Material: "EXC-200", Quantity: decimalOf(t, "10"), Unit: "kg"})
			f.run("lot", event.LotStream("L9"), mes.CmdRelease, nil)
		}, func(t *testing.T, w weighing) mes.Request {
			r := startS10("L9", "L9", "SC-01", "op-7")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeLotWrongMaterial},
		{"skipping a step", nil, func(t *testing.T, w weighing) mes.Request {
			return mes.Request{ID: "start-S20", Model: w.mix, Subject: "batch-B42", Step: "S20", Command: mes.CmdStart, Actor: "op-7"}
		}, "S20", gate.CodeStepMissing},
		{"out-of-tolerance weight", started, func(t *testing.T, w weighing) mes.Request {
			r := complete(t, weight(t, "12.61", gate.SourceDevice, true), "L7")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeAboveUpperLimit},
		{"calibration overdue", func(t *testing.T, e *mes.Engine, f *facts, w weighing) {
			f.run("equipment", event.EquipmentStream("SC-02"), mes.CmdRegister, map[string]string{"status": "available"})
			// Calibrated two hours ago, due an hour ago: recorded through an
			// engine whose clock stands at the calibration, since a
			// calibration already due when recorded is itself denied.
			earlier, err := mes.New(mes.StoreOf(e), &mes.Config{Clock: func() time.Time { return now.Add(-2 * time.Hour) }, Attestation: mestest.Attestation()})
			if err != nil {
				t.Fatal(err)
			}
			g := *f // the same command numbering
			g.e = earlier
			g.run("equipment", event.EquipmentStream("SC-02"), mes.CmdCalibrate, map[string]any{"status": "valid", "due": now.Add(-time.Hour)})
			f.n = g.n
			f.run("equipment", event.EquipmentStream("SC-02"), mes.CmdClean, map[string]any{"status": "clean"})
		}, func(t *testing.T, w weighing) mes.Request {
			r := startS10("L7", "L7", "SC-02", "op-7")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeCalibrationOverdue},
		{"untrained operator", func(t *testing.T, e *mes.Engine, f *facts, w weighing) {
			f.run("person", event.PersonStream("op-8"), mes.CmdRegister, map[string]string{"name": "Otto New"})
			f.run("person", event.PersonStream("op-8"), mes.CmdGrantRole, map[string]string{"role": "operator"})
		}, func(t *testing.T, w weighing) mes.Request {
			r := startS10("L7", "L7", "SC-01", "op-8")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeTrainingMissing},
		{"expired lot consumed", func(t *testing.T, e *mes.Engine, f *facts, w weighing) {
			started(t, e, f, w)
			f.run("lot", event.LotStream("L5"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: decimalOf(t, "40"), Unit: "kg", Expiry: now.Add(-24 * time.Hour)})
			f.run("lot", event.LotStream("L5"), mes.CmdRelease, nil)
		}, func(t *testing.T, w weighing) mes.Request {
			r := complete(t, weight(t, "12.50", gate.SourceDevice, true), "L5")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeLotExpired},
		{"quarantined lot consumed", func(t *testing.T, e *mes.Engine, f *facts, w weighing) {
			started(t, e, f, w)
			f.run("lot", event.LotStream("L6"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: decimalOf(t, "40"), Unit: "kg"})
		}, func(t *testing.T, w weighing) mes.Request {
			r := complete(t, weight(t, "12.50", gate.SourceDevice, true), "L6")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeLotNotReleased},
		{"over-consumption", func(t *testing.T, e *mes.Engine, f *facts, w weighing) {
			started(t, e, f, w)
			f.run("lot", event.LotStream("L4"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: decimalOf(t, "12.00"), Unit: "kg"})
			f.run("lot", event.LotStream("L4"), mes.CmdRelease, nil)
		}, func(t *testing.T, w weighing) mes.Request {
			r := complete(t, weight(t, "12.50", gate.SourceDevice, true), "L4")
			r.Model = w.weigh
			return r
		}, "S10", mes.CodeOverConsumption},
		{"manual entry where a device is demanded", started, func(t *testing.T, w weighing) mes.Request {
			r := complete(t, weight(t, "12.50", gate.SourceManual, true), "L7")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeSourceNotAllowed},
		{"another operator completes the step", func(t *testing.T, e *mes.Engine, f *facts, w weighing) {
			started(t, e, f, w)
			f.run("person", event.PersonStream("op-9"), mes.CmdRegister, map[string]string{"name": "Oscar Other"})
			f.run("person", event.PersonStream("op-9"), mes.CmdGrantRole, map[string]string{"role": "operator"})
		}, func(t *testing.T, w weighing) mes.Request {
			r := complete(t, weight(t, "12.50", gate.SourceDevice, true), "L7")
			r.Model, r.Actor = w.weigh, "op-9"
			return r
		}, "S10", mes.CodeContextOperator},
		{"reading from another scale", started, func(t *testing.T, w weighing) mes.Request {
			ev := weight(t, "12.50", gate.SourceDevice, true)
			ev.Instrument = "SC-07"
			r := complete(t, ev, "L7")
			r.Model = w.weigh
			return r
		}, "S10", mes.CodeContextInstrument},
		{"unstable reading", started, func(t *testing.T, w weighing) mes.Request {
			r := complete(t, weight(t, "12.50", gate.SourceDevice, false), "L7")
			r.Model = w.weigh
			return r
		}, "S10", gate.CodeUnstable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stores(t, func(t *testing.T, s storage.Store) {
				ctx := context.Background()
				e, _, f := newEngineOn(t, s)
				w := newWeighing(t)
				if tt.setup != nil {
					tt.setup(t, e, f, w)
				}
				req := tt.req(t, w)
				model := req.Model
				before, err := s.Load(ctx, req.Subject, 1)
				if err != nil {
					t.Fatal(err)
				}
				stateBefore := must[mes.State](t)(mes.Fold(model, tt.step, before))
				lotsBefore := map[string]int{}
				for _, c := range req.Consume {
					lotsBefore[c.Lot] = len(must[[]audit.Record](t)(loadLot(s, c.Lot)))
				}

				_, err = e.Execute(ctx, req)
				var de *mes.DeniedError
				if !errors.As(err, &de) {
					t.Fatalf("error = %v, want a denial", err)
				}
				if !hasCode(de.Reasons, tt.code) {
					t.Fatalf("reasons %v lack %s", de.Reasons, tt.code)
				}
				after, err := s.Load(ctx, req.Subject, 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before)+1 {
					t.Fatalf("subject has %d records, want %d: exactly the denied attempt", len(after), len(before)+1)
				}
				last := after[len(after)-1]
				var p event.Transition
				if err := json.Unmarshal(last.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if last.Type != event.Denied || last.Actor != req.Actor || !hasCode(p.Reasons, tt.code) {
					t.Errorf("last record %s by %s with reasons %v; want the denied attempt by %s with %s", last.Type, last.Actor, p.Reasons, req.Actor, tt.code)
				}
				if st := must[mes.State](t)(mes.Fold(model, tt.step, after)); st != stateBefore {
					t.Errorf("step %s moved from %s to %s on a denial", tt.step, stateBefore, st)
				}
				for lot, n := range lotsBefore {
					if got := len(must[[]audit.Record](t)(loadLot(s, lot))); got != n {
						t.Errorf("lot %s stream grew from %d to %d records on a denial", lot, n, got)
					}
				}
				if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
					t.Errorf("audit trail: %v", err)
				}
			})
		})
	}
}

func hasCode(rs []gate.Reason, code gate.Code) bool {
	return slices.ContainsFunc(rs, func(r gate.Reason) bool { return r.Code == code })
}

// TestDispenseOnBothStores runs the weighing step through on both stores:
// the consumption moves the lot's quantity in the same append, links the lot
// to the batch, and a second consumption beyond what is left is denied.
func TestDispenseOnBothStores(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		e, _, _ := newEngineOn(t, s)
		w := newWeighing(t)
		run := func(req mes.Request) (*mes.Outcome, error) {
			req.Model = w.weigh
			return e.Execute(ctx, req)
		}
		if _, err := run(mes.Request{ID: "s1", Subject: "batch-B42", Step: "S10", Command: mes.CmdStart, Actor: "op-7",
			Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{scan("L7")}}); err != nil {
			t.Fatalf("start: %v", err)
		}
		out, err := run(mes.Request{ID: "c1", Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
			Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{weight(t, "12.48", gate.SourceDevice, true)},
			Consume: []event.Consumption{{Lot: "L7", Quantity: decimalOf(t, "12.48"), Unit: "kg"}}})
		if err != nil || out.To != lifecycle.StepComplete {
			t.Fatalf("complete: %+v, %v", out, err)
		}
		if len(out.Records) != 2 || out.Records[1].Stream != event.LotStream("L7") || out.Records[1].Type != event.LotConsumed {
			t.Fatalf("records %+v: want the step event and the lot's consumption", out.Records)
		}
		if l := out.Records[0].Links; len(l) != 1 || l[0] != (audit.Link{From: event.LotStream("L7"), To: "batch-B42", Kind: "consumed"}) {
			t.Errorf("links %v: want lot/L7 consumed into batch-B42", l)
		}
		lot, err := mes.NewFacts(s, "", nil).Lot(ctx, "L7")
		if err != nil || !lot.Available.Equal(decimalOf(t, "37.52")) {
			t.Errorf("lot L7 holds %s, %v; want 37.52", lot.Available, err)
		}
		// Another batch wants more than is left.
		if _, err := run(mes.Request{ID: "s2", Subject: "batch-B43", Step: "S10", Command: mes.CmdStart, Actor: "op-7",
			Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{scan("L7")}}); err != nil {
			t.Fatalf("start B43: %v", err)
		}
		_, err = run(mes.Request{ID: "c2", Subject: "batch-B43", Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
			Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{weight(t, "12.50", gate.SourceDevice, true)},
			Consume: []event.Consumption{{Lot: "L7", Quantity: decimalOf(t, "40"), Unit: "kg"}}})
		var de *mes.DeniedError
		if !errors.As(err, &de) || !hasCode(de.Reasons, mes.CodeOverConsumption) {
			t.Fatalf("over-consumption: %v", err)
		}
		edges, err := s.Traverse(ctx, storage.TraverseRequest{From: []string{event.LotStream("L7")}, Direction: storage.Forward, MaxDepth: 2})
		if err != nil || len(edges) != 1 || edges[0].To != "batch-B42" {
			t.Errorf("forward trace of lot/L7 = %+v, %v; want batch-B42 only", edges, err)
		}
	})
}
