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

var d = decimal.RequireFromString

func TestWithinTolerance(t *testing.T) {
	t.Parallel()
	// 12.50 kg −0.05 / +0.05: limits 12.45 and 12.55.
	tol := gate.Tolerance{Target: d("12.50"), Below: d("0.05"), Above: d("0.05"), Unit: "kg"}
	weigh := func(v string) func(*gate.Attempt) {
		return editEvidence("net-weight", func(e *gate.Evidence) { e.Value = d(v) })
	}
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "within-tolerance", Code: code, Message: msg}
	}
	// Failures that do not depend on the bounds.
	common := []checkCase{
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
			// A value of zero that was never measured is not a zero reading.
			name:    "ValueMissing",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.HasValue, e.Value = false, d("12.50") }),
			want:    []gate.Reason{reason(gate.CodeValueMissing, "evidence net-weight carries no measured value")},
		},
		{
			// No conversion: 12500 g is not accepted against kg limits.
			name:    "UnitMismatch",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Value, e.Unit = d("12500"), "g" }),
			want: []gate.Reason{reason(gate.CodeUnitMismatch,
				"net-weight 12500 g is not in kg, the unit of its limits")},
		},
		{
			name:    "UnitMissing",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Unit = "" }),
			want: []gate.Reason{reason(gate.CodeUnitMismatch,
				"net-weight 12.5 (no unit) is not in kg, the unit of its limits")},
		},
	}

	t.Run("Inclusive", func(t *testing.T) {
		t.Parallel()
		tol := tol
		tol.Bounds = gate.Inclusive
		g := mustGate(t)(gate.WithinTolerance("net-weight", tol))
		runChecks(t, g, append([]checkCase{
			{name: "Pass"},
			{name: "PassAtLowerLimit", attempt: weigh("12.45")},
			{name: "PassAtUpperLimit", attempt: weigh("12.550")},
			{
				name:    "BelowLowerLimit",
				attempt: weigh("12.449"),
				want: []gate.Reason{reason(gate.CodeBelowLowerLimit,
					"net-weight 12.449 kg is below the lower limit 12.45 kg (inclusive)")},
			},
			{
				name:    "AboveUpperLimit",
				attempt: weigh("12.61"),
				want: []gate.Reason{reason(gate.CodeAboveUpperLimit,
					"net-weight 12.61 kg is above the upper limit 12.55 kg (inclusive)")},
			},
			{
				// Exact decimals: a float64 sum would put this on the limit.
				name:    "AboveUpperLimitByTheSmallestStep",
				attempt: weigh("12.5500000000000000001"),
				want: []gate.Reason{reason(gate.CodeAboveUpperLimit,
					"net-weight 12.5500000000000000001 kg is above the upper limit 12.55 kg (inclusive)")},
			},
		}, common...))
	})

	t.Run("Exclusive", func(t *testing.T) {
		t.Parallel()
		tol := tol
		tol.Bounds = gate.Exclusive
		g := mustGate(t)(gate.WithinTolerance("net-weight", tol))
		runChecks(t, g, append([]checkCase{
			{name: "Pass"},
			{name: "PassJustInsideLowerLimit", attempt: weigh("12.4500001")},
			{
				name:    "AtLowerLimit",
				attempt: weigh("12.45"),
				want: []gate.Reason{reason(gate.CodeBelowLowerLimit,
					"net-weight 12.45 kg is at or below the lower limit 12.45 kg (exclusive)")},
			},
			{
				name:    "BelowLowerLimit",
				attempt: weigh("-1"),
				want: []gate.Reason{reason(gate.CodeBelowLowerLimit,
					"net-weight -1 kg is at or below the lower limit 12.45 kg (exclusive)")},
			},
			{
				name:    "AtUpperLimit",
				attempt: weigh("12.55"),
				want: []gate.Reason{reason(gate.CodeAboveUpperLimit,
					"net-weight 12.55 kg is at or above the upper limit 12.55 kg (exclusive)")},
			},
		}, common...))
	})
}

