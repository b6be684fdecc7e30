package gate_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/gate"
)

// weighed adds to attempt() the tare and gross of its net weight (12.50 kg):
// a container of 1.25 kg weighed to 13.75 kg on SC-01.
func weighed(a *gate.Attempt) {
	ev := func(name, v string) gate.Evidence {
		return gate.Evidence{Name: name, HasValue: true, Value: d(v), Unit: "kg",
			Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}
	}
	a.Evidence = append(a.Evidence, ev("tare", "1.25"), ev("gross", "13.75"))
}

// minWeight gives SC-01 in world() a minimum weight.
func minWeight(v, unit string) func(*fakeFacts) {
	return func(f *fakeFacts) {
		e := f.equipment["SC-01"]
		e.MinWeight, e.MinWeightUnit = d(v), unit
		f.equipment["SC-01"] = e
	}
}

// onWeighing makes each case start from a weighing on a scale whose minimum
// weight is 0.5 kg, then applies the case's own changes.
func onWeighing(cases []checkCase) []checkCase {
	out := make([]checkCase, len(cases))
	for i, tc := range cases {
		attempt, facts := tc.attempt, tc.facts
		tc.attempt = func(a *gate.Attempt) {
			weighed(a)
			if attempt != nil {
				attempt(a)
			}
		}
		tc.facts = func(f *fakeFacts) {
			minWeight("0.5", "kg")(f)
			if facts != nil {
				facts(f)
			}
		}
		out[i] = tc
	}
	return out
}

func TestMinimumWeight(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.MinimumWeight("net-weight", gate.FromRef("equipment")))
	net := func(v, unit string) func(*gate.Attempt) {
		return editEvidence("net-weight", func(e *gate.Evidence) { e.Value, e.Unit = d(v), unit })
	}
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "minimum-weight", Code: code, Message: msg}
	}
	runChecks(t, g, onWeighing([]checkCase{
		{name: "Pass"},
		{name: "PassAtTheMinimumWeight", attempt: net("0.500", "kg")},
		{
			// A weight read off the display and typed in is still judged
			// against the scale's minimum weight.
			name:    "PassTypedWithoutInstrument",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Source, e.Instrument = gate.SourceManual, "" }),
		},
		{
			name:    "RefMissing",
			attempt: func(a *gate.Attempt) { delete(a.Refs, "equipment") },
			want: []gate.Reason{reason(gate.CodeRefMissing,
				`the attempt has no reference "equipment" naming the scale`)},
		},
		{
			name:    "EvidenceMissing",
			attempt: dropEvidence("net-weight"),
			want:    []gate.Reason{reason(gate.CodeEvidenceMissing, "the attempt carries no evidence net-weight")},
		},
		{
			name:    "EvidenceDuplicate",
			attempt: duplicateEvidence("net-weight"),
			want: []gate.Reason{reason(gate.CodeEvidenceDuplicate,
				"the attempt carries 2 pieces of evidence net-weight where one is expected")},
		},
		{
			name:    "ValueMissing",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.HasValue = false }),
			want:    []gate.Reason{reason(gate.CodeValueMissing, "evidence net-weight carries no measured value")},
		},
		{
			name:    "AnotherScale",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Instrument = "SC-02" }),
			want: []gate.Reason{reason(gate.CodeWrongInstrument,
				"evidence net-weight was measured on SC-02, not on scale SC-01 whose minimum weight applies")},
		},
		{
			name: "UnknownScale",
			attempt: func(a *gate.Attempt) {
				a.Refs["equipment"] = "SC-99"
				editEvidence("net-weight", func(e *gate.Evidence) { e.Instrument = "SC-99" })(a)
			},
			want: []gate.Reason{reason(gate.CodeEquipmentUnknown, "equipment SC-99 is not known")},
		},
		{
			// No minimum weight recorded is not a minimum weight of zero.
			name:  "MinWeightNotSet",
			facts: minWeight("0", ""),
			want: []gate.Reason{reason(gate.CodeMinWeightUnset,
				"scale SC-01 has no minimum weight set, so net-weight cannot be accepted from it")},
		},
		{
			name:  "MinWeightNegative",
			facts: minWeight("-0.5", "kg"),
			want: []gate.Reason{reason(gate.CodeMinWeightUnset,
				"scale SC-01 has a negative minimum weight (-0.5), so net-weight cannot be accepted from it")},
		},
		{
			name:  "MinWeightWithoutUnit",
			facts: minWeight("0.5", ""),
			want: []gate.Reason{reason(gate.CodeMinWeightUnset,
				"scale SC-01 has a minimum weight of 0.5 without a unit, so net-weight cannot be accepted from it")},
		},
		{
			// No conversion: 12500 g against a minimum weight in kg.
			name:    "UnitMismatch",
			attempt: net("12500", "g"),
			want: []gate.Reason{reason(gate.CodeUnitMismatch,
				"net-weight 12500 g is not in kg, the unit of scale SC-01's minimum weight")},
		},
		{
			name:    "UnitMissing",
			attempt: net("12.5", ""),
			want: []gate.Reason{reason(gate.CodeUnitMismatch,
				"net-weight 12.5 (no unit) is not in kg, the unit of scale SC-01's minimum weight")},
		},
		{
			name:    "BelowMinWeight",
			attempt: net("0.4999", "kg"),
			want: []gate.Reason{reason(gate.CodeBelowMinWeight,
				"net-weight 0.4999 kg is below the minimum weight 0.5 kg of scale SC-01")},
		},
		{
			// Within its tolerance or not, a weight below a big scale's
			// minimum weight is refused.
			name:  "BigScale",
			facts: minWeight("20", "kg"),
			want: []gate.Reason{reason(gate.CodeBelowMinWeight,
				"net-weight 12.5 kg is below the minimum weight 20 kg of scale SC-01")},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "minimum-weight: equipment SC-01: store offline",
		},
	}))
}

