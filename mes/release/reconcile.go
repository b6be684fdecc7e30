package release

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

// Codes of reconciliation discrepancies.
const (
	CodeReconcileImbalance gate.Code = "reconcile.imbalance"
	CodeReconcileYieldLow  gate.Code = "reconcile.yield-below-range"
	CodeReconcileYieldHigh gate.Code = "reconcile.yield-above-range"
)

// MaterialBalance is the account of one material of a batch at completion:
// what was issued to it must equal what it consumed, scrapped and returned,
// within Tolerance.
type MaterialBalance struct {
	Material string
	Unit     string // of every quantity of the line
	Issued   decimal.Decimal
	Consumed decimal.Decimal
	Scrapped decimal.Decimal
	Returned decimal.Decimal
	// Tolerance is the largest difference accepted between Issued and the
	// sum of the others, either way, in Unit; zero demands an exact balance.
	Tolerance decimal.Decimal
}

// ReconcileInput is what Reconcile checks.
type ReconcileInput struct {
	Materials []MaterialBalance
	Yield     *route.YieldCheck // optional
}

// MaterialResult is the reconciliation of one material.
type MaterialResult struct {
	Material   string          `json:"material"`
	Unit       string          `json:"unit"`
	Issued     decimal.Decimal `json:"issued"`
	Accounted  decimal.Decimal `json:"accounted"`  // consumed + scrapped + returned
	Difference decimal.Decimal `json:"difference"` // issued − accounted
	Tolerance  decimal.Decimal `json:"tolerance"`
	Within     bool            `json:"within"`
}

// YieldResult is the yield of a batch against its range.
type YieldResult struct {
	// Percent is Actual/Expected×100 rounded to two places, for display;
	// the range check compares exact values.
	Percent decimal.Decimal `json:"percent"`
	Min     decimal.Decimal `json:"min"`
	Max     decimal.Decimal `json:"max"`
	Within  bool            `json:"within"`
}

// Discrepancy is one failed check of a reconciliation.
type Discrepancy struct {
	Code     gate.Code `json:"code"`
	Material string    `json:"material,omitempty"` // "" for the yield
	Message  string    `json:"message"`
}

// Reconciliation is the result of Reconcile.
type Reconciliation struct {
	Materials     []MaterialResult `json:"materials"`
	Yield         *YieldResult     `json:"yield,omitempty"`
	Discrepancies []Discrepancy    `json:"discrepancies,omitempty"`
}

// Balanced reports whether every check passed.
func (r *Reconciliation) Balanced() bool { return len(r.Discrepancies) == 0 }

// ErrInvalidReconciliation is matched (errors.Is) by every
// *ReconcileInputError.
var ErrInvalidReconciliation = fmt.Errorf("reconciliation: %w", interlock.ErrInvalid)

// ReconcileInputError lists every problem of a reconciliation's input.
type ReconcileInputError struct {
	Problems []string
}

