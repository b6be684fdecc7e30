package gate

import (
	"context"
	"errors"
	"fmt"
)

// TrainingCurrent returns a gate that passes when the actor's training for
// skill is valid at the attempt's time: the valid-until instant in
// Person.Training must be strictly after Attempt.Time, so training valid
// until 09:00 no longer counts at 09:00. It reads Facts.Person for the
// actor and fails with CodeActorMissing, CodeTimeMissing,
// CodePersonUnknown, CodeTrainingMissing or CodeTrainingExpired. Its reasons
// are named "training-current". It returns an error when skill is empty.
func TrainingCurrent(skill string) (Gate, error) {
	if skill == "" {
		return nil, errors.New("gate: TrainingCurrent: skill is empty")
	}
	return builtin("training-current", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		if a.Actor == "" {
			return fail(CodeActorMissing, "the attempt names no actor whose training for %s could be checked", skill), nil
		}
		if a.Time.IsZero() {
			return fail(CodeTimeMissing, "the attempt has no time at which to check training for %s", skill), nil
		}
		p, err := f.Person(ctx, a.Actor)
		switch {
		case errors.Is(err, ErrUnknown):
			return fail(CodePersonUnknown, "person %s is not known", a.Actor), nil
		case err != nil:
			return Verdict{}, fmt.Errorf("person %s: %w", a.Actor, err)
		}
		until, ok := p.Training[skill]
		switch {
		case !ok:
			return fail(CodeTrainingMissing, "%s has no training for %s", a.Actor, skill), nil
		case !a.Time.Before(until):
			return fail(CodeTrainingExpired, "%s's training for %s expired on %s", a.Actor, skill, formatTime(until)), nil
		}
		return Pass(), nil
	}), nil
}