func TestWithinToleranceAsymmetric(t *testing.T) {
	t.Parallel()
	// Nothing under target, up to 2 over: fill at least 500 ml, at most 502.
	g := mustGate(t)(gate.WithinTolerance("fill", gate.Tolerance{
		Target: d("500"), Below: d("0"), Above: d("2"), Unit: "ml", Bounds: gate.Inclusive,
	}))
	fill := func(v string) func(*gate.Attempt) {
		return func(a *gate.Attempt) {
			a.Evidence = []gate.Evidence{{Name: "fill", HasValue: true, Value: d(v), Unit: "ml"}}
		}
	}
	runChecks(t, g, []checkCase{
		{name: "PassAtTarget", attempt: fill("500")},
		{name: "PassAtUpperLimit", attempt: fill("502")},
		{
			name:    "Under",
			attempt: fill("499.9"),
			want: []gate.Reason{{Gate: "within-tolerance", Code: gate.CodeBelowLowerLimit,
				Message: "fill 499.9 ml is below the lower limit 500 ml (inclusive)"}},
		},
	})
}

func TestWithinToleranceRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	good := gate.Tolerance{Target: d("10"), Below: d("1"), Above: d("1"), Unit: "kg", Bounds: gate.Inclusive}
	with := func(fn func(*gate.Tolerance)) gate.Tolerance {
		tol := good
		fn(&tol)
		return tol
	}
	build := func(name string, tol gate.Tolerance) func() (gate.Gate, error) {
		return func() (gate.Gate, error) { return gate.WithinTolerance(name, tol) }
	}
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"EmptyName":      build("", good),
		"NegativeBelow":  build("w", with(func(t *gate.Tolerance) { t.Below = d("-0.1") })),
		"NegativeAbove":  build("w", with(func(t *gate.Tolerance) { t.Above = d("-2") })),
		"EmptyUnit":      build("w", with(func(t *gate.Tolerance) { t.Unit = "" })),
		"UnsetBounds":    build("w", with(func(t *gate.Tolerance) { t.Bounds = "" })),
		"UnknownBounds":  build("w", with(func(t *gate.Tolerance) { t.Bounds = "open" })),
		"ExclusiveEmpty": build("w", with(func(t *gate.Tolerance) { t.Below, t.Above, t.Bounds = d("0"), d("0"), gate.Exclusive })),
		"Several":        build("", with(func(t *gate.Tolerance) { t.Unit, t.Bounds = "", "" })),
	}, map[string]string{
		"EmptyName":      "gate: WithinTolerance: name is empty",
		"NegativeBelow":  "gate: WithinTolerance: tolerance: Below is negative (-0.1)",
		"NegativeAbove":  "gate: WithinTolerance: tolerance: Above is negative (-2)",
		"EmptyUnit":      "gate: WithinTolerance: tolerance: Unit is empty",
		"UnsetBounds":    `gate: WithinTolerance: Bounds is "", want "inclusive" or "exclusive"`,
		"UnknownBounds":  `gate: WithinTolerance: Bounds is "open", want "inclusive" or "exclusive"`,
		"ExclusiveEmpty": "gate: WithinTolerance: Bounds is exclusive and Below and Above are zero, so no value is accepted",
		"Several":        "gate: WithinTolerance: name is empty\ntolerance: Unit is empty\n" + `Bounds is "", want "inclusive" or "exclusive"`,
	})
	// Exact-match inclusive tolerance is a valid definition.
	if _, err := gate.WithinTolerance("w", with(func(t *gate.Tolerance) { t.Below, t.Above = d("0"), d("0") })); err != nil {
		t.Errorf("zero inclusive tolerance refused: %v", err)
	}
}

// drawDecimal draws a decimal with up to six fractional digits, returning it
// with the same number as an exact rational for the reference.
func drawDecimal(t *rapid.T, label string, nonNegative bool) (decimal.Decimal, *big.Rat) {
	lo := int64(-1_000_000_000)
	if nonNegative {
		lo = 0
	}
	m := rapid.Int64Range(lo, 1_000_000_000).Draw(t, label+"-mantissa")
	e := rapid.IntRange(-6, 0).Draw(t, label+"-exponent")
	r := new(big.Rat).SetInt64(m)
	r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-e)), nil)))
	return decimal.New(m, int32(e)), r
}

