package mes

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/storage"
)

// attempt is one evaluation of a command: what it read, what was decided,
// and what is recorded.
//
// The command itself is passed beside the attempt, never stored in it:
// escape analysis follows the attempt's facts to the heap, and would take
// the caller's Request along.
type attempt struct {
	recs  []audit.Record // the subject's
	state State
	// t is the transition asked for; nil when the model does not permit
	// the command in state, and then illegal says why.
	t       *Transition
	illegal *IllegalTransitionError
	reasons []gate.Reason // every failure; none when allowed
	payload event.Transition
	facts   *streamFacts
	sigs    []signed
	links   []audit.Link
	// buf holds the evidence, (*buf)[:mark], then the encoded payload.
	buf  *[]byte
	mark int
	room *attemptRoom
}

// attemptRoom is allocated once per attempt (the attempt itself stays on
// the stack): the facts its gates read, and room for its append request (the reads it asserts, the streams it
// writes, the events of its subject), which the store does not keep.
// Keeping the buffers here keeps allocation tricks out of the facts.
type attemptRoom struct {
	facts   streamFacts
	reads   [6]storage.StreamVersion
	streams [2]storage.StreamAppend
	events  [2]storage.Event
}

// version is the version the transition's own record gets.
func (a *attempt) version() int64 { return int64(len(a.recs)) + 1 }

// evidence is the encoded evidence of the command.
func (a *attempt) evidence() []byte { return (*a.buf)[:a.mark] }

// decide folds the subject's state, finds the transition and evaluates
// every gate, evidence requirement, material check, mirror target, bound
// context and override, collecting every failure in a.reasons.
//
// With a view (the read side: Check, CheckAt), it reads through the view's
// reader, trusts no cached fact, and judges at the view's time.
func (e *Engine) decide(ctx context.Context, a *attempt, req *Request, recs []audit.Record, fresh bool, v *view) error {
	var state State
	var bound boundContext
	var err error
	at := time.Time{}
	if v == nil {
		state, bound, err = e.fold(req.Model, req.Subject, req.Step, recs)
	} else {
		state, err = foldFrom(req.Model, req.Step, recs, req.Model.initial, &bound, e.attest)
		at = v.at
	}
	if err != nil {
		return err
	}
	room := &attemptRoom{}
	if v == nil {
		room.facts.init(e.store, req.Subject, recs)
		room.facts.cache, room.facts.fresh = e.cache, fresh
	} else {
		room.facts.init(v.reader, req.Subject, recs)
	}
	*a = attempt{recs: recs, state: state, facts: &room.facts, room: room}
	a.payload = event.Transition{
		CommandID: req.ID, Model: req.Model.Name(), ModelVersion: req.Model.Version(), Step: req.Step,
		Command: req.Command, From: state, Refs: req.Refs, Data: req.Data,
		Location: req.Location, References: req.References,
	}
	t, terr := req.Model.transition(state, req.Command)
	if terr != nil {
		// A type assertion, not errors.As: a pointer into the attempt
		// passed as an interface would move the attempt to the heap.
		a.illegal, _ = terr.(*IllegalTransitionError)
		a.reasons = []gate.Reason{{Gate: "model", Code: CodeIllegalTransition, Message: terr.Error()}}
		if req.Override != nil {
			a.reasons = append(a.reasons, gate.Reason{Gate: "override", Code: CodeOverrideNotAllowed,
				Message: fmt.Sprintf("%s is not permitted in state %q; that cannot be overridden", req.Command, state)})
		}
		return nil
	}
	a.t = t
	a.payload.Critical = t.Critical
	if err := readMirrorTarget(ctx, req, t, a.facts); err != nil {
		return err
	}
	if err := readPoint(ctx, req, t, a); err != nil {
		return err
	}
	reasons, gateOnly, err := e.evaluate(ctx, req, t, a.facts, at)
	if err != nil {
		return err
	}
	if t.Mirror != nil {
		if r := mirrorTarget(req, t); r != nil {
			reasons, gateOnly = append(reasons, *r), false
		}
	}
	if req.Step != "" {
		if r := bound.check(req, t); len(r) > 0 {
			reasons, gateOnly = append(reasons, r...), false
		}
	}
	if req.Override != nil {
		a.payload.Override, reasons = overrideOf(req, t, reasons, gateOnly)
	}
	a.reasons = reasons
	return nil
}

