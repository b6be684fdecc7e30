package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// LotUsable returns a gate that passes when the lot named by id may be used
// at the attempt's time: its status is released; it has not expired (usable
// strictly before Lot.Expiry; a zero Expiry never expires); it is not on
// hold; and, when materials are given, its material is one of them
// (substitutes are listed alongside the planned material). It reads
// Facts.Lot and reports every condition that fails: CodeLotNotReleased,
// CodeLotExpired, CodeLotOnHold, CodeLotWrongMaterial; before that,
// CodeTimeMissing, CodeLotUnknown, or the codes of resolving id. Its reasons
// are named "lot-usable". It returns an error when id is invalid or a
// material is empty.
func LotUsable(id ID, materials ...string) (Gate, error) {
	if err := id.validate(); err != nil {
		return nil, fmt.Errorf("gate: LotUsable: %w", err)
	}
	if slices.Contains(materials, "") {
		return nil, errors.New("gate: LotUsable: a material is empty")
	}
	materials = slices.Clone(materials)
	return builtin("lot-usable", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		lid, r := id.resolve(a, "lot")
		if r != nil {
			return Fail(*r), nil
		}
		return judgeLot(ctx, a, f, lid, materials)
	}), nil
}

// judgeLot is LotUsable's judgement of lot lid.
func judgeLot(ctx context.Context, a *Attempt, f Facts, lid string, materials []string) (Verdict, error) {
	if a.Time.IsZero() {
		return fail(CodeTimeMissing, "the attempt has no time at which to check lot %s", lid), nil
	}
	l, err := f.Lot(ctx, lid)
	switch {
	case errors.Is(err, ErrUnknown):
		return fail(CodeLotUnknown, "lot %s is not known", lid), nil
	case err != nil:
		return Verdict{}, fmt.Errorf("lot %s: %w", lid, err)
	}
	var fs failures
	if l.Status != LotReleased {
		fs.add(CodeLotNotReleased, "lot %s is %s, not released", lid, orUnset(string(l.Status)))
	}
	if !l.Expiry.IsZero() && !a.Time.Before(l.Expiry) {
		fs.add(CodeLotExpired, "lot %s expired on %s", lid, formatTime(l.Expiry))
	}
	if l.OnHold {
		if l.HoldReason != "" {
			fs.add(CodeLotOnHold, "lot %s is on hold: %s", lid, l.HoldReason)
		} else {
			fs.add(CodeLotOnHold, "lot %s is on hold", lid)
		}
	}
	if len(materials) > 0 && !slices.Contains(materials, l.Material) {
		want := materials[0]
		if len(materials) > 1 {
			want = "one of " + strings.Join(materials, ", ")
		}
		if l.Material == "" {
			fs.add(CodeLotWrongMaterial, "lot %s has no recorded material, %s is required", lid, want)
		} else {
			fs.add(CodeLotWrongMaterial, "lot %s is material %s, not %s", lid, l.Material, want)
		}
	}
	return fs.verdict(), nil
}

// ConsumedLotsUsable returns a gate that passes when every lot the attempt
// consumes (Attempt.Consume) may be used at the attempt's time, as
// LotUsable judges it, and, when materials are given, is of one of them.
// A container moved whole is not judged: its lots were judged when they
// were packed. An attempt that consumes nothing passes. Its reasons are
// named "consumed-lots", one set per lot that fails. It returns an error
// when a material is empty.
func ConsumedLotsUsable(materials ...string) (Gate, error) {
	if slices.Contains(materials, "") {
		return nil, errors.New("gate: ConsumedLotsUsable: a material is empty")
	}
	materials = slices.Clone(materials)
	return builtin("consumed-lots", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if a == nil {
			return Verdict{}, ErrNilAttempt
		}
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		var out []Reason
		for _, c := range a.Consume {
			if c.Lot == "" {
				continue
			}
			v, err := judgeLot(ctx, a, f, c.Lot, materials)
			if err != nil {
				return Verdict{}, err
			}
			out = append(out, v.Reasons...)
		}
		return Verdict{Reasons: out}, nil
	}), nil
}
