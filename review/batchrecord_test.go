package review

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/mes/route"
)

// TestReadBatchRecord runs a batch through a route's weighing (a refused
// out-of-tolerance weight first) and reads its batch record: the weight
// accepted against its target with its tare, gross and frame, the lot
// scanned, the lots consumed and produced, the balance and the yield,
// the people by name, and the refusal apart from the exceptions.
func TestReadBatchRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	dec := decimal.RequireFromString
	env.Fact("equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid",
		"due": env.Clock.Now().Add(30 * 24 * time.Hour), "min_weight": "0.5", "min_weight_unit": "kg"})
	env.Fact("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Rita Release"})
	env.Fact("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
	r := &route.Route{Product: "REC-1", Version: 1,
		Yield: &route.Yield{Expected: dec("1000"), Unit: "ea", Range: route.Range{Min: dec("98"), Max: dec("101")}},
		Operations: []route.Operation{{ID: "OP1", Name: "Dispense", Steps: []route.Step{
			{ID: "S1", Instructions: "Scan and weigh 12.5 kg of API.", Requirements: []route.Requirement{
				route.ScanLot{Name: "lot-scan", Material: "API-100"},
				route.Weigh{Name: "net-weight", Material: "API-100", Target: dec("12.5"), Below: dec("0.05"), Above: dec("0.05"), Unit: "kg", Bounds: gate.Inclusive},
			}},
		}}}}
	rs := mestest.Must[*route.Registry](t)(route.NewRegistry(env.Engine, nil))
	mestest.Must[*mes.Outcome](t)(rs.Draft(ctx, route.DraftRequest{CommandID: "draft", Actor: "qa-3", Route: r}))
	mestest.Must[*mes.Outcome](t)(rs.Approve(ctx, route.VersionRequest{CommandID: "approve", Actor: "qa-4", Product: "REC-1", Version: 1}))
	v := mestest.Must[*route.Version](t)(rs.Load(ctx, "REC-1", 1))
	binding := mestest.Must[route.Binding](t)(rs.Bind(ctx, "REC-1", 1))
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch(lifecycle.Every(mestest.Must[mes.Option](t)(route.BindOnStart()))))
	step := mestest.Must[*mes.Model](t)(route.StepModel(v, "S1", nil))
	at := env.Clock.Now()
	scan := gate.Evidence{Name: "lot-scan", Identity: "L7", Source: gate.SourceScanner, Instrument: "SCN-1"}
	weight := func(net string) []gate.Evidence {
		return []gate.Evidence{scan,
			{Name: "net-weight", HasValue: true, Value: dec(net), Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01", Stable: true, Raw: "S S     " + net + " kg", At: at},
			{Name: "net-weight.tare", HasValue: true, Value: dec("0.8"), Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01", Stable: true, At: at},
			{Name: "net-weight.gross", HasValue: true, Value: dec("0.8").Add(dec(net)), Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01", Stable: true},
		}
	}
	refs := map[string]string{"scale": "SC-01"}
	for _, req := range []mes.Request{
		{ID: "release", Model: batch, Subject: "batch-R", Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "start", Model: batch, Subject: "batch-R", Command: mes.CmdStart, Actor: "op-7", Refs: binding.Refs(), Data: binding.Data()},
		{ID: "s1-start", Model: step, Subject: "batch-R", Step: "S1", Command: mes.CmdStart, Actor: "op-7", Refs: refs},
		{ID: "s1-over", Model: step, Subject: "batch-R", Step: "S1", Command: mes.CmdComplete, Actor: "op-7", Refs: refs, Evidence: weight("12.70")},
		{ID: "s1-done", Model: step, Subject: "batch-R", Step: "S1", Command: mes.CmdComplete, Actor: "op-7", Refs: refs, Evidence: weight("12.50"),
			Consume: []event.Consumption{{Lot: "L7", Quantity: dec("12.50"), Unit: "kg"}}},
		{ID: "complete", Model: batch, Subject: "batch-R", Command: mes.CmdComplete, Actor: "op-7",
			Produce: []mes.Production{{Lot: "FG-R", Material: "REC-1", Quantity: dec("990"), Unit: "ea"}}},
	} {
		if _, err := env.Engine.Execute(ctx, req); err != nil && req.ID != "s1-over" {
			t.Fatalf("%s: %v", req.ID, err)
		}
	}
	opts := &Options{Attestation: env.Attestation}
	rep := mestest.Must[*Report](t)(Build(ctx, env.Store, "batch-R", opts))
	rec := mestest.Must[*BatchRecord](t)(ReadBatchRecord(ctx, env.Store, rep, v.Route, opts))
	if rec.Route != "REC-1 v1" || len(rec.Weighings) != 1 {
		t.Fatalf("route %q, weighings %+v", rec.Route, rec.Weighings)
	}
	w := rec.Weighings[0]
	tare, gross := dec("0.8"), dec("13.3")
	want := Weighing{Step: "S1", Name: "net-weight", Lot: "L7", LotSource: "scanner", LotInstrument: "SCN-1", Material: "API-100",
		Net: dec("12.5"), Tare: &tare, Gross: &gross, Unit: "kg", Target: dec("12.5"), Low: dec("12.45"), High: dec("12.55"), Within: true,
		Evidence: Evidence{Name: "net-weight", Value: "12.5", Unit: "kg", Source: "device", Instrument: "SC-01", Stable: true, Raw: "S S     12.50 kg", At: at},
		Record:   w.Record}
	decimals := cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
	if diff := cmp.Diff(want, w, decimals); diff != "" || w.Record.Type != "step.completed" || w.Record.Actor != "op-7" {
		t.Errorf("weighing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Flow{{Lot: "L7", Material: "API-100", Quantity: dec("12.5"), Unit: "kg"}}, rec.Consumed, decimals); diff != "" {
		t.Errorf("consumed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Flow{{Lot: "FG-R", Material: "REC-1", Quantity: dec("990"), Unit: "ea"}}, rec.Produced, decimals); diff != "" {
		t.Errorf("produced (-want +got):\n%s", diff)
	}
	if b := rec.Balance; b == nil || !b.Balanced() || len(b.Materials) != 1 || !b.Materials[0].Issued.Equal(dec("12.5")) ||
		b.Yield == nil || !b.Yield.Percent.Equal(dec("99")) || !b.Yield.Within {
		t.Errorf("balance %+v (%s); want API-100 balanced, a yield of 99 %% within range", b, rec.NoBalance)
	}
	names := map[string]string{}
	for _, p := range rec.People {
		names[p.ID] = p.Name
	}
	if names["op-7"] != "Olga Operator" || names["sv-1"] != "Sam Supervisor" {
		t.Errorf("people %+v", rec.People)
	}
	if len(rec.Refused) != 1 || rec.Refused[0].Record.Actor != "op-7" {
		t.Errorf("refused %+v, want the out-of-tolerance weight", rec.Refused)
	}
	for _, e := range rec.Exceptions {
		if e.Kind == KindDenied {
			t.Errorf("a refusal among the exceptions: %+v", e)
		}
	}
	// Without a route no weighing is read, and the flows still are.
	bare := mestest.Must[*BatchRecord](t)(ReadBatchRecord(ctx, env.Store, rep, nil, opts))
	if bare.Route != "" || len(bare.Weighings) != 0 || len(bare.Consumed) != 1 || bare.Balance != nil || bare.NoBalance == "" {
		t.Errorf("without the route: %+v", bare)
	}
	if _, err := ReadBatchRecord(ctx, env.Store, nil, nil, nil); err == nil {
		t.Error("ReadBatchRecord without a report gave no error")
	}
}