func TestMinimumWeightNilFacts(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.MinimumWeight("net-weight", gate.FromRef("equipment")))
	if _, err := g.Check(t.Context(), attempt(), nil); err == nil {
		t.Fatal("Check with nil facts passed; want an error")
	}
}

func TestMinimumWeightRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"NoName":  func() (gate.Gate, error) { return gate.MinimumWeight("", gate.FromRef("scale")) },
		"ZeroID":  func() (gate.Gate, error) { return gate.MinimumWeight("net", gate.ID{}) },
		"Nothing": func() (gate.Gate, error) { return gate.MinimumWeight("", gate.Literal("")) },
	}, map[string]string{
		"NoName":  "gate: MinimumWeight: name is empty",
		"ZeroID":  "gate: MinimumWeight: id is not set (use FromRef, FromEvidence or Literal)",
		"Nothing": "gate: MinimumWeight: name is empty\nliteral id is empty",
	})
}

func TestGrossMinusTare(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.GrossMinusTare("gross", "tare", "net-weight"))
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "gross-minus-tare", Code: code, Message: msg}
	}
	set := func(name string, fn func(e *gate.Evidence)) func(*gate.Attempt) { return editEvidence(name, fn) }
	runChecks(t, g, onWeighing([]checkCase{
		{name: "Pass"},
		{
			// Equal as numbers, whatever the trailing zeros.
			name:    "PassTrailingZeros",
			attempt: set("gross", func(e *gate.Evidence) { e.Value = d("13.7500") }),
		},
		{
			// An empty container: no tare.
			name: "PassZeroTare",
			attempt: func(a *gate.Attempt) {
				set("tare", func(e *gate.Evidence) { e.Value = d("0") })(a)
				set("gross", func(e *gate.Evidence) { e.Value = d("12.5") })(a)
			},
		},
		{
			name:    "TareMissing",
			attempt: dropEvidence("tare"),
			want:    []gate.Reason{reason(gate.CodeEvidenceMissing, "the attempt carries no evidence tare")},
		},
		{
			name:    "EverythingMissing",
			attempt: func(a *gate.Attempt) { a.Evidence = nil },
			want: []gate.Reason{
				reason(gate.CodeEvidenceMissing, "the attempt carries no evidence gross"),
				reason(gate.CodeEvidenceMissing, "the attempt carries no evidence tare"),
				reason(gate.CodeEvidenceMissing, "the attempt carries no evidence net-weight"),
			},
		},
		{
			name:    "GrossDuplicate",
			attempt: duplicateEvidence("gross"),
			want: []gate.Reason{reason(gate.CodeEvidenceDuplicate,
				"the attempt carries 2 pieces of evidence gross where one is expected")},
		},
		{
			name:    "ValueMissing",
			attempt: set("tare", func(e *gate.Evidence) { e.HasValue = false }),
			want:    []gate.Reason{reason(gate.CodeValueMissing, "evidence tare carries no measured value")},
		},
		{
			name: "TypedIn",
			attempt: func(a *gate.Attempt) {
				for _, n := range []string{"gross", "tare", "net-weight"} {
					set(n, func(e *gate.Evidence) { e.Source, e.Instrument = gate.SourceManual, "" })(a)
				}
			},
			want: []gate.Reason{
				reason(gate.CodeSourceNotAllowed, "evidence gross came from manual; a weighing is read from a device"),
				reason(gate.CodeSourceNotAllowed, "evidence tare came from manual; a weighing is read from a device"),
				reason(gate.CodeSourceNotAllowed, "evidence net-weight came from manual; a weighing is read from a device"),
				reason(gate.CodeWrongInstrument, "gross, tare and net-weight name no instrument they were weighed on"),
			},
		},
		{
			name:    "SourceUnset",
			attempt: set("tare", func(e *gate.Evidence) { e.Source = "" }),
			want: []gate.Reason{reason(gate.CodeSourceNotAllowed,
				"evidence tare came from no stated source; a weighing is read from a device")},
		},
		{
			// The container was tared on another scale.
			name:    "TareFromAnotherScale",
			attempt: set("tare", func(e *gate.Evidence) { e.Instrument = "SC-02" }),
			want: []gate.Reason{reason(gate.CodeWrongInstrument,
				"gross from SC-01, tare from SC-02 and net-weight from SC-01 are not one instrument's weighing")},
		},
		{
			name: "NoInstrument",
			attempt: func(a *gate.Attempt) {
				for _, n := range []string{"gross", "tare", "net-weight"} {
					set(n, func(e *gate.Evidence) { e.Instrument = "" })(a)
				}
			},
			want: []gate.Reason{reason(gate.CodeWrongInstrument,
				"gross, tare and net-weight name no instrument they were weighed on")},
		},
		{
			name:    "TareInGrams",
			attempt: set("tare", func(e *gate.Evidence) { e.Value, e.Unit = d("1250"), "g" }),
			want: []gate.Reason{reason(gate.CodeUnitMismatch,
				"gross in kg, tare in g and net-weight in kg are not in one unit")},
		},
		{
			name: "NoUnit",
			attempt: func(a *gate.Attempt) {
				for _, n := range []string{"gross", "tare", "net-weight"} {
					set(n, func(e *gate.Evidence) { e.Unit = "" })(a)
				}
			},
			want: []gate.Reason{reason(gate.CodeUnitMismatch, "gross, tare and net-weight carry no unit")},
		},
		{
			name:    "NetDoesNotAddUp",
			attempt: set("net-weight", func(e *gate.Evidence) { e.Value = d("12.51") }),
			want: []gate.Reason{reason(gate.CodeNetMismatch,
				"net-weight 12.51 kg is not gross 13.75 kg minus tare 1.25 kg, which is 12.5 kg")},
		},
		{
			name: "EveryConditionAtOnce",
			attempt: func(a *gate.Attempt) {
				set("gross", func(e *gate.Evidence) { e.Source = gate.SourceManual; e.Instrument = "SC-02" })(a)
				set("tare", func(e *gate.Evidence) { e.Unit = "g" })(a)
			},
			want: []gate.Reason{
				reason(gate.CodeSourceNotAllowed, "evidence gross came from manual; a weighing is read from a device"),
				reason(gate.CodeWrongInstrument,
					"gross from SC-02, tare from SC-01 and net-weight from SC-01 are not one instrument's weighing"),
				reason(gate.CodeUnitMismatch, "gross in kg, tare in g and net-weight in kg are not in one unit"),
			},
		},
	}))
}

func TestGrossMinusTareRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"NoNet":     func() (gate.Gate, error) { return gate.GrossMinusTare("gross", "tare", "") },
		"NoNames":   func() (gate.Gate, error) { return gate.GrossMinusTare("", "", "") },
		"SameNames": func() (gate.Gate, error) { return gate.GrossMinusTare("w", "tare", "w") },
	}, map[string]string{
		"NoNet":     "gate: GrossMinusTare: net is empty",
		"NoNames":   "gate: GrossMinusTare: gross is empty\ntare is empty\nnet is empty",
		"SameNames": `gate: GrossMinusTare: gross and net are both "w"`,
	})
}

// TestMinimumWeightAgreesWithReference compares the gate with exact
// rationals for random minimum weights and weights, drawn often on and next
// to the minimum weight.
func TestMinimumWeightAgreesWithReference(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.MinimumWeight("w", gate.Literal("SC-01")))
	rapid.Check(t, func(t *rapid.T) {
		mw, rmw := drawDecimal(t, "min", true)
		var v decimal.Decimal
		var rv *big.Rat
		if rapid.Bool().Draw(t, "near") {
			step := rapid.SampledFrom([]int64{-1, 0, 1}).Draw(t, "step")
			v = mw.Add(decimal.New(step, -7))
			rv = new(big.Rat).Add(rmw, big.NewRat(step, 10_000_000))
		} else {
			v, rv = drawDecimal(t, "value", false)
		}
		f := world()
		e := f.equipment["SC-01"]
		e.MinWeight, e.MinWeightUnit = mw, "kg"
		f.equipment["SC-01"] = e
		a := &gate.Attempt{Evidence: []gate.Evidence{{Name: "w", HasValue: true, Value: v, Unit: "kg", Instrument: "SC-01"}}}
		verdict, err := g.Check(t.Context(), a, f)
		if err != nil {
			t.Fatal(err)
		}
		var want gate.Code
		switch {
		case rmw.Sign() == 0:
			want = gate.CodeMinWeightUnset
		case rv.Cmp(rmw) < 0:
			want = gate.CodeBelowMinWeight
		}
		var got gate.Code
		if !verdict.Passed() {
			got = verdict.Reasons[0].Code
		}
		if got != want || len(verdict.Reasons) > 1 {
			t.Fatalf("weight %s against minimum weight %s: got %v, want %q", v, mw, verdict.Reasons, want)
		}
	})
}

