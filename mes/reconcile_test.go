package mes_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/release"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage/memory"
)

var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func balance(tb testing.TB, issued, consumed, scrapped, returned, tol string) release.MaterialBalance {
	return release.MaterialBalance{Material: "API-100", Unit: "kg", Issued: decimalOf(tb, issued), Consumed: decimalOf(tb, consumed),
		Scrapped: decimalOf(tb, scrapped), Returned: decimalOf(tb, returned), Tolerance: decimalOf(tb, tol)}
}

func yieldOf(tb testing.TB, expected, actual, lo, hi string) *route.YieldCheck {
	return &route.YieldCheck{Expected: decimalOf(tb, expected), Actual: decimalOf(tb, actual), Unit: "kg",
		Range: route.Range{Min: decimalOf(tb, lo), Max: decimalOf(tb, hi)}}
}

// TestReconcile: the balance and the yield are checked exactly, limits
// included, and every discrepancy is reported.
func TestReconcile(t *testing.T) {
	t.Parallel()
	d := func(s string) decimal.Decimal { return decimalOf(t, s) }
	tests := []struct {
		name  string
		in    release.ReconcileInput
		codes []gate.Code
	}{
		{"exact balance", release.ReconcileInput{Materials: []release.MaterialBalance{balance(t, "12.50", "12.00", "0.30", "0.20", "0")}}, nil},
		{"difference at the tolerance", release.ReconcileInput{Materials: []release.MaterialBalance{balance(t, "12.50", "12.00", "0.30", "0.19", "0.01")}}, nil},
		{"difference beyond the tolerance", release.ReconcileInput{Materials: []release.MaterialBalance{balance(t, "12.50", "12.00", "0.30", "0.18", "0.01")}},
			[]gate.Code{release.CodeReconcileImbalance}},
		{"more accounted than issued", release.ReconcileInput{Materials: []release.MaterialBalance{balance(t, "12.50", "12.50", "0.02", "0", "0.01")}},
			[]gate.Code{release.CodeReconcileImbalance}},
		{"yield at the minimum", release.ReconcileInput{Yield: yieldOf(t, "1000", "980", "98", "101")}, nil},
		{"yield just below", release.ReconcileInput{Yield: yieldOf(t, "1000", "979.999", "98", "101")}, []gate.Code{release.CodeReconcileYieldLow}},
		{"yield above", release.ReconcileInput{Yield: yieldOf(t, "3", "3.04", "98", "101")}, []gate.Code{release.CodeReconcileYieldHigh}},
		{"both fail", release.ReconcileInput{Materials: []release.MaterialBalance{balance(t, "10", "9", "0", "0", "0.5")}, Yield: yieldOf(t, "10", "5", "90", "100")},
			[]gate.Code{release.CodeReconcileImbalance, release.CodeReconcileYieldLow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := release.Reconcile(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var codes []gate.Code
			for _, x := range r.Discrepancies {
				codes = append(codes, x.Code)
			}
			if diff := cmp.Diff(tt.codes, codes); diff != "" {
				t.Errorf("discrepancies (-want +got):\n%s", diff)
			}
			if r.Balanced() != (len(tt.codes) == 0) {
				t.Errorf("Balanced() = %v", r.Balanced())
			}
		})
	}
	r, err := release.Reconcile(release.ReconcileInput{Materials: []release.MaterialBalance{balance(t, "12.50", "12.00", "0.30", "0.18", "0.01")}, Yield: yieldOf(t, "3", "2", "98", "101")})
	if err != nil {
		t.Fatal(err)
	}
	want := &release.Reconciliation{
		Materials: []release.MaterialResult{{Material: "API-100", Unit: "kg", Issued: d("12.50"), Accounted: d("12.48"), Difference: d("0.02"), Tolerance: d("0.01")}},
		Yield:     &release.YieldResult{Percent: d("66.67"), Min: d("98"), Max: d("101")},
		Discrepancies: []release.Discrepancy{
			{Code: release.CodeReconcileImbalance, Material: "API-100", Message: "API-100: issued 12.5 kg, consumed 12 + scrapped 0.3 + returned 0.18 = 12.48 kg; the difference 0.02 kg is beyond the tolerance of 0.01 kg"},
			{Code: release.CodeReconcileYieldLow, Message: "yield 66.67% (2 of 3 kg) is below the range 98% to 101%"},
		},
	}
	if diff := cmp.Diff(want, r, decimalEqual); diff != "" {
		t.Errorf("reconciliation (-want +got):\n%s", diff)
	}
}

// TestReconcileInputErrors: every problem of the input is listed.
func TestReconcileInputErrors(t *testing.T) {
	t.Parallel()
	bad := balance(t, "-1", "1", "0", "0", "-0.1")
	bad.Unit = ""
	in := release.ReconcileInput{Materials: []release.MaterialBalance{bad, balance(t, "1", "1", "0", "0", "0"), {Unit: "kg"}},
		Yield: &route.YieldCheck{Expected: decimal.Zero, Actual: decimalOf(t, "-2"), Range: route.Range{Min: decimalOf(t, "-1"), Max: decimalOf(t, "-2")}}}
	_, err := release.Reconcile(in)
	var ie *release.ReconcileInputError
	if !errors.As(err, &ie) || !errors.Is(err, release.ErrInvalidReconciliation) {
		t.Fatalf("error %v; want a *ReconcileInputError", err)
	}
	want := []string{
		"materials[0] (API-100) has no unit",
		"materials[0] (API-100): issued is negative (-1)",
		"materials[0] (API-100): tolerance is negative (-0.1)",
		"materials[1] (API-100) is given twice",
		"materials[2] has no material",
		"yield: the expected output 0 is not positive",
		"yield: the actual output -2 is negative",
		"yield has no unit",
		"yield: the range's minimum -1% is negative",
		"yield: the range's minimum -1% is above its maximum -2%",
	}
	if d := cmp.Diff(want, ie.Problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if _, err := release.Reconcile(release.ReconcileInput{}); !errors.Is(err, release.ErrInvalidReconciliation) {
		t.Errorf("empty input: %v", err)
	}
}

// rat is the exact rational value of a decimal, for the reference checks.
func rat(d decimal.Decimal) *big.Rat { return d.Rat() }

// TestReconcileAgainstRationals checks Reconcile against plain rational
// arithmetic on random quantities of mixed scales: the difference is exact
// (accounted + difference = issued), a line is within exactly when
// |difference| ≤ tolerance, the yield is within exactly when
// min×expected ≤ 100×actual ≤ max×expected, and the input is not changed.
func TestReconcileAgainstRationals(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		q := func(name string) decimal.Decimal {
			return decimal.New(rapid.Int64Range(0, 2_000_000).Draw(rt, name), -int32(rapid.IntRange(0, 6).Draw(rt, name+"-scale")))
		}
		m := release.MaterialBalance{Material: "M", Unit: "kg", Issued: q("issued"), Consumed: q("consumed"), Scrapped: q("scrapped"),
			Returned: q("returned"), Tolerance: q("tolerance")}
		lo := q("min")
		y := &route.YieldCheck{Expected: q("expected").Add(decimal.New(1, -6)), Actual: q("actual"), Unit: "kg", Range: route.Range{Min: lo, Max: lo.Add(q("width"))}}
		orig := *y
		r, err := release.Reconcile(release.ReconcileInput{Materials: []release.MaterialBalance{m}, Yield: y})
		if err != nil {
			rt.Fatal(err)
		}
		got := r.Materials[0]
		if !got.Accounted.Add(got.Difference).Equal(m.Issued) {
			rt.Fatalf("accounted %s + difference %s != issued %s", got.Accounted, got.Difference, m.Issued)
		}
		acc := new(big.Rat).Add(rat(m.Consumed), new(big.Rat).Add(rat(m.Scrapped), rat(m.Returned)))
		diff := new(big.Rat).Sub(rat(m.Issued), acc)
		within := new(big.Rat).Abs(diff).Cmp(rat(m.Tolerance)) <= 0
		if got.Within != within {
			rt.Fatalf("line within = %v; the rationals say %v (%+v)", got.Within, within, m)
		}
		scaled := new(big.Rat).Mul(rat(y.Actual), big.NewRat(100, 1))
		yWithin := scaled.Cmp(new(big.Rat).Mul(rat(y.Range.Min), rat(y.Expected))) >= 0 &&
			scaled.Cmp(new(big.Rat).Mul(rat(y.Range.Max), rat(y.Expected))) <= 0
		if r.Yield.Within != yWithin {
			rt.Fatalf("yield within = %v; the rationals say %v (%+v)", r.Yield.Within, yWithin, y)
		}
		if r.Balanced() != (within && yWithin) || len(r.Discrepancies) != btoi(!within)+btoi(!yWithin) {
			rt.Fatalf("discrepancies %v for line %v and yield %v", r.Discrepancies, within, yWithin)
		}
		if !cmp.Equal(orig, *y, decimalEqual) {
			rt.Fatal("Reconcile changed its input")
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestReconcileOpensDeviation: a failed reconciliation opens a deviation on
// the batch with the differences as system evidence, which blocks release;
// a balanced one opens nothing.
func TestReconcileOpensDeviation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	v.startBatch(t, "batch-B42")
	v.exec(t, mes.Request{ID: "complete", Model: v.batch, Subject: "batch-B42", Command: mes.CmdComplete, Actor: "op-7"})
	r, opened, err := release.ReconcileBatch(ctx, v.x, release.BatchReconciliation{CommandID: "rc-1", Actor: "op-7", Batch: "batch-B42",
		Input: release.ReconcileInput{
			Materials: []release.MaterialBalance{balance(t, "12.50", "12.00", "0", "0", "0.05")}, Yield: yieldOf(t, "12.5", "12", "95", "101")}, Consequence: exception.ConsequenceBlock})
	if err != nil || r.Balanced() || opened == nil {
		t.Fatalf("reconcile: %+v, %+v, %v; want a deviation", r, opened, err)
	}
	if opened.Consequence != nil || !strings.Contains(opened.NotApplied, `"complete"`) {
		t.Errorf("consequence %+v (%q); a complete batch cannot be blocked", opened.Consequence, opened.NotApplied)
	}
	x := must[*exception.Exception](t)(v.x.Get(ctx, "reconcile-rc-1"))
	if x.Source != exception.SourceRule || x.Subject != "batch-B42" || !strings.Contains(x.Summary, "beyond the tolerance") {
		t.Errorf("deviation %+v", x)
	}
	first := v.load(t, event.ExceptionStream("reconcile-rc-1"))[0]
	if !strings.Contains(string(first.Evidence), `"balance/API-100"`) || !strings.Contains(string(first.Payload), `"reconciliation"`) {
		t.Errorf("the deviation's evidence %s or payload %s lacks the reconciliation", first.Evidence, first.Payload)
	}
	if got := must[*release.Verdict](t)(release.Readiness(ctx, v.s, "batch-B42", nil)); got.Ready || got.Blocking[0].Ref != "reconcile-rc-1" {
		t.Errorf("readiness %+v; want the deviation blocking", got)
	}
	_, opened, err = release.ReconcileBatch(ctx, v.x, release.BatchReconciliation{CommandID: "rc-2", Actor: "op-7", Batch: "batch-B42",
		Input: release.ReconcileInput{
			Materials: []release.MaterialBalance{balance(t, "12.50", "12.00", "0.5", "0", "0")}}, Consequence: exception.ConsequenceNone})
	if err != nil || opened != nil {
		t.Errorf("balanced reconciliation: %+v, %v; want nothing opened", opened, err)
	}
	if n := len(v.load(t, event.ExceptionStream("reconcile-rc-2"))); n != 0 {
		t.Errorf("a balanced reconciliation wrote %d records", n)
	}
}
