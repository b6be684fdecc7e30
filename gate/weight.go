package gate

import (
	"context"
	"errors"
	"fmt"
)

// MinimumWeight returns a gate that passes when the attempt's one piece of
// evidence named name carries a weight at or above the minimum weight of
// the scale scale gives (Equipment.MinWeight, set by the scale's
// calibration), in the same unit. Below its minimum weight a balance's
// relative error exceeds what the weighing may have (USP <41>), so such a
// weight is refused however close it lies to its target.
//
// The evidence must come from that scale: evidence naming another
// instrument fails with CodeWrongInstrument; evidence naming none (a
// weight typed from the scale's display) is judged against the scale's
// minimum weight, and whether typed weights are allowed at all is
// RequireSource's to say.
//
// A scale without a minimum weight (zero, negative, or without a unit)
// fails closed with CodeMinWeightUnset: no minimum weight is not the same as
// a minimum weight of zero.
//
// It fails with CodeEvidenceMissing, CodeEvidenceDuplicate,
// CodeValueMissing, CodeWrongInstrument, CodeEquipmentUnknown,
// CodeMinWeightUnset, CodeUnitMismatch (units are compared as written,
// nothing is converted) or CodeBelowMinWeight, or with the codes of
// resolving scale. Its reasons are named "minimum-weight". It returns an
// error when name is empty or scale is invalid.
func MinimumWeight(name string, scale ID) (Gate, error) {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if err := scale.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("gate: MinimumWeight: %w", err)
	}
	return builtin("minimum-weight", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		sid, r := scale.resolve(a, "scale")
		if r != nil {
			return Fail(*r), nil
		}
		e, r := findEvidence(a, name)
		switch {
		case r != nil:
			return Fail(*r), nil
		case !e.HasValue:
			return fail(CodeValueMissing, "evidence %s carries no measured value", name), nil
		case e.Instrument != "" && e.Instrument != sid:
			return fail(CodeWrongInstrument, "evidence %s was measured on %s, not on scale %s whose minimum weight applies",
				name, e.Instrument, sid), nil
		}
		eq, err := f.Equipment(ctx, sid)
		switch {
		case errors.Is(err, ErrUnknown):
			return fail(CodeEquipmentUnknown, "equipment %s is not known", sid), nil
		case err != nil:
			return Verdict{}, fmt.Errorf("equipment %s: %w", sid, err)
		}
		switch {
		case eq.MinWeight.IsZero():
			return fail(CodeMinWeightUnset, "scale %s has no minimum weight set, so %s cannot be accepted from it", sid, name), nil
		case eq.MinWeight.IsNegative():
			return fail(CodeMinWeightUnset, "scale %s has a negative minimum weight (%s), so %s cannot be accepted from it",
				sid, eq.MinWeight, name), nil
		case eq.MinWeightUnit == "":
			return fail(CodeMinWeightUnset, "scale %s has a minimum weight of %s without a unit, so %s cannot be accepted from it",
				sid, eq.MinWeight, name), nil
		case e.Unit != eq.MinWeightUnit:
			return fail(CodeUnitMismatch, "%s %s %s is not in %s, the unit of scale %s's minimum weight",
				name, e.Value, orNoUnit(e.Unit), eq.MinWeightUnit, sid), nil
		case e.Value.LessThan(eq.MinWeight):
			return fail(CodeBelowMinWeight, "%s %s %s is below the minimum weight %s %s of scale %s",
				name, e.Value, e.Unit, eq.MinWeight, eq.MinWeightUnit, sid), nil
		}
		return Pass(), nil
	}), nil
}

// GrossMinusTare returns a gate that passes when the attempt's evidence
// named gross, tare and net is one weighing: each a value read from a
// device (SourceDevice), all on one named instrument, all in one unit, and
// net exactly equal to gross minus tare. The tare is evidence like the
// others, so it is on the record of the transition that the weighing
// completes, and a net weight cannot be presented without the tare it was
// taken against.
//
// It reports every condition that fails: for each name CodeEvidenceMissing,
// CodeEvidenceDuplicate, CodeValueMissing or CodeSourceNotAllowed; then, for
// the three together, CodeWrongInstrument (different instruments, or none
// named), CodeUnitMismatch (different units, or none) and CodeNetMismatch.
// Its reasons are named "gross-minus-tare". It returns an error when a name
// is empty or two names are the same.
func GrossMinusTare(gross, tare, net string) (Gate, error) {
	var errs []error
	names := [3]string{gross, tare, net}
	roles := [3]string{"gross", "tare", "net"}
	for i, n := range names {
		if n == "" {
			errs = append(errs, fmt.Errorf("%s is empty", roles[i]))
			continue
		}
		for j := range i {
			if names[j] == n {
				errs = append(errs, fmt.Errorf("%s and %s are both %q", roles[j], roles[i], n))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("gate: GrossMinusTare: %w", err)
	}
	return builtin("gross-minus-tare", func(_ context.Context, a *Attempt, _ Facts) (Verdict, error) {
		var fs failures
		var evs [3]Evidence
		complete := true
		for i, n := range names {
			e, r := findEvidence(a, n)
			switch {
			case r != nil:
				fs = append(fs, *r)
				complete = false
				continue
			case !e.HasValue:
				fs.add(CodeValueMissing, "evidence %s carries no measured value", n)
				complete = false
			}
			if e.Source != SourceDevice {
				fs.add(CodeSourceNotAllowed, "evidence %s came from %s; a weighing is read from a device",
					n, orUnsetSource(e.Source))
			}
			evs[i] = e
		}
		if !complete {
			return fs.verdict(), nil
		}
		g, t, n := evs[0], evs[1], evs[2]
		switch {
		case g.Instrument != t.Instrument || t.Instrument != n.Instrument:
			fs.add(CodeWrongInstrument, "%s from %s, %s from %s and %s from %s are not one instrument's weighing",
				gross, orNone(g.Instrument), tare, orNone(t.Instrument), net, orNone(n.Instrument))
		case g.Instrument == "":
			fs.add(CodeWrongInstrument, "%s, %s and %s name no instrument they were weighed on", gross, tare, net)
		}
		switch {
		case g.Unit != t.Unit || t.Unit != n.Unit:
			fs.add(CodeUnitMismatch, "%s in %s, %s in %s and %s in %s are not in one unit",
				gross, orNoUnit(g.Unit), tare, orNoUnit(t.Unit), net, orNoUnit(n.Unit))
		case g.Unit == "":
			fs.add(CodeUnitMismatch, "%s, %s and %s carry no unit", gross, tare, net)
		default:
			if want := g.Value.Sub(t.Value); !n.Value.Equal(want) {
				fs.add(CodeNetMismatch, "%s %s %s is not %s %s %s minus %s %s %s, which is %s %s",
					net, n.Value, n.Unit, gross, g.Value, g.Unit, tare, t.Value, t.Unit, want, n.Unit)
			}
		}
		return fs.verdict(), nil
	}), nil
}

// orNone shows an empty instrument in a message.
func orNone(instrument string) string {
	if instrument == "" {
		return "no instrument"
	}
	return instrument
}

// orUnsetSource shows an empty source in a message.
func orUnsetSource(s Source) string {
	if s == "" {
		return "no stated source"
	}
	return string(s)
}
