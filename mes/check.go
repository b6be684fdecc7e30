package mes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// The read side: questions a service asks before it acts (would this be
// allowed, and if not why; where does a subject stand, now or at a past
// instant). None of them writes anything: a dry run leaves no denied
// attempt for QA to review.

// Verdict is what a command would come to, decided as Execute decides it,
// without writing anything.
type Verdict struct {
	Subject string
	Step    string
	State   State   // the state the subject (or its step) stands in
	Command Command // the command judged
	// Allowed: every gate, evidence requirement, material check and bound
	// context passes. The signatures the transition requires are not
	// collected (see Signatures); a command that gives them may still be
	// denied if one fails.
	Allowed bool
	To      State         // where the transition leads; "" when the model does not permit it
	Reasons []gate.Reason // every failure, with its gate and code; none when allowed
	// Signatures are the signatures the transition requires when it runs.
	Signatures []SignatureRequirement
	// Next are the commands the model permits from State, sorted: what
	// could be asked of the subject at all (each still subject to its
	// gates).
	Next []Command
}

// ErrNoRecordsYet is returned by StateAt for an instant before the
// subject's first record: it did not exist then.
var ErrNoRecordsYet = errors.New("mes: the subject has no record at that instant")

// view is what the read side reads through: a reader and an instant.
type view struct {
	reader storage.Reader
	at     time.Time
}

// Check decides req as Execute would now, and writes nothing: it folds the
// subject's state, evaluates every gate of the transition against the
// facts, and returns the verdict with every reason. req.ID may be empty.
// It returns a *RequestError for a request Execute would refuse, and an
// *UnprovenError when the subject's records do not prove its state.
func (e *Engine) Check(ctx context.Context, req Request) (*Verdict, error) {
	return e.check(ctx, req, &view{reader: e.store})
}

// CheckAt is Check as of the instant at: the subject's records and every
// fact stream its gates read count only as far as at (by record time), and
// the gates judge at that time. It answers "would this have been allowed
// then", with the facts as they stood.
func (e *Engine) CheckAt(ctx context.Context, req Request, at time.Time) (*Verdict, error) {
	if at.IsZero() {
		return nil, invalidRequest("at", "no instant")
	}
	return e.check(ctx, req, &view{reader: asOf{Reader: e.store, at: at}, at: at})
}

