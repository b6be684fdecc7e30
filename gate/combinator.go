package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

func checkChildren(op string, gates []Gate) error {
	if len(gates) == 0 {
		return fmt.Errorf("gate: %s: no gates", op)
	}
	var errs []error
	for i, g := range gates {
		if isNil(g) {
			errs = append(errs, fmt.Errorf("gate: %s: gate %d is nil", op, i))
		}
	}
	return errors.Join(errs...)
}

type all []Gate

// All returns a gate that passes when every one of gates passes. It
// evaluates every gate, even after one has failed, and returns the reasons
// of all that failed, in order: the engine records every failure, not only
// the first. If a gate returns an error, All returns that error and no
// verdict. It returns an error when gates is empty or holds a nil gate.
func All(gates ...Gate) (Gate, error) {
	if err := checkChildren("All", gates); err != nil {
		return nil, err
	}
	return all(append([]Gate(nil), gates...)), nil
}

func (gs all) Check(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
	if a == nil {
		return Verdict{}, ErrNilAttempt
	}
	var rs []Reason
	for _, g := range gs {
		v, err := g.Check(ctx, a, f)
		if err != nil {
			return Verdict{}, err
		}
		rs = append(rs, v.Reasons...)
	}
	return Verdict{Reasons: rs}, nil
}

type anyOf []Gate

// Any returns a gate that passes when at least one of gates passes; when none
// does, it fails with the reasons of all of them, in order. It evaluates the
// gates in order and stops at the first that passes. A gate that passes
// outweighs an error from another (the result is known without it); when
// none passes and one returned an error, Any returns the first error. It
// returns an error when gates is empty or holds a nil gate.
func Any(gates ...Gate) (Gate, error) {
	if err := checkChildren("Any", gates); err != nil {
		return nil, err
	}
	return anyOf(append([]Gate(nil), gates...)), nil
}

func (gs anyOf) Check(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
	if a == nil {
		return Verdict{}, ErrNilAttempt
	}
	var (
		rs       []Reason
		firstErr error
	)
	for _, g := range gs {
		v, err := g.Check(ctx, a, f)
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case v.Passed():
			return Pass(), nil
		default:
			rs = append(rs, v.Reasons...)
		}
	}
	if firstErr != nil {
		return Verdict{}, firstErr
	}
	return Verdict{Reasons: rs}, nil
}

type not struct {
	g      Gate
	reason Reason
}

// Not returns a gate that passes when g fails and fails, with the one reason
// given by code and message, when g passes; the reasons of g are dropped, as
// they explain a failure that is now the wanted outcome. An error from g is
// returned as is. The reason's Gate is "not" unless the result is Named. It
// returns an error when g is nil, or code or message is empty.
func Not(g Gate, code Code, message string) (Gate, error) {
	var errs []error
	if isNil(g) {
		errs = append(errs, errors.New("gate: Not: gate is nil"))
	}
	if code == "" {
		errs = append(errs, errors.New("gate: Not: code is empty"))
	}
	if message == "" {
		errs = append(errs, errors.New("gate: Not: message is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &named{name: "not", g: &not{g: g, reason: Reason{Code: code, Message: message}}}, nil
}

func (n *not) Check(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
	v, err := n.g.Check(ctx, a, f)
	if err != nil {
		return Verdict{}, err
	}
	if v.Passed() {
		return Fail(n.reason), nil
	}
	return Pass(), nil
}

// IfEvidence returns a gate that checks g only when the attempt carries
// evidence named name, and passes otherwise: a missing piece of evidence is
// the evidence requirement's to report, once, not every gate's that reads
// it. The returned gate has g's name. A nil g gives nil.
func IfEvidence(name string, g Gate) Gate { return IfAnyEvidence([]string{name}, g) }

// IfAnyEvidence is IfEvidence for evidence named by any of names.
func IfAnyEvidence(names []string, g Gate) Gate {
	if isNil(g) {
		return nil
	}
	return NamedAs(g, &evidenceGuard{names: slices.Clone(names), g: g})
}

// NamedAs gives wrapper, a gate that guards g, g's name (Name), so that its
// reasons name the gate they come from. When g is unnamed, wrapper is
// returned as it is.
func NamedAs(g, wrapper Gate) Gate {
	named, err := Named(Name(g), wrapper)
	if err != nil {
		return wrapper
	}
	return named
}

type evidenceGuard struct {
	names []string
	g     Gate
}

func (e *evidenceGuard) Check(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
	if a == nil {
		return Verdict{}, ErrNilAttempt
	}
	if !slices.ContainsFunc(a.Evidence, func(ev Evidence) bool { return slices.Contains(e.names, ev.Name) }) {
		return Pass(), nil
	}
	return e.g.Check(ctx, a, f)
}
