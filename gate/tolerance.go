package gate

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Bounds says whether a tolerance's limits themselves are acceptable values.
type Bounds string

// The bounds. They apply to both limits.
const (
	// Inclusive accepts a value equal to a limit: lower ≤ value ≤ upper.
	Inclusive Bounds = "inclusive"
	// Exclusive refuses a value equal to a limit: lower < value < upper.
	Exclusive Bounds = "exclusive"
)

// Tolerance is an acceptance range around a target value. The limits are
// Target−Below and Target+Above, computed exactly.
type Tolerance struct {
	Target decimal.Decimal
	Below  decimal.Decimal // how far under Target a value may lie; not negative
	Above  decimal.Decimal // how far over Target a value may lie; not negative
	Unit   string          // unit of Target and of every accepted value
	Bounds Bounds          // whether a value equal to a limit is accepted
}

// Lower returns the lower limit, Target−Below.
func (t Tolerance) Lower() decimal.Decimal { return t.Target.Sub(t.Below) }

// Upper returns the upper limit, Target+Above.
func (t Tolerance) Upper() decimal.Decimal { return t.Target.Add(t.Above) }

func (t Tolerance) validate() error {
	var errs []error
	if t.Below.IsNegative() {
		errs = append(errs, fmt.Errorf("tolerance: Below is negative (%s)", t.Below))
	}
	if t.Above.IsNegative() {
		errs = append(errs, fmt.Errorf("tolerance: Above is negative (%s)", t.Above))
	}
	if t.Unit == "" {
		errs = append(errs, errors.New("tolerance: Unit is empty"))
	}
	switch t.Bounds {
	case Inclusive:
	case Exclusive:
		if t.Below.IsZero() && t.Above.IsZero() {
			errs = append(errs, errors.New("Bounds is exclusive and Below and Above are zero, so no value is accepted"))
		}
	default:
		errs = append(errs, fmt.Errorf("Bounds is %q, want %q or %q", t.Bounds, Inclusive, Exclusive))
	}
	return errors.Join(errs...)
}

// WithinTolerance returns a gate that passes when the attempt's one piece of
// evidence named name carries a value in the unit of t that lies within t's
// limits, compared exactly as decimals. Units are compared as written: the
// gate converts nothing, so "g" against "kg" fails. It fails with
// CodeEvidenceMissing, CodeEvidenceDuplicate, CodeValueMissing (no
// HasValue), CodeUnitMismatch, CodeBelowLowerLimit or CodeAboveUpperLimit.
// Its reasons are named "within-tolerance". It returns an error, naming
// every bad field, when name is empty or t is invalid (negative Below or
// Above, empty Unit, unset Bounds, an exclusive range with no room).
func WithinTolerance(name string, t Tolerance) (Gate, error) {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if err := t.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("gate: WithinTolerance: %w", err)
	}
	lower, upper := t.Lower(), t.Upper()
	return builtin("within-tolerance", func(_ context.Context, a *Attempt, _ Facts) (Verdict, error) {
		e, r := findEvidence(a, name)
		switch {
		case r != nil:
			return Fail(*r), nil
		case !e.HasValue:
			return fail(CodeValueMissing, "evidence %s carries no measured value", name), nil
		case e.Unit != t.Unit:
			return fail(CodeUnitMismatch, "%s %s %s is not in %s, the unit of its limits",
				name, e.Value, orNoUnit(e.Unit), t.Unit), nil
		}
		v := e.Value
		lo, hi := v.Cmp(lower), v.Cmp(upper)
		switch t.Bounds {
		case Inclusive:
			if lo < 0 {
				return fail(CodeBelowLowerLimit, "%s %s %s is below the lower limit %s %s (inclusive)",
					name, v, e.Unit, lower, t.Unit), nil
			}
			if hi > 0 {
				return fail(CodeAboveUpperLimit, "%s %s %s is above the upper limit %s %s (inclusive)",
					name, v, e.Unit, upper, t.Unit), nil
			}
		default: // Exclusive; the constructor accepts nothing else.
			if lo <= 0 {
				return fail(CodeBelowLowerLimit, "%s %s %s is at or below the lower limit %s %s (exclusive)",
					name, v, e.Unit, lower, t.Unit), nil
			}
			if hi >= 0 {
				return fail(CodeAboveUpperLimit, "%s %s %s is at or above the upper limit %s %s (exclusive)",
					name, v, e.Unit, upper, t.Unit), nil
			}
		}
		return Pass(), nil
	}), nil
}

func orNoUnit(u string) string {
	if u == "" {
		return "(no unit)"
	}
	return u
}