func (e *Engine) check(ctx context.Context, req Request, v *view) (*Verdict, error) {
	if req.ID == "" {
		req.ID = "check"
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	recs, err := v.reader.Load(ctx, req.Subject, 1)
	if err != nil {
		return nil, fmt.Errorf("mes: load %s: %w", req.Subject, err)
	}
	var a attempt
	if err := e.decide(ctx, &a, &req, recs, true, v); err != nil {
		return nil, err
	}
	out := &Verdict{Subject: req.Subject, Step: req.Step, State: a.state, Command: req.Command,
		Allowed: len(a.reasons) == 0, Reasons: a.reasons, Next: req.Model.next(a.state)}
	if a.t != nil {
		out.To = a.t.To
		out.Signatures = slices.Clone(a.t.Signatures)
	}
	return out, nil
}

// CheckSigner is Check that also judges, before anyone signs, the
// signatures the transition asks for as if signer gave each of them: as
// the engine judges a signature when it is given, signer must not have
// taken part in the work where a requirement says NotPerformer, must not
// give the command where it says NotActor, must be a person the plant
// knows, and must hold one of its roles. Nobody is authenticated and
// nothing is written: a signature the verdict allows may still fail at
// signing for a wrong secret or a locked credential, and a requirement
// of several distinct signers is judged for this one. The Verdict's
// Reasons hold the gates' reasons and the signer's; Allowed is set when
// there are none. It is the question a screen asks when the person at it
// both gives the command and signs it. It returns Check's errors, and a
// *RequestError for an empty signer.
func (e *Engine) CheckSigner(ctx context.Context, req Request, signer string) (*Verdict, error) {
	if signer == "" {
		return nil, invalidRequest("signer", "no signer")
	}
	if req.ID == "" {
		req.ID = "check"
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	recs, err := e.store.Load(ctx, req.Subject, 1)
	if err != nil {
		return nil, fmt.Errorf("mes: load %s: %w", req.Subject, err)
	}
	var a attempt
	if err := e.decide(ctx, &a, &req, recs, true, &view{reader: e.store}); err != nil {
		return nil, err
	}
	out := &Verdict{Subject: req.Subject, Step: req.Step, State: a.state, Command: req.Command,
		Reasons: a.reasons, Next: req.Model.next(a.state)}
	if a.t != nil {
		out.To = a.t.To
		out.Signatures = slices.Clone(a.t.Signatures)
		performers := performersOf(&req, recs)
		for _, r := range a.t.Signatures {
			rs, err := signerReasons(ctx, &req, a.t, a.facts, performers, r, signer)
			if err != nil {
				return nil, err
			}
			out.Reasons = append(out.Reasons, rs...)
		}
	}
	out.Allowed = len(out.Reasons) == 0
	return out, nil
}

// State returns the state subject (or its step, when step is not empty)
// stands in under model m, folded from its records now. It returns an
// *UnprovenError when a record does not prove its move (see Fold).
func (e *Engine) State(ctx context.Context, m *Model, subject, step string) (State, error) {
	return e.stateOf(ctx, m, subject, step, e.store)
}

// StateAt is State as of the instant at: the records up to it. It returns
// ErrNoRecordsYet for an instant before the subject's first record.
func (e *Engine) StateAt(ctx context.Context, m *Model, subject, step string, at time.Time) (State, error) {
	if at.IsZero() {
		return "", invalidRequest("at", "no instant")
	}
	return e.stateOf(ctx, m, subject, step, asOf{Reader: e.store, at: at})
}

func (e *Engine) stateOf(ctx context.Context, m *Model, subject, step string, r storage.Reader) (State, error) {
	switch {
	case m == nil:
		return "", invalidRequest("Model", "no model")
	case subject == "":
		return "", invalidRequest("Subject", "no subject")
	}
	if err := m.checkStep(step); err != nil {
		return "", err
	}
	recs, err := r.Load(ctx, subject, 1)
	if err != nil {
		return "", fmt.Errorf("mes: load %s: %w", subject, err)
	}
	if _, past := r.(asOf); past && len(recs) == 0 {
		return "", fmt.Errorf("mes: %s: %w", subject, ErrNoRecordsYet)
	}
	return foldFrom(m, step, recs, m.initial, nil, e.attest)
}

// next returns the commands m permits from state, sorted.
func (m *Model) next(state State) []Command {
	out := make([]Command, 0, len(m.byFrom[state]))
	for c := range m.byFrom[state] {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// asOf reads a store as it stood at an instant: records with a later time
// are left out. Records of a stream are in version order and their times
// never run backwards (the stores refuse it), so a stream as of an instant
// is a prefix of it.
type asOf struct {
	storage.Reader
	at time.Time
}

func (r asOf) Load(ctx context.Context, stream string, from int64) ([]audit.Record, error) {
	recs, err := r.Reader.Load(ctx, stream, from)
	if err != nil {
		return nil, err
	}
	n := len(recs)
	for n > 0 && recs[n-1].Time.After(r.at) {
		n--
	}
	return recs[:n], nil
}

// Subject names what Dispatch asks about: a subject (or one step of it)
// run under a model.
type Subject struct {
	Model   *Model
	Subject string
	Step    string
}

// Dispatch is what one actor could do with one subject now.
type Dispatch struct {
	Subject string
	Step    string
	State   State
	// Allowed are the commands the actor could give now, sorted; each
	// still needs whatever evidence and signatures its transition asks
	// for at the time.
	Allowed []Command
	// Blocked are the commands the model permits from State that the
	// actor could not give now, each with every reason.
	Blocked []Blocked
}

// Blocked is a command and why it is blocked.
type Blocked struct {
	Command Command
	Reasons []gate.Reason
}

// AwaitsInput reports whether every reason b is blocked for is input
// nobody has given yet (evidence, a reference or a measured value
// missing): Dispatch asks before anyone scans or weighs, so such a
// command is the person's next work at the screen that asks for it, not
// a gate that stops them.
func (b Blocked) AwaitsInput() bool {
	for _, r := range b.Reasons {
		switch r.Code {
		case gate.CodeEvidenceMissing, gate.CodeRefMissing, gate.CodeValueMissing:
		default:
			return false
		}
	}
	return len(b.Reasons) > 0
}

// dispatchWorkers bounds how many subjects Dispatch reads at once.
const dispatchWorkers = 4

// Dispatch answers, for actor, what each of subjects allows now: every
// command its model permits from its state, judged as Check judges it,
// with the gates that block the others and why. Evidence a command asks
// for is judged as not given (its requirement shows among the reasons,
// code evidence.missing), since a screen asks before anyone scans. It
// writes nothing. The answer is in the order of subjects; a subject that
// cannot be folded fails the whole call, naming it.
func (e *Engine) Dispatch(ctx context.Context, actor string, subjects []Subject) ([]Dispatch, error) {
	if actor == "" {
		return nil, invalidRequest("Actor", "no actor")
	}
	for i, s := range subjects {
		if s.Model == nil || s.Subject == "" {
			return nil, invalidRequest("subjects", "subject %d names no model or no subject", i)
		}
		if err := s.Model.checkStep(s.Step); err != nil {
			return nil, fmt.Errorf("mes: dispatch subject %d (%s): %w", i, s.Subject, err)
		}
	}
	// Every subject's gates read the same actor and, often, the same lots
	// and equipment: each stream is read once per call.
	memo := &memoReader{Reader: e.store, streams: map[string][]audit.Record{}}
	out := make([]Dispatch, len(subjects))
	errs := make([]error, len(subjects))
	next := make(chan int)
	done := make(chan struct{})
	workers := min(dispatchWorkers, len(subjects))
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range next {
				out[i], errs[i] = e.dispatchOne(ctx, actor, subjects[i], memo)
			}
		}()
	}
	for i := range subjects {
		next <- i
	}
	close(next)
	for range workers {
		<-done
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("mes: dispatch %s: %w", subjects[i].Subject, err)
		}
	}
	return out, nil
}

func (e *Engine) dispatchOne(ctx context.Context, actor string, s Subject, memo *memoReader) (Dispatch, error) {
	v := &view{reader: memo}
	recs, err := e.store.Load(ctx, s.Subject, 1)
	if err != nil {
		return Dispatch{}, err
	}
	state, err := foldFrom(s.Model, s.Step, recs, s.Model.initial, nil, e.attest)
	if err != nil {
		return Dispatch{}, err
	}
	d := Dispatch{Subject: s.Subject, Step: s.Step, State: state}
	for _, cmd := range s.Model.next(state) {
		req := Request{ID: "dispatch", Model: s.Model, Subject: s.Subject, Step: s.Step, Command: cmd, Actor: actor}
		var a attempt
		if err := e.decide(ctx, &a, &req, recs, true, v); err != nil {
			return Dispatch{}, err
		}
		if len(a.reasons) == 0 {
			d.Allowed = append(d.Allowed, cmd)
		} else {
			d.Blocked = append(d.Blocked, Blocked{Command: cmd, Reasons: a.reasons})
		}
	}
	return d, nil
}

// memoReader keeps the whole streams it loaded, for one Dispatch call: the
// facts of its subjects are read once. A stream's records are loaded from
// version 1 and kept as they were; Load from a later version is served from
// them.
type memoReader struct {
	storage.Reader
	mu      sync.Mutex
	streams map[string][]audit.Record
}

func (m *memoReader) Load(ctx context.Context, stream string, from int64) ([]audit.Record, error) {
	m.mu.Lock()
	recs, ok := m.streams[stream]
	m.mu.Unlock()
	if !ok {
		var err error
		if recs, err = m.Reader.Load(ctx, stream, 1); err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.streams[stream] = recs
		m.mu.Unlock()
	}
	if from < 1 {
		from = 1
	}
	if from > int64(len(recs)) {
		return []audit.Record{}, nil
	}
	return recs[from-1:], nil
}
