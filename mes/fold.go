package mes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
)

// ErrModelVersion is matched (errors.Is) by every *ModelVersionError.
var ErrModelVersion = errors.New("mes: the subject runs another version of the model")

// ModelVersionError says that a subject runs another version of a model
// than the one a command or a fold named: a model's version cannot change
// in the middle of a subject's life. Look the running version up in a
// Registry (Registry.Model) and use it.
type ModelVersionError struct {
	Stream  string
	Version int64 // the record that shows the running version
	Model   string
	Running int // the version the subject runs
	Asked   int // the version named
}

func (e *ModelVersionError) Error() string {
	return fmt.Sprintf("mes: %s runs %s v%d (record v%d), not v%d", e.Stream, e.Model, e.Running, e.Version, e.Asked)
}

// Unwrap makes errors.Is(err, ErrModelVersion) true.
func (e *ModelVersionError) Unwrap() error { return ErrModelVersion }

// Fold derives the state of a subject (or of one step of it) from its
// records: the state the last transition of model m led to, or the model's
// initial state. Only records whose type the model records as a
// transition's own event are decoded, so folding a long stream is cheap.
// It returns an error when a record cannot be decoded, a *ModelVersionError
// when the subject runs another version of the model, and an *UnprovenError for a
// transition record the model does not allow from the state before it,
// and a *RequestError for a step the model does not run (Builder.Steps).
func Fold(m *Model, step string, recs []audit.Record) (State, error) {
	if err := m.checkStep(step); err != nil {
		return "", err
	}
	return foldFrom(m, step, recs, m.initial, nil, nil)
}

// FoldAttested is Fold that also refuses, with an *UnprovenError, a
// transition record without a valid attestation by one of keys.
func FoldAttested(m *Model, step string, recs []audit.Record, keys *audit.Attested) (State, error) {
	if keys == nil {
		return "", errors.New("mes: FoldAttested: no attestation keys")
	}
	if err := m.checkStep(step); err != nil {
		return "", err
	}
	return foldFrom(m, step, recs, m.initial, nil, keys)
}

// fold folds as the function fold does, from where the engine folded the
// same subject, model and step before: records before that were read then.
// For a step it also returns what the step's first transition bound, found
// in the same pass.
func (e *Engine) fold(m *Model, subject, step string, recs []audit.Record) (State, boundContext, error) {
	k := foldKey{subject: subject, model: m.name, step: step, version: m.version}
	start, state, bound := 0, m.initial, boundContext{}
	if fe, ok := e.cache.fold(k); ok && fe.n <= len(recs) {
		start, state, bound = fe.n, fe.state, fe.bound
	}
	state, err := foldFrom(m, step, recs[start:], state, &bound, e.attest)
	if err != nil {
		return "", boundContext{}, err
	}
	if len(recs) > start {
		e.cache.putFold(k, foldEntry{n: len(recs), state: state, bound: bound})
	}
	return state, bound, nil
}

// foldFrom folds recs into state. When bound is not nil and not yet
// started, the first transition of the step in recs sets it. With keys,
// every transition folded must be attested by one of them.
func foldFrom(m *Model, step string, recs []audit.Record, state State, bound *boundContext, keys *audit.Attested) (State, error) {
	var stepNeedle []byte
	if step != "" {
		var ok bool
		if stepNeedle, ok = member(nil, "step", step); !ok {
			return state, nil
		}
	}
	for i := range recs {
		r := &recs[i]
		if _, ok := m.ownTypes[r.Type]; !ok {
			continue
		}
		if step != "" && !bytes.Contains(r.Payload, stepNeedle) {
			continue
		}
		var p event.Transition
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return "", fmt.Errorf("mes: %s v%d: %w", r.Stream, r.Version, err)
		}
		if p.Model != m.name || p.Step != step {
			continue
		}
		if p.ModelVersion != m.version {
			return "", &ModelVersionError{Stream: r.Stream, Version: r.Version, Model: m.name, Running: p.ModelVersion, Asked: m.version}
		}
		unproven := func(format string, args ...any) error {
			return &UnprovenError{Stream: r.Stream, Version: r.Version, Model: m.name, Reason: fmt.Sprintf(format, args...)}
		}
		if keys != nil {
			if err := keys.Check(r); err != nil {
				return "", unproven("%v", err)
			}
		}
		if p.From != state {
			return "", unproven("it moves from %q, but the subject stood in %q", p.From, state)
		}
		if t, err := m.transition(state, p.Command); err != nil || t.To != p.To {
			return "", unproven("the model does not move from %q by %q to %q", state, p.Command, p.To)
		}
		if bound != nil && step != "" && !bound.started {
			*bound = boundContext{started: true, operator: r.Actor, refs: p.Refs}
		}
		state = p.To
	}
	return state, nil
}