// sign encodes the payload of an allowed transition and collects the
// signatures it requires and the override's approval, each bound to that
// payload. A signature that fails denies the transition after all: the
// payload then shows no move, and an override's failures come back with
// why it did not carry.
func (e *Engine) sign(ctx context.Context, a *attempt, req *Request) error {
	t := a.t
	a.payload.To = t.To
	a.links = lineage(req, &a.payload)
	var err error
	if *a.buf, err = appendPayload(*a.buf, &a.payload); err != nil {
		return fmt.Errorf("mes: encode transition: %w", err)
	}
	data := (*a.buf)[a.mark:]
	var content []byte
	canonical := func() ([]byte, error) {
		if content == nil {
			c, err := canonjson.Canonicalize(data)
			if err != nil {
				return nil, fmt.Errorf("mes: encode transition: %w", err)
			}
			content = c
		}
		return content, nil
	}
	if len(t.Signatures) > 0 || len(req.Signatures) > 0 {
		if a.reasons = checkSignatureInputs(req, t); len(a.reasons) == 0 {
			c, err := canonical()
			if err != nil {
				return err
			}
			if a.sigs, a.reasons, err = e.collectSignatures(ctx, req, t, a.facts, a.recs, c, a.version()); err != nil {
				return err
			}
		}
	}
	if a.payload.Override != nil && len(a.reasons) == 0 {
		c, err := canonical()
		if err != nil {
			return err
		}
		ov, reasons, err := e.signOverride(ctx, req, t, a.facts, c, a.version())
		if err != nil {
			return err
		}
		if a.reasons = reasons; ov != nil {
			a.sigs = append(a.sigs, *ov)
		}
	}
	if len(a.reasons) > 0 {
		a.payload.To = ""
		a.payload.IdentitySource, a.payload.Quantities, a.payload.Nodes = "", nil, nil
		if a.payload.Override != nil {
			a.reasons = append(a.payload.Override.Overridden, a.reasons...)
			a.payload.Override = nil
		}
	}
	return nil
}

// appendRequest returns the attempt's append, asserting every stream its
// gates read, with the subject's events in the attempt's room.
func (a *attempt) appendRequest(req *Request) (storage.AppendRequest, storage.StreamAppend) {
	subject := storage.StreamAppend{Stream: req.Subject, ExpectedVersion: int64(len(a.recs)), Events: a.room.events[:0]}
	return storage.AppendRequest{IdempotencyKey: "command/" + req.ID, Reads: a.facts.reads(a.room.reads[:0])}, subject
}

// readPoint sets the payload's read point from the equipment t names by
// its ReadPointRef, when the request gives none.
func readPoint(ctx context.Context, req *Request, t *Transition, a *attempt) error {
	id := req.Refs[t.ReadPointRef]
	if t.ReadPointRef == "" || id == "" || (req.Location != nil && req.Location.ReadPoint != nil) {
		return nil
	}
	e, err := a.facts.fact(ctx, factKey{factEquipment, id})
	if err != nil || e.eqPlace == nil {
		return err
	}
	l := event.Location{ReadPoint: e.eqPlace}
	if req.Location != nil {
		l.BizLocation = req.Location.BizLocation
	}
	a.payload.Location = &l
	return nil
}

// recordDenied records the denied attempt with every reason.
func (e *Engine) recordDenied(ctx context.Context, a *attempt, req *Request) (*Outcome, error) {
	a.payload.Reasons = a.reasons
	var err error
	if *a.buf, err = appendPayload((*a.buf)[:a.mark], &a.payload); err != nil {
		return nil, fmt.Errorf("mes: encode denied attempt: %w", err)
	}
	appendReq, subject := a.appendRequest(req)
	subject.Events = append(subject.Events, storage.Event{Type: event.Denied, Actor: req.Actor, Payload: (*a.buf)[a.mark:], Evidence: a.evidence()})
	appendReq.Streams = append(a.room.streams[:0], subject)
	if err := attestEvents(e.attest, &appendReq, 1); err != nil { // the denied attempt
		return nil, err
	}
	began := time.Now()
	res, err := e.store.Append(ctx, appendReq)
	e.obs.appended(ctx, began)
	if err != nil {
		return nil, fmt.Errorf("mes: record denied %s: %w", req.Command, err)
	}
	e.remembered(req.Subject, res)
	out := &Outcome{From: a.state, To: a.state, Reasons: a.reasons, Records: res.Records, Replayed: res.Replayed}
	return out, &DeniedError{Command: req.Command, Subject: req.Subject, State: a.state, Reasons: a.reasons, Illegal: a.illegal}
}

