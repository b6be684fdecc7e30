package route

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
)

// CodeOutOfOrder: the route does not have the step next: another step
// comes first, the route's branch opened an exception instead, or the
// route is done.
const CodeOutOfOrder gate.Code = "route.out-of-order"

// DefaultSkipRoles are the roles that may skip a route step (and sign the
// approval of a skip) when StepConfig.SkipRoles names none.
var DefaultSkipRoles = []string{lifecycle.RoleSupervisor}

// inOrder returns the gate that passes when stepID is the step the route
// has next for the subject: walking the route from its first step, each
// step done (skipped, or complete and, when it asks for a second person,
// verified) leads to the one its branches choose from the values its
// completion recorded (Route.Next), a skipped step to the one after it.
// The first step not done is the one that may start or be skipped.
//
// It judges only a subject bound to the route (bound passes): one that is
// not is denied by bound alone, with one reason.
func inOrder(r *Route, stepID string, bound gate.Gate) (gate.Gate, error) {
	steps := r.Steps()
	byID := make(map[string]*Step, len(steps))
	verified := make(map[string]bool, len(steps))
	for _, s := range steps {
		byID[s.ID] = s
		for _, req := range s.Requirements {
			if _, ok := req.(SecondPersonVerification); ok {
				verified[s.ID] = true
			}
		}
	}
	return gate.Named("route-order", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		if v, err := bound.Check(ctx, a, f); err != nil || !v.Passed() {
			return gate.Pass(), err
		}
		rr, ok := f.(mes.RecordReader)
		if !ok {
			return gate.Verdict{}, fmt.Errorf("the facts (%T) do not give the subject's records; run route steps through the engine", f)
		}
		recs, err := rr.Records(ctx, a.Subject)
		if err != nil {
			return gate.Verdict{}, err
		}
		state, done, err := stepStates(recs, r.Product)
		if err != nil {
			return gate.Verdict{}, err
		}
		outOfOrder := func(format string, args ...any) (gate.Verdict, error) {
			return gate.Fail(gate.Reason{Code: CodeOutOfOrder, Message: fmt.Sprintf(format, args...)}), nil
		}
		cur := steps[0].ID
		for range len(steps) + 1 {
			st := state[cur]
			finished := st == lifecycle.StepSkipped || st == lifecycle.StepVerified || (st == lifecycle.StepComplete && !verified[cur])
			if !finished {
				if cur == stepID {
					return gate.Pass(), nil
				}
				return outOfOrder("route %s v%d has step %s next on %s, not %s", r.Product, r.Version, cur, a.Subject, stepID)
			}
			var next NextStep
			if st == lifecycle.StepSkipped {
				next, err = r.sequentialNext(cur)
			} else {
				next, err = r.Next(cur, byID[cur].Values(done[cur]))
			}
			switch {
			case err != nil:
				return outOfOrder("the route cannot tell what follows step %s on %s: %v", cur, a.Subject, err)
			case next.Exception != "":
				return outOfOrder("route %s v%d opens an exception of kind %q after step %s on %s; no step follows it", r.Product, r.Version, next.Exception, cur, a.Subject)
			case next.Done:
				return outOfOrder("route %s v%d is done on %s; step %s does not follow", r.Product, r.Version, a.Subject, stepID)
			}
			cur = next.Step
		}
		return outOfOrder("the route loops through finished steps on %s", a.Subject)
	}))
}

// sequentialNext is where the route goes after step without its branches:
// the step after it, or done.
func (r *Route) sequentialNext(step string) (NextStep, error) {
	steps := r.Steps()
	for i, s := range steps {
		if s.ID == step {
			if i+1 < len(steps) {
				return NextStep{Step: steps[i+1].ID}, nil
			}
			return NextStep{Done: true}, nil
		}
	}
	return NextStep{}, fmt.Errorf("route %s v%d: step %q: %w", r.Product, r.Version, step, ErrUnknownStep)
}

// stepStates folds the subject's records of the route step models of
// product (each step's record names its step's model): each step's state,
// and the evidence its completion recorded.
func stepStates(recs []audit.Record, product string) (map[string]mes.State, map[string][]gate.Evidence, error) {
	state := map[string]mes.State{}
	done := map[string][]gate.Evidence{}
	for i := range recs {
		r := &recs[i]
		if r.Type == event.Denied {
			continue
		}
		var p event.Transition
		if err := json.Unmarshal(r.Payload, &p); err != nil || p.Step == "" || p.To == "" || p.Model != StepModelName(product, p.Step) {
			continue
		}
		state[p.Step] = p.To
		if p.To == lifecycle.StepComplete && len(r.Evidence) > 0 && string(r.Evidence) != "null" {
			var ev []gate.Evidence
			if err := json.Unmarshal(r.Evidence, &ev); err != nil {
				return nil, nil, fmt.Errorf("%s v%d: evidence: %w", r.Stream, r.Version, err)
			}
			done[p.Step] = ev
		}
	}
	return state, done, nil
}
