package mes_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/weigh"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// weighRoute is a one-step route: S10 weighs 12.5 kg ± 0.05 kg, from a
// device or typed in.
func weighRoute(tb testing.TB, reqs ...route.Requirement) *route.Route {
	d := func(s string) decimal.Decimal { return decimalOf(tb, s) }
	reqs = append([]route.Requirement{route.Weigh{Name: "net-weight", Target: d("12.5"), Below: d("0.05"), Above: d("0.05"), Unit: "kg",
		Bounds: gate.Inclusive}}, reqs...)
	return &route.Route{Product: "GAP-1", Version: 1, Operations: []route.Operation{{ID: "OP10", Name: "Dispensing", Steps: []route.Step{
		{ID: "S10", Instructions: "Weigh 12.5 kg.", Requirements: reqs},
	}}}}
}

// TestRouteWeighTareAndMinimumWeight shows a route's weigh step judging the
// tare and the scale's minimum weight as WeighStep does, on both stores:
// each wrong weighing is denied with the code of the check that failed and
// recorded, and the step stays in progress.
func TestRouteWeighTareAndMinimumWeight(t *testing.T) {
	t.Parallel()
	reading := func(scale, v string, stable bool) device.Reading {
		return device.Reading{Instrument: scale, Value: decimalOf(t, v), Unit: "kg", Stable: stable, Time: now, Source: device.SourceDevice}
	}
	net := func(scale, v string) []gate.Evidence {
		return []gate.Evidence{{Name: "net-weight", HasValue: true, Value: decimalOf(t, v), Unit: "kg",
			Source: gate.SourceDevice, Instrument: scale, Stable: true}}
	}
	tared := func(scale, tare, n string, tareStable bool) []gate.Evidence {
		ev, err := weigh.RouteEvidence("net-weight", reading(scale, tare, tareStable), reading(scale, n, true))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// byName returns ev with the piece named name changed by change, or
	// left out when change is nil.
	byName := func(ev []gate.Evidence, name string, change func(*gate.Evidence)) []gate.Evidence {
		var out []gate.Evidence
		for _, e := range ev {
			if e.Name == name {
				if change == nil {
					continue
				}
				change(&e)
			}
			out = append(out, e)
		}
		return out
	}
	tests := []struct {
		name     string
		scale    string
		evidence func() []gate.Evidence
		codes    []gate.Code // none: allowed
	}{
		{"net alone", "SC-01", func() []gate.Evidence { return net("SC-01", "12.50") }, nil},
		{"net with its tare", "SC-01", func() []gate.Evidence { return tared("SC-01", "1.25", "12.50", true) }, nil},
		{"net typed from the display", "SC-01", func() []gate.Evidence {
			return []gate.Evidence{{Name: "net-weight", HasValue: true, Value: decimalOf(t, "12.50"), Unit: "kg", Source: gate.SourceManual}}
		}, nil},
		{"below the scale's minimum weight", "SC-03", func() []gate.Evidence { return net("SC-03", "12.50") },
			[]gate.Code{gate.CodeBelowMinWeight}},
		{"typed below the scale's minimum weight", "SC-03", func() []gate.Evidence {
			return []gate.Evidence{{Name: "net-weight", HasValue: true, Value: decimalOf(t, "12.50"), Unit: "kg", Source: gate.SourceManual}}
		}, []gate.Code{gate.CodeBelowMinWeight}},
		{"scale without a minimum weight", "SC-04", func() []gate.Evidence { return net("SC-04", "12.50") },
			[]gate.Code{gate.CodeMinWeightUnset}},
		{"minimum weight in another unit", "SC-05", func() []gate.Evidence { return net("SC-05", "12.50") },
			[]gate.Code{gate.CodeUnitMismatch}},
		{"net that is not gross minus tare", "SC-01", func() []gate.Evidence {
			return byName(tared("SC-01", "1.25", "12.50", true), weigh.Gross("net-weight"), func(e *gate.Evidence) { e.Value = decimalOf(t, "13.80") })
		}, []gate.Code{gate.CodeNetMismatch}},
		{"net out of tolerance, with its tare", "SC-01", func() []gate.Evidence { return tared("SC-01", "1.25", "12.60", true) },
			[]gate.Code{gate.CodeAboveUpperLimit}},
		{"unstable tare", "SC-01", func() []gate.Evidence { return tared("SC-01", "1.25", "12.50", false) },
			[]gate.Code{gate.CodeUnstable}},
		{"tare without its gross", "SC-01", func() []gate.Evidence {
			return byName(tared("SC-01", "1.25", "12.50", true), weigh.Gross("net-weight"), nil)
		}, []gate.Code{gate.CodeEvidenceMissing}},
		{"gross without its tare", "SC-01", func() []gate.Evidence {
			return byName(tared("SC-01", "1.25", "12.50", true), weigh.Tare("net-weight"), nil)
		}, []gate.Code{gate.CodeEvidenceMissing}},
		{"typed tare", "SC-01", func() []gate.Evidence {
			return byName(tared("SC-01", "1.25", "12.50", true), weigh.Tare("net-weight"), func(e *gate.Evidence) {
				e.Source, e.Instrument = gate.SourceManual, ""
			})
		}, []gate.Code{gate.CodeSourceNotAllowed, gate.CodeWrongInstrument}},
		{"tare from another scale", "SC-01", func() []gate.Evidence {
			return byName(tared("SC-01", "1.25", "12.50", true), weigh.Tare("net-weight"), func(e *gate.Evidence) { e.Instrument = "SC-02" })
		}, []gate.Code{gate.CodeWrongInstrument, mes.CodeContextInstrument}},
		{"tare without the net", "SC-01", func() []gate.Evidence {
			// Reported once, by the evidence requirement.
			return byName(tared("SC-01", "1.25", "12.50", true), "net-weight", nil)
		}, []gate.Code{gate.CodeEvidenceMissing}},
	}
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		sg := newSigning(t, s)
		f := sg.facts
		f.run("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
		f.run("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
		calibrate(f, "SC-01", "0.5")
		for id, minWeight := range map[string]map[string]any{
			"SC-03": {"min_weight": "20", "min_weight_unit": "kg"}, // a floor scale too big for 12.5 kg
			"SC-04": nil,                                           // calibrated without a minimum weight
			"SC-05": {"min_weight": "500", "min_weight_unit": "g"},
		} {
			f.run("equipment", event.EquipmentStream(id), mes.CmdRegister, map[string]string{"status": "available"})
			data := map[string]any{"status": "valid", "due": now.AddDate(0, 0, 30)}
			for k, v := range minWeight {
				data[k] = v
			}
			f.run("equipment", event.EquipmentStream(id), mes.CmdCalibrate, data)
			f.run("equipment", event.EquipmentStream(id), mes.CmdClean, map[string]any{"status": "clean"})
		}
		routes := must[*route.Registry](t)(route.NewRegistry(sg.e, nil))
		must[*mes.Outcome](t)(routes.Draft(ctx, route.DraftRequest{CommandID: "draft", Actor: "qa-3", Route: weighRoute(t)}))
		must[*mes.Outcome](t)(routes.Approve(ctx, route.VersionRequest{CommandID: "approve", Actor: "qa-4", Product: "GAP-1", Version: 1}))
		binding := must[route.Binding](t)(routes.Bind(ctx, "GAP-1", 1))
		rr := &routeRun{t: t, sg: sg, routes: routes, batch: must[*mes.Model](t)(lifecycle.Batch(lifecycle.WithoutRoles(), lifecycle.Every(must[mes.Option](t)(route.BindOnStart()))))}

		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rr.t = t
				batch := "batch-W" + string(rune('A'+i))
				rr.ok(mes.Request{ID: batch + "-release", Model: rr.batch, Subject: batch, Command: mes.CmdRelease, Actor: "op-7"})
				rr.ok(mes.Request{ID: batch + "-start", Model: rr.batch, Subject: batch, Command: mes.CmdStart, Actor: "op-7",
					Refs: binding.Refs(), Data: binding.Data()})
				s10 := must[*mes.Model](t)(func() (*mes.Model, error) {
					m, _, err := routes.StepModelFor(ctx, batch, "S10", nil)
					return m, err
				}())
				refs := map[string]string{"scale": tt.scale}
				rr.ok(mes.Request{ID: batch + "-S10-start", Model: s10, Subject: batch, Step: "S10", Command: mes.CmdStart, Actor: "op-7", Refs: refs})
				req := mes.Request{ID: batch + "-S10-complete", Model: s10, Subject: batch, Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
					Refs: refs, Evidence: tt.evidence()}
				if len(tt.codes) > 0 {
					rr.denied(req, tt.codes...)
					return
				}
				out := rr.ok(req)
				if out.To != lifecycle.StepComplete {
					t.Fatalf("S10 moved to %s, want complete", out.To)
				}
				// The tare, when there is one, is on the completion's record.
				if diff := cmp.Diff(req.Evidence, recordedEvidence(t, out.Records[0])); diff != "" {
					t.Errorf("evidence on the record (-want +got):\n%s", diff)
				}
			})
		}
		rr.t = t
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("audit trail: %v", err)
		}
	})
}