// TestWithinToleranceAgreesWithReference checks the gate against a
// deliberately plain comparison of exact rationals, for random tolerances and
// values, with values drawn often on and around the limits.
func TestWithinToleranceAgreesWithReference(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		target, rt := drawDecimal(t, "target", false)
		below, rb := drawDecimal(t, "below", true)
		above, ra := drawDecimal(t, "above", true)
		bounds := rapid.SampledFrom([]gate.Bounds{gate.Inclusive, gate.Exclusive}).Draw(t, "bounds")
		unit := rapid.SampledFrom([]string{"kg", "g"}).Draw(t, "unit")
		tol := gate.Tolerance{Target: target, Below: below, Above: above, Unit: "kg", Bounds: bounds}
		g, err := gate.WithinTolerance("w", tol)
		if bounds == gate.Exclusive && rb.Sign() == 0 && ra.Sign() == 0 {
			if err == nil {
				t.Fatal("empty exclusive range accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		lower := new(big.Rat).Sub(rt, rb)
		upper := new(big.Rat).Add(rt, ra)

		var value decimal.Decimal
		var rv *big.Rat
		switch rapid.IntRange(0, 2).Draw(t, "where") {
		case 0: // anywhere
			value, rv = drawDecimal(t, "value", false)
		default: // on or next to a limit
			base, rbase := tol.Lower(), lower
			if rapid.Bool().Draw(t, "upper") {
				base, rbase = tol.Upper(), upper
			}
			step := rapid.SampledFrom([]int64{-1, 0, 1}).Draw(t, "step")
			value = base.Add(decimal.New(step, -7))
			rv = new(big.Rat).Add(rbase, big.NewRat(step, 10_000_000))
		}

		var want gate.Code
		switch {
		case unit != "kg":
			want = gate.CodeUnitMismatch
		case bounds == gate.Inclusive && rv.Cmp(lower) < 0, bounds == gate.Exclusive && rv.Cmp(lower) <= 0:
			want = gate.CodeBelowLowerLimit
		case bounds == gate.Inclusive && rv.Cmp(upper) > 0, bounds == gate.Exclusive && rv.Cmp(upper) >= 0:
			want = gate.CodeAboveUpperLimit
		}

		a := &gate.Attempt{Evidence: []gate.Evidence{{Name: "w", HasValue: true, Value: value, Unit: unit}}}
		v, err := g.Check(t.Context(), a, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got gate.Code
		if !v.Passed() {
			got = v.Reasons[0].Code
		}
		if got != want {
			t.Fatalf("value %s against [%s, %s] %s %s: got %q, want %q (reasons %v)",
				value, tol.Lower(), tol.Upper(), bounds, unit, got, want, v.Reasons)
		}
		if len(v.Reasons) > 1 {
			t.Fatalf("%d reasons for one value: %v", len(v.Reasons), v.Reasons)
		}
	})
}

func ExampleWithinTolerance() {
	g, err := gate.WithinTolerance("weight", gate.Tolerance{
		Target: decimal.RequireFromString("12.50"),
		Below:  decimal.RequireFromString("0.05"),
		Above:  decimal.RequireFromString("0.05"),
		Unit:   "kg",
		Bounds: gate.Inclusive,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range []string{"12.55", "12.61"} {
		a := &gate.Attempt{Evidence: []gate.Evidence{{
			Name: "weight", HasValue: true, Value: decimal.RequireFromString(v), Unit: "kg",
			Source: gate.SourceDevice, Instrument: "SC-01", Stable: true,
		}}}
		verdict, err := g.Check(context.Background(), a, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		if verdict.Passed() {
			fmt.Println(v, "kg: pass")
			continue
		}
		for _, r := range verdict.Reasons {
			fmt.Printf("%s kg: %s %s: %s\n", v, r.Gate, r.Code, r.Message)
		}
	}
	// Output:
	// 12.55 kg: pass
	// 12.61 kg: within-tolerance value.above-upper-limit: weight 12.61 kg is above the upper limit 12.55 kg (inclusive)
}