func (e *ReconcileInputError) Error() string {
	return fmt.Sprintf("release: invalid reconciliation input: %s", strings.Join(e.Problems, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalidReconciliation) true.
func (e *ReconcileInputError) Unwrap() error { return ErrInvalidReconciliation }

// Reconcile checks the material balance of a batch and its yield, exactly
// as decimals: for each material |Issued − (Consumed + Scrapped +
// Returned)| ≤ Tolerance, and Yield.Range.Min ≤ Actual×100/Expected ≤
// Yield.Range.Max. It reports every discrepancy, not only the first. It
// reads only its argument.
//
// It returns a *ReconcileInputError (errors.Is ErrInvalidReconciliation)
// listing every problem of in: no material and no yield, a material
// without name or unit or given twice, a negative quantity or tolerance, an
// expected output that is not positive, a range with Min above Max or
// below zero.
func Reconcile(in ReconcileInput) (*Reconciliation, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	out := &Reconciliation{}
	for _, m := range in.Materials {
		accounted := m.Consumed.Add(m.Scrapped).Add(m.Returned)
		diff := m.Issued.Sub(accounted)
		within := diff.Abs().LessThanOrEqual(m.Tolerance)
		out.Materials = append(out.Materials, MaterialResult{Material: m.Material, Unit: m.Unit, Issued: m.Issued,
			Accounted: accounted, Difference: diff, Tolerance: m.Tolerance, Within: within})
		if !within {
			out.Discrepancies = append(out.Discrepancies, Discrepancy{Code: CodeReconcileImbalance, Material: m.Material,
				Message: fmt.Sprintf("%s: issued %s %s, consumed %s + scrapped %s + returned %s = %s %s; the difference %s %s is beyond the tolerance of %s %s",
					m.Material, m.Issued, m.Unit, m.Consumed, m.Scrapped, m.Returned, accounted, m.Unit, diff, m.Unit, m.Tolerance, m.Unit)})
		}
	}
	if y := in.Yield; y != nil {
		hundred := decimal.NewFromInt(100)
		scaled := y.Actual.Mul(hundred)
		res := &YieldResult{Percent: scaled.DivRound(y.Expected, 2), Min: y.Range.Min, Max: y.Range.Max, Within: true}
		switch {
		case scaled.LessThan(y.Range.Min.Mul(y.Expected)):
			res.Within = false
			out.Discrepancies = append(out.Discrepancies, Discrepancy{Code: CodeReconcileYieldLow,
				Message: fmt.Sprintf("yield %s%% (%s of %s %s) is below the range %s%% to %s%%", res.Percent, y.Actual, y.Expected, y.Unit, y.Range.Min, y.Range.Max)})
		case scaled.GreaterThan(y.Range.Max.Mul(y.Expected)):
			res.Within = false
			out.Discrepancies = append(out.Discrepancies, Discrepancy{Code: CodeReconcileYieldHigh,
				Message: fmt.Sprintf("yield %s%% (%s of %s %s) is above the range %s%% to %s%%", res.Percent, y.Actual, y.Expected, y.Unit, y.Range.Min, y.Range.Max)})
		}
		out.Yield = res
	}
	return out, nil
}

func (in *ReconcileInput) validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(in.Materials) == 0 && in.Yield == nil {
		add("there is neither a material nor a yield to check")
	}
	seen := map[string]bool{}
	for i, m := range in.Materials {
		where := fmt.Sprintf("materials[%d] (%s)", i, m.Material)
		if m.Material == "" {
			add("materials[%d] has no material", i)
		} else if seen[m.Material] {
			add("%s is given twice", where)
		}
		seen[m.Material] = true
		if m.Unit == "" {
			add("%s has no unit", where)
		}
		for _, q := range []struct {
			name string
			v    decimal.Decimal
		}{{"issued", m.Issued}, {"consumed", m.Consumed}, {"scrapped", m.Scrapped}, {"returned", m.Returned}, {"tolerance", m.Tolerance}} {
			if q.v.IsNegative() {
				add("%s: %s is negative (%s)", where, q.name, q.v)
			}
		}
	}
	if y := in.Yield; y != nil {
		if !y.Expected.IsPositive() {
			add("yield: the expected output %s is not positive", y.Expected)
		}
		if y.Actual.IsNegative() {
			add("yield: the actual output %s is negative", y.Actual)
		}
		if y.Unit == "" {
			add("yield has no unit")
		}
		if y.Range.Min.IsNegative() {
			add("yield: the range's minimum %s%% is negative", y.Range.Min)
		}
		if y.Range.Min.GreaterThan(y.Range.Max) {
			add("yield: the range's minimum %s%% is above its maximum %s%%", y.Range.Min, y.Range.Max)
		}
	}
	if len(problems) > 0 {
		return &ReconcileInputError{Problems: problems}
	}
	return nil
}

// LotQuantity is a quantity of one lot.
type LotQuantity struct {
	Lot      string
	Quantity decimal.Decimal
	Unit     string
}

// FlowOf sums what the allowed transitions in recs, the records of
// subject, moved from lots into subject (in: consumption, merges, packing)
// and from subject into lots (out: production, splits), per lot and unit,
// in order of first appearance. It is what Reconcile's Consumed and a
// yield's Actual come from. It returns an error naming a record it cannot
// decode.
func FlowOf(recs []audit.Record, subject string) (in, out []LotQuantity, err error) {
	add := func(list []LotQuantity, lot, unit string, q decimal.Decimal) []LotQuantity {
		for i := range list {
			if list[i].Lot == lot && list[i].Unit == unit {
				list[i].Quantity = list[i].Quantity.Add(q)
				return list
			}
		}
		return append(list, LotQuantity{Lot: lot, Quantity: q, Unit: unit})
	}
	for i := range recs {
		r := &recs[i]
		if r.Type == event.Denied || r.Type == event.SignatureApplied || !strings.Contains(string(r.Payload), `"quantities"`) {
			continue
		}
		var p struct {
			Quantities []event.Quantity `json:"quantities"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return nil, nil, fmt.Errorf("release: %s v%d (%s): %w", r.Stream, r.Version, r.Type, err)
		}
		for _, q := range p.Quantities {
			if lot, ok := strings.CutPrefix(q.From, "lot/"); ok && q.To == subject {
				in = add(in, lot, q.Unit, q.Quantity)
			}
			if lot, ok := strings.CutPrefix(q.To, "lot/"); ok && q.From == subject {
				out = add(out, lot, q.Unit, q.Quantity)
			}
		}
	}
	return in, out, nil
}

// BatchReconciliation asks ReconcileBatch to reconcile a batch at
// completion.
type BatchReconciliation struct {
	// CommandID identifies the command that opens the deviation, when one
	// opens; the deviation is "reconcile-<CommandID>".
	CommandID string
	Actor     string
	Batch     string
	Input     ReconcileInput
	// Consequence is what the deviation does to the batch (a completed
	// batch usually permits none; the open deviation blocks its release).
	Consequence exception.Consequence
}

// ReconcileBatch reconciles req.Batch (see the function Reconcile), and
// when a check fails opens a deviation on it through x by req.Actor, with
// source "rule", each material's difference and the yield as system
// evidence, and the whole reconciliation as its details. It returns the
// reconciliation, and what Exceptions.Open returns when a deviation opened
// (nil when the batch is balanced).
func ReconcileBatch(ctx context.Context, x *exception.Service, req BatchReconciliation) (*Reconciliation, *exception.Opened, error) {
	commandID, actor, batch, in, c := req.CommandID, req.Actor, req.Batch, req.Input, req.Consequence
	r, err := Reconcile(in)
	if err != nil {
		return nil, nil, err
	}
	if r.Balanced() {
		return r, nil, nil
	}
	details, err := json.Marshal(struct {
		Reconciliation *Reconciliation `json:"reconciliation"`
	}{r})
	if err != nil {
		return nil, nil, fmt.Errorf("release: encode reconciliation of %s: %w", batch, err)
	}
	var evidence []gate.Evidence
	for _, m := range r.Materials {
		evidence = append(evidence, gate.Evidence{Name: "balance/" + m.Material, HasValue: true, Value: m.Difference, Unit: m.Unit, Source: gate.SourceSystem})
	}
	if r.Yield != nil {
		evidence = append(evidence, gate.Evidence{Name: "yield", HasValue: true, Value: r.Yield.Percent, Unit: "%", Source: gate.SourceSystem})
	}
	msgs := make([]string, len(r.Discrepancies))
	for i, d := range r.Discrepancies {
		msgs[i] = d.Message
	}
	opened, err := x.Open(ctx, exception.By{CommandID: commandID, Actor: actor}, exception.Deviation{
		ID: "reconcile-" + commandID, Kind: exception.KindDeviation, Summary: "reconciliation failed: " + strings.Join(msgs, "; "),
		Subject: batch, Source: exception.SourceRule, Consequence: c, Evidence: evidence, Details: details,
	})
	return r, opened, err
}
