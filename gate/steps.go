package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PriorSteps returns a gate that passes when each of steps is, on the
// attempt's subject, in one of states: PriorSteps([]StepState{StepComplete,
// StepVerified}, "S10", "S20"). It reads Facts.Steps, where a later entry for
// a step supersedes an earlier one, and reports every step that fails, in
// the order given: CodeStepMissing for a step with no entry,
// CodeStepIncomplete for one in another state; before that,
// CodeSubjectMissing or CodeSubjectUnknown. Its reasons are named
// "prior-steps". It returns an error when states or steps is empty or holds
// an empty value.
func PriorSteps(states []StepState, steps ...string) (Gate, error) {
	var errs []error
	if len(states) == 0 {
		errs = append(errs, errors.New("gate: PriorSteps: no states"))
	}
	if slices.Contains(states, "") {
		errs = append(errs, errors.New("gate: PriorSteps: a state is empty"))
	}
	if len(steps) == 0 {
		errs = append(errs, errors.New("gate: PriorSteps: no steps"))
	}
	if slices.Contains(steps, "") {
		errs = append(errs, errors.New("gate: PriorSteps: a step id is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	states, steps = slices.Clone(states), slices.Clone(steps)
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = string(s)
	}
	want := strings.Join(names, " or ")
	return builtin("prior-steps", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		if a.Subject == "" {
			return fail(CodeSubjectMissing, "the attempt names no subject whose steps could be checked"), nil
		}
		recorded, err := f.Steps(ctx, a.Subject)
		switch {
		case errors.Is(err, ErrUnknown):
			return fail(CodeSubjectUnknown, "%s is not known", a.Subject), nil
		case err != nil:
			return Verdict{}, fmt.Errorf("steps of %s: %w", a.Subject, err)
		}
		current := make(map[string]StepState, len(recorded))
		for _, s := range recorded {
			current[s.ID] = s.State
		}
		var fs failures
		for _, id := range steps {
			st, ok := current[id]
			switch {
			case !ok:
				fs.add(CodeStepMissing, "step %s of %s has not been done; it must be %s first", id, a.Subject, want)
			case !slices.Contains(states, st):
				fs.add(CodeStepIncomplete, "step %s of %s is %s; it must be %s first", id, a.Subject, orUnset(string(st)), want)
			}
		}
		return fs.verdict(), nil
	}), nil
}