// recordAllowed records the transition's events, its signatures and the
// deviation an override opens on the subject, and on other streams the
// lots it consumes and makes, its mirror and the deviation's own first
// record, all in one append.
func (e *Engine) recordAllowed(ctx context.Context, a *attempt, req *Request) (*Outcome, error) {
	t := a.t
	data := (*a.buf)[a.mark:]
	types := t.Records
	if len(types) == 0 {
		types = []string{string(t.Command)}
	}
	appendReq, subject := a.appendRequest(req)
	subject.Events = append(subject.Events, storage.Event{Type: types[0], Actor: req.Actor, Payload: data, Evidence: a.evidence(), Links: a.links})
	for _, typ := range types[1:] {
		subject.Events = append(subject.Events, storage.Event{Type: typ, Actor: req.Actor, Payload: data})
	}
	sigEvents, err := signatureEvents(req, a.version(), a.sigs)
	if err != nil {
		return nil, err
	}
	for _, se := range sigEvents {
		subject.Events = append(subject.Events, storage.Event{Type: se.typ, Actor: se.actor, Payload: se.payload})
	}
	extra, err := consumptionAppends(req, a.facts)
	if err != nil {
		return nil, err
	}
	if len(req.Produce) > 0 {
		made, err := productionAppends(req)
		if err != nil {
			return nil, err
		}
		extra = append(extra, made...)
	}
	if t.Mirror != nil {
		m, err := mirrorAppend(ctx, req, t, a.facts)
		if err != nil {
			return nil, err
		}
		extra = append(extra, m)
	}
	if a.payload.Override != nil {
		marker, opened, err := overrideException(req, a.state, a.payload.Override)
		if err != nil {
			return nil, err
		}
		subject.Events = append(subject.Events, marker)
		extra = append(extra, opened)
	}
	appendReq.Streams = append(append(a.room.streams[:0], subject), extra...)
	// A stream both read by a gate and written by the append is asserted
	// by its expected version alone.
	appendReq.Reads = withoutWritten(appendReq.Reads, extra)
	// The transition's own records (one per recorded type) come first.
	if err := attestEvents(e.attest, &appendReq, len(types)); err != nil {
		return nil, err
	}
	began := time.Now()
	res, err := e.store.Append(ctx, appendReq)
	e.obs.appended(ctx, began)
	if err != nil {
		return nil, fmt.Errorf("mes: record %s: %w", req.Command, err)
	}
	e.remembered(req.Subject, res)
	out := &Outcome{Allowed: true, From: a.state, To: t.To, Records: res.Records, Replayed: res.Replayed}
	if !res.Replayed {
		for _, s := range a.sigs {
			out.Signatures = append(out.Signatures, s.sig)
			out.Sessions = append(out.Sessions, s.session)
		}
	}
	return out, nil
}

// consumptionAppends returns the consumption of each lot req consumes, on
// the lot's stream at the version the checks read.
func consumptionAppends(req *Request, facts *streamFacts) ([]storage.StreamAppend, error) {
	var out []storage.StreamAppend
	for _, c := range req.Consume {
		c.Into = req.Subject
		cdata, err := json.Marshal(event.Consumed{CommandID: req.ID, Data: c})
		if err != nil {
			return nil, fmt.Errorf("mes: encode consumption: %w", err)
		}
		stream, typ := event.LotStream(c.Lot), event.LotConsumed
		if c.Container != "" {
			// The container's own record that it left, at the version
			// the check read: it moves once.
			stream, typ = event.ContainerStream(c.Container), event.ContainerMoved
		}
		out = append(out, storage.StreamAppend{
			Stream:          stream,
			ExpectedVersion: facts.version(stream),
			Events:          []storage.Event{{Type: typ, Actor: req.Actor, Payload: cdata}},
		})
	}
	return out, nil
}

// remembered keeps what an append wrote in the engine's caches, unless it
// replayed an earlier one.
func (e *Engine) remembered(subject string, res storage.AppendResult) {
	if !res.Replayed {
		e.cache.observe(res.Records)
		e.remember(subject, res.Records)
	}
}
