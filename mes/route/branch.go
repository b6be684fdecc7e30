package route

import (
	"fmt"

	"github.com/interlock-mes/interlock"
)

// NextStep is where a route goes after a step: to Step, or opening an
// exception of kind Exception, or Done at the end of the route. Exactly one
// is set.
type NextStep struct {
	Step      string
	Exception string
	Done      bool
}

// ErrUnknownStep is matched (errors.Is) when a step id is not in the route.
var ErrUnknownStep = fmt.Errorf("unknown step: %w", interlock.ErrInvalid)

// ErrBranchValue is matched (errors.Is) by every *BranchValueError.
var ErrBranchValue = fmt.Errorf("branch value: %w", interlock.ErrInvalid)

// BranchValueError says that a branch condition could not be decided: the
// value it tests was not given, or is not a number where a range needs one.
// Deciding the branch anyway would guess the route, so nothing is decided.
type BranchValueError struct {
	Step   string
	Branch int    // index in the step's branches
	Value  string // the value's name
	Reason string
}

func (e *BranchValueError) Error() string {
	return fmt.Sprintf("step %s branch %d: value %q: %s", e.Step, e.Branch, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBranchValue) true.
func (e *BranchValueError) Unwrap() error { return ErrBranchValue }

// Next decides where the route goes once step is complete, given the values
// the step recorded by name (a scanned lot id, a weight, a recorded value,
// as text). The step's branches are tried in order and the first that holds
// decides; when none does, the route goes on with the following step, the
// first step of the next operation, or is done.
//
// It returns an error matching ErrUnknownStep when step is not in the route,
// and a *BranchValueError when a condition it must try tests a value that is
// missing or, for a range, not a number. It reads only its arguments.
func (r *Route) Next(step string, values map[string]string) (NextStep, error) {
	steps := r.Steps()
	at := -1
	for i, s := range steps {
		if s.ID == step {
			at = i
			break
		}
	}
	if at < 0 {
		return NextStep{}, fmt.Errorf("route %s v%d: step %q: %w", r.Product, r.Version, step, ErrUnknownStep)
	}
	for k, b := range steps[at].Branches {
		holds, err := b.When.holds(values)
		if err != nil {
			err.Step, err.Branch = step, k
			return NextStep{}, err
		}
		if !holds {
			continue
		}
		if b.OpenException != "" {
			return NextStep{Exception: b.OpenException}, nil
		}
		return NextStep{Step: b.GoTo}, nil
	}
	if at+1 < len(steps) {
		return NextStep{Step: steps[at+1].ID}, nil
	}
	return NextStep{Done: true}, nil
}

// holds decides a condition; a nil condition always holds.
func (c *Condition) holds(values map[string]string) (bool, *BranchValueError) {
	if c == nil {
		return true, nil
	}
	v, ok := values[c.Value]
	if !ok {
		return false, &BranchValueError{Value: c.Value, Reason: "the step recorded no such value"}
	}
	if c.Outside != nil {
		d, err := parseQuantity(v)
		if err != nil {
			return false, &BranchValueError{Value: c.Value, Reason: fmt.Sprintf("%q is not a number in range", v)}
		}
		return d.LessThan(c.Outside.Min) || d.GreaterThan(c.Outside.Max), nil
	}
	if a, err := parseQuantity(v); err == nil {
		if b, err := parseQuantity(c.Equals); err == nil {
			return a.Equal(b), nil
		}
	}
	return v == c.Equals, nil
}
