//go:build linux

package weigh

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/device/scale"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/device/scale/scalesim"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

var equateDecimals = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

// simScale starts a simulated MT-SICS scale (kg, three decimals) on a
// pseudo-terminal and connects a scale.Scale to it through go.bug.st/serial,
// reading as instrument.
func simScale(t *testing.T, instrument string) (*scalesim.Simulator, *scale.Scale) {
	t.Helper()
	sim, err := scalesim.New(&scalesim.Config{Unit: "kg", Decimals: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("close simulator: %v", err)
		}
	})
	scale, err := scale.New(&scale.Config{
		Serial:     scale.SerialLine{Port: sim.Path(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Instrument: instrument,
		Clock:      func() time.Time { return mestest.Now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := scale.Close(); err != nil {
			t.Errorf("close scale: %v", err)
		}
	})
	return sim, scale
}

// weighOn tares the container on the scale, puts gross on the pan and reads
// the net weight: with S once the pan settles, or with SI while it still
// moves when settled is false.
func weighOn(t *testing.T, sim *scalesim.Simulator, scale *scale.Scale, container, gross string, settled bool) []gate.Evidence {
	t.Helper()
	ctx := t.Context()
	sim.SetStable(true)
	sim.SetLoad(mestest.Decimal(t, container))
	tare, err := scale.Tare(ctx)
	if err != nil {
		t.Fatalf("tare: %v", err)
	}
	sim.SetLoad(mestest.Decimal(t, gross))
	sim.SetStable(settled)
	read := scale.StableWeight
	if !settled {
		read = scale.ImmediateWeight
	}
	net, err := read(ctx)
	if err != nil {
		t.Fatalf("read net: %v", err)
	}
	ev, err := Evidence(tare, net)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// weighSpec is the step the weighing tests run: 12.50 kg ± 0.05 kg of
// API-100.
func weighSpec(tb testing.TB) Spec {
	return Spec{Name: "weigh-API-100", Version: 1, Material: "API-100", Role: "operator", Skill: "dispensing",
		Tolerance: gate.Tolerance{Target: mestest.Decimal(tb, "12.50"), Below: mestest.Decimal(tb, "0.05"), Above: mestest.Decimal(tb, "0.05"),
			Unit: "kg", Bounds: gate.Inclusive}}
}

// calibrate records a valid calibration of scale id, due in 30 days, with
// a minimum weight when minWeight is not "".
func calibrate(f *mestest.Env, id, minWeight string) {
	data := map[string]any{"status": "valid", "due": mestest.Now.Add(30 * 24 * time.Hour)}
	if minWeight != "" {
		data["min_weight"], data["min_weight_unit"] = minWeight, "kg"
	}
	f.Fact("equipment", event.EquipmentStream(id), mes.CmdCalibrate, data)
}

// weighBench is a plant (see plant) whose scale SC-01 has a minimum weight
// of 0.5 kg and is simulated, an engine on a clock the test moves, and the
// weigh step.
type weighBench struct {
	s     storage.Store
	e     *mes.Engine
	f     *mestest.Env
	clock *mestest.Clock
	sim   *scalesim.Simulator
	scale *scale.Scale
	m     *mes.Model
}

func newWeighBench(t *testing.T, s storage.Store) *weighBench {
	t.Helper()
	clock := mestest.NewClock(mestest.Now)
	f := mestest.NewOn(t, s, clock, nil).Plant()
	e := f.Engine
	calibrate(f, "SC-01", "0.5")
	sim, scale := simScale(t, "SC-01")
	m, err := Step(weighSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	return &weighBench{s: s, e: e, f: f, clock: clock, sim: sim, scale: scale, m: m}
}

func (b *weighBench) start(t *testing.T, batch string) {
	t.Helper()
	if _, err := b.e.Execute(t.Context(), mes.Request{ID: "start-" + batch, Model: b.m, Subject: batch, Step: "S10",
		Command: mes.CmdStart, Actor: "op-7", Refs: map[string]string{"lot": "L7", "scale": "SC-01"},
		Evidence: []gate.Evidence{mestest.Scan("L7")}}); err != nil {
		t.Fatalf("start S10 of %s: %v", batch, err)
	}
}

// complete asks to complete S10 of batch with the weighing ev, consuming
// the net weight from L7.
func (b *weighBench) complete(t *testing.T, id, batch string, ev []gate.Evidence) (*mes.Outcome, error) {
	t.Helper()
	var net gate.Evidence
	for _, e := range ev {
		if e.Name == EvidenceNet {
			net = e
		}
	}
	return b.e.Execute(t.Context(), mes.Request{ID: id, Model: b.m, Subject: batch, Step: "S10", Command: mes.CmdComplete,
		Actor: "op-7", Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: ev,
		Consume: []event.Consumption{{Lot: "L7", Quantity: net.Value, Unit: net.Unit}}})
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

// TestWeighThroughScaleSimulator dispenses 12.5 kg of API-100 into a
// container on a simulated scale, read over a pseudo-terminal through
// scale.Scale: the container is tared, the material put on, the stable net
// weight read, and the step completed through the engine with the lot's
// consumption, on both stores. A weighing off target first is denied and
// recorded; the tare is on the completion's record.
func TestWeighThroughScaleSimulator(t *testing.T) {
	t.Parallel()
	mestest.Stores(t, mestest.NewClock(mestest.Now), func(t *testing.T, s storage.Store) {
		ctx := t.Context()
		b := newWeighBench(t, s)
		eq, err := mes.NewFacts(s, "", nil).Equipment(ctx, "SC-01")
		if err != nil || !eq.MinWeight.Equal(mestest.Decimal(t, "0.5")) || eq.MinWeightUnit != "kg" {
			t.Fatalf("SC-01 has minimum weight %s %q, %v; want 0.5 kg from its calibration", eq.MinWeight, eq.MinWeightUnit, err)
		}
		b.start(t, "batch-B42")

		// Too much on the pan: denied and recorded, then corrected.
		over := weighOn(t, b.sim, b.scale, "1.250", "13.900", true)
		if _, err := b.complete(t, "complete-1", "batch-B42", over); !errors.Is(err, mes.ErrDenied) {
			t.Fatalf("12.65 kg against 12.50 ± 0.05 kg: %v, want a denial", err)
		}
		ev := weighOn(t, b.sim, b.scale, "1.250", "13.750", true)
		out, err := b.complete(t, "complete-2", "batch-B42", ev)
		if err != nil || out.To != lifecycle.StepComplete {
			t.Fatalf("complete: %+v, %v", out, err)
		}

		if diff := cmp.Diff([]string{"T", "S", "T", "S"}, b.sim.Commands()); diff != "" {
			t.Errorf("commands on the wire (-want +got):\n%s", diff)
		}
		// Each reading keeps the scale's frame and the time it gave it;
		// the gross is derived, with neither.
		reading := func(name, v, raw string) gate.Evidence {
			e := gate.Evidence{Name: name, HasValue: true, Value: mestest.Decimal(t, v), Unit: "kg",
				Source: gate.SourceDevice, Instrument: "SC-01", Stable: true, Raw: raw}
			if raw != "" {
				e.At = mestest.Now
			}
			return e
		}
		want := []gate.Evidence{reading(EvidenceTare, "1.250", "T S      1.250 kg"), reading(EvidenceGross, "13.750", ""),
			reading(EvidenceNet, "12.500", "S S     12.500 kg")}
		if diff := cmp.Diff(want, ev, equateDecimals); diff != "" {
			t.Errorf("evidence of the weighing (-want +got):\n%s", diff)
		}
		if len(out.Records) != 2 || out.Records[0].Type != "step.completed" || out.Records[1].Stream != event.LotStream("L7") ||
			out.Records[1].Type != event.LotConsumed {
			t.Fatalf("records %+v: want the step's completion and the lot's consumption", out.Records)
		}
		if diff := cmp.Diff(want, recordedEvidence(t, out.Records[0]), equateDecimals); diff != "" {
			t.Errorf("evidence on the completion's record, tare included (-want +got):\n%s", diff)
		}
		lot, err := mes.NewFacts(s, "", nil).Lot(ctx, "L7")
		if err != nil || !lot.Available.Equal(mestest.Decimal(t, "37.5")) {
			t.Errorf("lot L7 holds %s, %v; want 50 − 12.5 = 37.5 kg", lot.Available, err)
		}
		recs, err := s.Load(ctx, "batch-B42", 1)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, r := range recs {
			types = append(types, r.Type)
		}
		if diff := cmp.Diff([]string{"step.started", event.Denied, "step.completed"}, types); diff != "" {
			t.Errorf("batch-B42 record types (-want +got):\n%s", diff)
		}
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("audit trail: %v", err)
		}
	})
}

// TestWeighDenied shows each wrong weighing denied on both stores: the
// denied attempt is on the record with the code of the check that failed
// and the weighing's evidence, tare included; the step stays in progress and
// the lot keeps its quantity.
func TestWeighDenied(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		weigh func(t *testing.T, b *weighBench) []gate.Evidence
		codes []gate.Code // the distinct codes of the reasons, in order
	}{
		{"unstable reading", func(t *testing.T, b *weighBench) []gate.Evidence {
			return weighOn(t, b.sim, b.scale, "1.250", "13.750", false)
		}, []gate.Code{gate.CodeUnstable}},
		{"overdue scale", func(t *testing.T, b *weighBench) []gate.Evidence {
			// The step started in time; the scale's calibration ran out
			// (due in 30 days) before the material was weighed.
			b.clock.Advance(31 * 24 * time.Hour)
			return weighOn(t, b.sim, b.scale, "1.250", "13.750", true)
		}, []gate.Code{gate.CodeCalibrationOverdue}},
		{"reading from a scale not bound to the step", func(t *testing.T, b *weighBench) []gate.Evidence {
			// SC-02 is ready and fit for the weight, but S10 started on SC-01.
			b.f.Fact("equipment", event.EquipmentStream("SC-02"), mes.CmdRegister, map[string]string{"status": "available"})
			calibrate(b.f, "SC-02", "0.5")
			b.f.Fact("equipment", event.EquipmentStream("SC-02"), mes.CmdClean, map[string]any{"status": "clean"})
			sim, scale := simScale(t, "SC-02")
			return weighOn(t, sim, scale, "1.250", "13.750", true)
		}, []gate.Code{gate.CodeWrongInstrument, mes.CodeContextInstrument}},
		{"manual entry where the step demands a device", func(t *testing.T, b *weighBench) []gate.Evidence {
			typed := func(v string) device.Reading {
				return device.Reading{Value: mestest.Decimal(t, v), Unit: "kg", Stable: true, Time: mestest.Now, Source: device.SourceManual}
			}
			ev, err := Evidence(typed("1.250"), typed("12.500"))
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}, []gate.Code{gate.CodeSourceNotAllowed, gate.CodeWrongInstrument}},
		{"net below the scale's minimum weight", func(t *testing.T, b *weighBench) []gate.Evidence {
			// A big scale: within tolerance, but too little for it.
			calibrate(b.f, "SC-01", "20")
			return weighOn(t, b.sim, b.scale, "1.250", "13.750", true)
		}, []gate.Code{gate.CodeBelowMinWeight}},
		{"scale without a minimum weight", func(t *testing.T, b *weighBench) []gate.Evidence {
			// A later calibration that did not determine one.
			calibrate(b.f, "SC-01", "")
			return weighOn(t, b.sim, b.scale, "1.250", "13.750", true)
		}, []gate.Code{gate.CodeMinWeightUnset}},
		{"net out of tolerance", func(t *testing.T, b *weighBench) []gate.Evidence {
			return weighOn(t, b.sim, b.scale, "1.250", "13.690", true) // 12.44 kg, under 12.45
		}, []gate.Code{gate.CodeBelowLowerLimit}},
		{"net that is not gross minus tare", func(t *testing.T, b *weighBench) []gate.Evidence {
			ev := weighOn(t, b.sim, b.scale, "1.250", "13.750", true)
			ev[2].Value = mestest.Decimal(t, "12.52") // altered after reading
			return ev
		}, []gate.Code{gate.CodeNetMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mestest.Stores(t, mestest.NewClock(mestest.Now), func(t *testing.T, s storage.Store) {
				ctx := t.Context()
				b := newWeighBench(t, s)
				b.start(t, "batch-B42")
				ev := tt.weigh(t, b)
				before, err := s.Load(ctx, "batch-B42", 1)
				if err != nil {
					t.Fatal(err)
				}
				lotBefore := len(mestest.Must[[]audit.Record](t)(s.Load(context.Background(), event.LotStream("L7"), 1)))

				_, err = b.complete(t, "complete-S10", "batch-B42", ev)
				var de *mes.DeniedError
				if !errors.As(err, &de) {
					t.Fatalf("error = %v, want a denial", err)
				}
				after, err := s.Load(ctx, "batch-B42", 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before)+1 {
					t.Fatalf("batch-B42 has %d records, want %d: exactly the denied attempt", len(after), len(before)+1)
				}
				last := after[len(after)-1]
				var p event.Transition
				if err := json.Unmarshal(last.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if last.Type != event.Denied || last.Actor != "op-7" {
					t.Errorf("last record %s by %s; want the denied attempt by op-7", last.Type, last.Actor)
				}
				if diff := cmp.Diff(tt.codes, distinctCodes(de.Reasons)); diff != "" {
					t.Errorf("codes of the denial (-want +got):\n%s\nreasons: %v", diff, de.Reasons)
				}
				if diff := cmp.Diff(de.Reasons, p.Reasons); diff != "" {
					t.Errorf("recorded reasons (-returned +recorded):\n%s", diff)
				}
				if diff := cmp.Diff(ev, recordedEvidence(t, last), equateDecimals); diff != "" {
					t.Errorf("evidence on the denied record (-given +recorded):\n%s", diff)
				}
				if st := mestest.Must[mes.State](t)(mes.Fold(b.m, "S10", after)); st != lifecycle.StepInProgress {
					t.Errorf("S10 is %s after a denial, want %s", st, lifecycle.StepInProgress)
				}
				if got := len(mestest.Must[[]audit.Record](t)(s.Load(context.Background(), event.LotStream("L7"), 1))); got != lotBefore {
					t.Errorf("lot L7 stream grew from %d to %d records on a denial", lotBefore, got)
				}
				if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
					t.Errorf("audit trail: %v", err)
				}
			})
		})
	}
}

// distinctCodes returns the codes of rs, each once, in order.
func distinctCodes(rs []gate.Reason) []gate.Code {
	var out []gate.Code
	for _, r := range rs {
		if !slices.Contains(out, r.Code) {
			out = append(out, r.Code)
		}
	}
	return out
}

func TestWeighingEvidence(t *testing.T) {
	t.Parallel()
	read := func(instrument, v, unit string, stable bool, src device.Source) device.Reading {
		return device.Reading{Instrument: instrument, Value: mestest.Decimal(t, v), Unit: unit, Stable: stable, Time: mestest.Now, Source: src}
	}
	// A read value keeps the reading's time; the gross is derived.
	ev := func(name, v string, stable bool) gate.Evidence {
		e := gate.Evidence{Name: name, HasValue: true, Value: mestest.Decimal(t, v), Unit: "g",
			Source: gate.SourceDevice, Instrument: "SC-01", Stable: stable}
		if name != EvidenceGross {
			e.At = mestest.Now
		}
		return e
	}
	t.Run("Settled", func(t *testing.T) {
		t.Parallel()
		got, err := Evidence(read("SC-01", "120.05", "g", true, device.SourceDevice), read("SC-01", "2.5", "g", true, device.SourceDevice))
		if err != nil {
			t.Fatal(err)
		}
		want := []gate.Evidence{ev(EvidenceTare, "120.05", true), ev(EvidenceGross, "122.55", true), ev(EvidenceNet, "2.5", true)}
		if diff := cmp.Diff(want, got, equateDecimals); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
	})
	t.Run("GrossUnstableWithItsNet", func(t *testing.T) {
		t.Parallel()
		got, err := Evidence(read("SC-01", "120.05", "g", true, device.SourceDevice), read("SC-01", "2.5", "g", false, device.SourceDevice))
		if err != nil {
			t.Fatal(err)
		}
		want := []gate.Evidence{ev(EvidenceTare, "120.05", true), ev(EvidenceGross, "122.55", false), ev(EvidenceNet, "2.5", false)}
		if diff := cmp.Diff(want, got, equateDecimals); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
	})
	for name, tc := range map[string]struct {
		tare, net device.Reading
		msg       string
	}{
		"OtherInstrument": {read("SC-01", "1", "g", true, device.SourceDevice), read("SC-02", "2", "g", true, device.SourceDevice),
			`weigh: Evidence: tare from instrument "SC-01", net from "SC-02": readings are not one weighing: invalid input`},
		"OtherUnit": {read("SC-01", "1", "g", true, device.SourceDevice), read("SC-01", "2", "kg", true, device.SourceDevice),
			`weigh: Evidence: tare in "g", net in "kg": readings are not one weighing: invalid input`},
		"TareReadNetTyped": {read("SC-01", "1", "g", true, device.SourceDevice), read("", "2", "g", true, device.SourceManual),
			"weigh: Evidence: tare from instrument \"SC-01\", net from \"\": readings are not one weighing: invalid input\n" +
				`tare from source "device", net from "manual": readings are not one weighing: invalid input`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Evidence(tc.tare, tc.net)
			if !errors.Is(err, ErrMixed) || got != nil {
				t.Fatalf("Evidence = %v, %v; want no evidence and ErrMixed", got, err)
			}
			if err.Error() != tc.msg {
				t.Errorf("error %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestWeighingEvidencePassesGrossMinusTare checks, for random readings of
// one scale, that the gross is tare + net exactly and that the evidence is
// one weighing to gate.GrossMinusTare.
func TestWeighingEvidencePassesGrossMinusTare(t *testing.T) {
	t.Parallel()
	g := mestest.Must[gate.Gate](t)(gate.GrossMinusTare(EvidenceGross, EvidenceTare, EvidenceNet))
	rapid.Check(t, func(rt *rapid.T) {
		draw := func(label string) decimal.Decimal {
			return decimal.New(rapid.Int64Range(-1e12, 1e12).Draw(rt, label), int32(rapid.IntRange(-6, 0).Draw(rt, label+"-exp")))
		}
		tare := device.Reading{Instrument: "SC-01", Value: draw("tare"), Unit: "g", Stable: true, Source: device.SourceDevice}
		net := device.Reading{Instrument: "SC-01", Value: draw("net"), Unit: "g", Stable: rapid.Bool().Draw(rt, "stable"), Source: device.SourceDevice}
		ev, err := Evidence(tare, net)
		if err != nil {
			rt.Fatal(err)
		}
		if !ev[1].Value.Sub(tare.Value).Equal(net.Value) || ev[1].Stable != net.Stable {
			rt.Fatalf("gross %s (stable %v) from tare %s and net %s (stable %v)", ev[1].Value, ev[1].Stable, tare.Value, net.Value, net.Stable)
		}
		v, err := g.Check(context.Background(), &gate.Attempt{Evidence: ev}, nil)
		if err != nil || !v.Passed() {
			rt.Fatalf("GrossMinusTare on %v: %v, %v", ev, v.Reasons, err)
		}
	})
}

func TestWeighStepRefusesBadSpecs(t *testing.T) {
	t.Parallel()
	_, err := Step(Spec{LotRef: "scale", LotScan: EvidenceNet})
	if err == nil {
		t.Fatal("Step accepted an empty spec")
	}
	if !errors.Is(err, mes.ErrDefinition) {
		t.Errorf("error %v does not match ErrDefinition (no name, no version)", err)
	}
	for _, want := range []string{
		"spec: Material is empty", "spec: Role is empty", "spec: Skill is empty",
		`ScaleRef and LotRef are both "scale"`,
		`LotScan "net" is the name of the weighing's evidence`,
		"gate: WithinTolerance: tolerance: Unit is empty",
		"the model has no name", "version 0: versions start at 1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := Step(weighSpec(t)); err != nil {
		t.Errorf("a good spec: %v", err)
	}
}

func TestRouteEvidence(t *testing.T) {
	t.Parallel()
	r := func(instrument, v string) device.Reading {
		return device.Reading{Instrument: instrument, Value: mestest.Decimal(t, v), Unit: "kg", Stable: true, Source: device.SourceDevice}
	}
	ev, err := RouteEvidence("w1", r("SC-01", "1.25"), r("SC-01", "12.5"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range ev {
		got[e.Name] = e.Value.String()
	}
	if diff := cmp.Diff(map[string]string{"w1.tare": "1.25", "w1.gross": "13.75", "w1": "12.5"}, got); diff != "" {
		t.Errorf("evidence by name (-want +got):\n%s", diff)
	}
	if _, err := RouteEvidence("w1", r("SC-01", "1"), r("SC-02", "2")); !errors.Is(err, ErrMixed) {
		t.Errorf("readings of two scales: %v, want ErrMixed", err)
	}
	if _, err := RouteEvidence("", r("SC-01", "1"), r("SC-01", "2")); err == nil {
		t.Error("an empty name was accepted")
	}
}