// TestGrossMinusTareAgreesWithReference checks that the gate passes exactly
// when net = gross − tare in exact rationals, for random weighings whose net
// is right, off by the smallest step, or anything.
func TestGrossMinusTareAgreesWithReference(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.GrossMinusTare("g", "t", "n"))
	rapid.Check(t, func(t *rapid.T) {
		gross, rg := drawDecimal(t, "gross", false)
		tare, rt := drawDecimal(t, "tare", false)
		var net decimal.Decimal
		var rn *big.Rat
		switch rapid.IntRange(0, 2).Draw(t, "net") {
		case 0:
			net, rn = drawDecimal(t, "any", false)
		default:
			step := rapid.SampledFrom([]int64{-1, 0, 1}).Draw(t, "step")
			net = gross.Sub(tare).Add(decimal.New(step, -7))
			rn = new(big.Rat).Sub(rg, rt)
			rn.Add(rn, big.NewRat(step, 10_000_000))
		}
		ev := func(name string, v decimal.Decimal) gate.Evidence {
			return gate.Evidence{Name: name, HasValue: true, Value: v, Unit: "g", Source: gate.SourceDevice, Instrument: "SC-01"}
		}
		a := &gate.Attempt{Evidence: []gate.Evidence{ev("n", net), ev("t", tare), ev("g", gross)}}
		verdict, err := g.Check(t.Context(), a, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := new(big.Rat).Sub(rg, rt).Cmp(rn) == 0
		if verdict.Passed() != want {
			t.Fatalf("gross %s tare %s net %s: passed %v, want %v (%v)", gross, tare, net, verdict.Passed(), want, verdict.Reasons)
		}
		if !want && (len(verdict.Reasons) != 1 || verdict.Reasons[0].Code != gate.CodeNetMismatch) {
			t.Fatalf("gross %s tare %s net %s: reasons %v, want one %s", gross, tare, net, verdict.Reasons, gate.CodeNetMismatch)
		}
	})
}

func ExampleGrossMinusTare() {
	g, err := gate.GrossMinusTare("gross", "tare", "net")
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := func(name, v string) gate.Evidence {
		return gate.Evidence{Name: name, HasValue: true, Value: decimal.RequireFromString(v), Unit: "kg",
			Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}
	}
	for _, net := range []string{"12.500", "12.45"} {
		a := &gate.Attempt{Evidence: []gate.Evidence{ev("tare", "1.250"), ev("gross", "13.750"), ev("net", net)}}
		v, _ := g.Check(context.Background(), a, nil)
		if v.Passed() {
			fmt.Printf("net %s kg: one weighing\n", net)
			continue
		}
		fmt.Printf("net %s kg: %s: %s\n", net, v.Reasons[0].Code, v.Reasons[0].Message)
	}
	// Output:
	// net 12.500 kg: one weighing
	// net 12.45 kg: value.net-mismatch: net 12.45 kg is not gross 13.75 kg minus tare 1.25 kg, which is 12.5 kg
}