// TestRouteWeighNamesCollide shows that a step whose other requirement
// takes the name of a weighing's tare or gross has no model: the tare could
// not be told from that value.
func TestRouteWeighNamesCollide(t *testing.T) {
	t.Parallel()
	for _, name := range []string{weigh.Tare("net-weight"), weigh.Gross("net-weight")} {
		v := approvedVersion(t, weighRoute(t, route.RecordValue{Name: name, Unit: "kg"}))
		if _, err := route.StepModel(v, "S10", nil); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("a value named %s beside weighing net-weight: StepModel error %v, want one naming it", name, err)
		}
	}
	if _, err := route.StepModel(approvedVersion(t, weighRoute(t)), "S10", nil); err != nil {
		t.Errorf("a weighing alone: %v", err)
	}
}

// calibrate records a valid calibration of scale id, due in 30 days, with
// a minimum weight when minWeight is not "".
func calibrate(f *facts, id, minWeight string) {
	data := map[string]any{"status": "valid", "due": now.Add(30 * 24 * time.Hour)}
	if minWeight != "" {
		data["min_weight"], data["min_weight_unit"] = minWeight, "kg"
	}
	f.run("equipment", event.EquipmentStream(id), mes.CmdCalibrate, data)
}

// recordedEvidence decodes the evidence on a record.
func recordedEvidence(t *testing.T, r audit.Record) []gate.Evidence {
	t.Helper()
	var ev []gate.Evidence
	if err := json.Unmarshal(r.Evidence, &ev); err != nil {
		t.Fatalf("%s v%d evidence: %v", r.Stream, r.Version, err)
	}
	return ev
}
