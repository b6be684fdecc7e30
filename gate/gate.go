package gate

import (
	"context"
	"errors"
	"fmt"
)

// Gate is a predicate that guards a transition. Check returns a passing
// Verdict, or a failing one whose reasons say why the attempt is blocked.
//
// The error is only for a failure to evaluate: a fact could not be looked up
// (I/O, a cancelled context) or the call itself was malformed (nil attempt,
// nil facts for a gate that needs them). A gate that fails never returns an
// error for it, and a fact the Facts report as unknown (ErrUnknown) is a
// failing verdict, not an error. When the error is not nil the verdict means
// nothing; the caller must treat the attempt as neither allowed nor denied,
// and may evaluate it again.
//
// Check must not modify the attempt. A gate may be called concurrently.
type Gate interface {
	Check(ctx context.Context, a *Attempt, f Facts) (Verdict, error)
}

var (
	// ErrNilAttempt is returned by every gate of this package for a nil
	// attempt: the caller has nothing to evaluate.
	ErrNilAttempt = errors.New("gate: nil attempt")
	// ErrNilFacts is returned by gates that look facts up when they are
	// given nil Facts.
	ErrNilFacts = errors.New("gate: nil facts")
)

// Code identifies why a gate failed. Codes are stable: programs and reports
// match on them, so a built-in code never changes meaning. Codes of the
// built-in gates are listed in codes.go; a custom gate may define its own,
// preferably as "area.condition" like the built-in ones.
type Code string

// Reason is one cause of a failing verdict.
type Reason struct {
	Gate    string // name of the gate that failed (see Named); "" when it has none
	Code    Code   // stable, machine-readable cause
	Message string // a sentence a person understands, with the concrete values
}

// Verdict is the result of a check. The zero Verdict passes; a failing one
// has at least one reason. Build them with Pass and Fail.
type Verdict struct {
	Reasons []Reason // why the attempt is blocked; empty when it passed
}

// Passed reports whether the verdict allows the attempt.
func (v Verdict) Passed() bool { return len(v.Reasons) == 0 }

// Pass returns a passing verdict.
func Pass() Verdict { return Verdict{} }

// Fail returns a failing verdict. It takes at least one reason so that a
// failure without a cause cannot be written.
func Fail(r Reason, more ...Reason) Verdict {
	rs := make([]Reason, 0, 1+len(more))
	return Verdict{Reasons: append(append(rs, r), more...)}
}

// Func adapts a function to a Gate. Reasons it returns carry whatever Gate
// name the function sets; wrap it with Named so that they say which gate
// failed.
type Func func(ctx context.Context, a *Attempt, f Facts) (Verdict, error)

// Check calls fn. A nil Func returns an error rather than panicking.
func (fn Func) Check(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
	if fn == nil {
		return Verdict{}, errors.New("gate: nil Func")
	}
	return fn(ctx, a, f)
}

// named is the gate Named returns; the built-in gates are named too.
type named struct {
	name string
	g    Gate
}

// Named returns a gate that checks g and sets the Gate field of every reason
// it returns to name, replacing any name set inside g (so naming an All of
// several gates makes all its reasons carry the one name; their codes still
// tell them apart). Errors from g are wrapped with the name. It returns an
// error when name is empty or g is nil.
func Named(name string, g Gate) (Gate, error) {
	switch {
	case name == "":
		return nil, errors.New("gate: Named: name is empty")
	case isNil(g):
		return nil, fmt.Errorf("gate: Named %s: gate is nil", name)
	}
	return &named{name: name, g: g}, nil
}

// Name returns the name of a gate made by Named or by a built-in
// constructor, and "" for any other gate.
func Name(g Gate) string {
	if n, ok := g.(*named); ok {
		return n.name
	}
	return ""
}

func (n *named) Check(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
	if a == nil {
		return Verdict{}, ErrNilAttempt
	}
	v, err := n.g.Check(ctx, a, f)
	if err != nil {
		return Verdict{}, fmt.Errorf("%s: %w", n.name, err)
	}
	if v.Passed() {
		return Pass(), nil
	}
	// A copy: the child may return a slice it shares with other calls.
	rs := make([]Reason, len(v.Reasons))
	for i, r := range v.Reasons {
		r.Gate = n.name
		rs[i] = r
	}
	return Verdict{Reasons: rs}, nil
}

// builtin names a check function of this package; its name cannot be
// empty, so there is no error to return.
func builtin(name string, fn Func) Gate {
	return &named{name: name, g: fn}
}

// isNil reports whether g is nil or a nil Func, the two nil gates a caller
// can pass by mistake.
func isNil(g Gate) bool {
	if g == nil {
		return true
	}
	fn, ok := g.(Func)
	return ok && fn == nil
}

// failures collects the reasons of a gate that reports every failing
// condition rather than the first.
type failures []Reason

func (fs *failures) add(code Code, format string, args ...any) {
	*fs = append(*fs, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}

func (fs failures) verdict() Verdict {
	if len(fs) == 0 {
		return Pass()
	}
	return Verdict{Reasons: fs}
}

func fail(code Code, format string, args ...any) Verdict {
	return Fail(Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}
