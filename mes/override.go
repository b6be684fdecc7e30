package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// Codes of overrides.
const (
	CodeOverrideNotAllowed gate.Code = "override.not-allowed"
	CodeOverrideNotNeeded  gate.Code = "override.not-needed"
	CodeOverrideNoReason   gate.Code = "override.no-reason"
	CodeOverrideRole       gate.Code = "override.role"
	CodeOverrideSelf       gate.Code = "override.self"
)

// The exception an override opens, and the exception model's opening
// transition it records: the exception model is "exception" version 1,
// whose "open" command moves a new exception to "open" (package
// mes/exception declares the same names, and its tests hold them equal).
const (
	exceptionModelName            = "exception"
	exceptionModelVersion         = 1
	exceptionNew          State   = "new"
	exceptionOpen         State   = "open"
	exceptionClosed       State   = "closed"
	cmdOpenException      Command = "open"
	exceptionDeviation            = "deviation"
)

// overrideOf decides whether req's override applies to the failures of t:
// it returns the record of the override and no reasons when it does, or no
// record and the reasons to deny.
func overrideOf(req *Request, t *Transition, reasons []gate.Reason, gateOnly bool) (*event.Override, []gate.Reason) {
	deny := func(code gate.Code, msg string, args ...any) (*event.Override, []gate.Reason) {
		return nil, append(reasons, gate.Reason{Gate: "override", Code: code, Message: fmt.Sprintf(msg, args...)})
	}
	switch {
	case len(reasons) == 0:
		return deny(CodeOverrideNotNeeded, "no gate of %s failed; submit it without an override", t.Command)
	case t.Override == nil:
		return deny(CodeOverrideNotAllowed, "the model does not allow overriding %s from %q", t.Command, t.From)
	case !gateOnly:
		return deny(CodeOverrideNotAllowed, "only gate failures can be overridden; missing evidence, consumption and context failures of %s cannot", t.Command)
	case req.Override.Reason == "":
		return deny(CodeOverrideNoReason, "an override of %s needs a reason", t.Command)
	}
	return &event.Override{Reason: req.Override.Reason, Overridden: reasons, Exception: "override-" + req.ID}, nil
}

// signOverride authenticates the override's approver and checks they may
// approve it: they hold a role of the policy and are not the executor.
func (e *Engine) signOverride(ctx context.Context, req *Request, t *Transition, facts *streamFacts, content []byte, version int64) (*signed, []gate.Reason, error) {
	if e.signer == nil {
		return nil, nil, fmt.Errorf("%w: an override of %s needs a signature", ErrNoSigner, t.Command)
	}
	sig, sess, err := e.signer.Sign(ctx, signature.Request{
		Challenge: req.Override.Sign.Challenge, Meaning: signature.Meaning(MeaningOverride), Reason: req.Override.Reason,
		Content: content, Record: signature.RecordRef{Stream: req.Subject, Version: version, Key: req.ID},
	})
	if err != nil {
		if errors.Is(err, signature.ErrNotAuthenticated) && !errors.Is(err, signature.ErrNotRecorded) {
			return nil, []gate.Reason{{Gate: "override", Code: CodeSignatureNotAuthenticated, Message: fmt.Sprintf("override signature: %v", err)}}, nil
		}
		return nil, nil, fmt.Errorf("mes: sign override of %s: %w", t.Command, err)
	}
	who := sig.Manifestation.SignerID
	var reasons []gate.Reason
	if who == req.Actor {
		reasons = append(reasons, gate.Reason{Gate: "override", Code: CodeOverrideSelf,
			Message: fmt.Sprintf("%s executes %s and may not approve overriding its gates", who, t.Command)})
	}
	p, err := facts.Person(ctx, who)
	if err != nil && !errors.Is(err, gate.ErrUnknown) {
		return nil, nil, fmt.Errorf("mes: look up override approver %s: %w", who, err)
	}
	if !slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(t.Override.Roles, r) }) {
		reasons = append(reasons, gate.Reason{Gate: "override", Code: CodeOverrideRole,
			Message: fmt.Sprintf("%s holds none of the roles %v that may approve overriding %s", who, t.Override.Roles, t.Command)})
	}
	if len(reasons) > 0 {
		return nil, reasons, nil
	}
	return &signed{sig: sig, session: sess}, nil, nil
}

// overrideException returns the deviation an override opens: the marker on
// the subject, and the first record of the exception's own stream.
func overrideException(req *Request, from State, o *event.Override) (storage.Event, storage.StreamAppend, error) {
	summary := fmt.Sprintf("%s of %s overridden by approval: %s", req.Command, req.Scope(), o.Reason)
	data, err := json.Marshal(event.ExceptionContext{ID: o.Exception, Kind: exceptionDeviation, Summary: summary,
		Subject: req.Subject, Step: req.Step, Source: "override", From: from})
	if err != nil {
		return storage.Event{}, storage.StreamAppend{}, fmt.Errorf("mes: encode override exception: %w", err)
	}
	marker, err := json.Marshal(event.Marker{CommandID: req.ID, Data: data})
	if err != nil {
		return storage.Event{}, storage.StreamAppend{}, fmt.Errorf("mes: encode override exception: %w", err)
	}
	open, err := json.Marshal(event.Transition{CommandID: req.ID, Model: exceptionModelName, ModelVersion: exceptionModelVersion,
		Command: cmdOpenException, From: exceptionNew, To: exceptionOpen, Data: data})
	if err != nil {
		return storage.Event{}, storage.StreamAppend{}, fmt.Errorf("mes: encode override exception: %w", err)
	}
	return storage.Event{Type: event.ExceptionOpened, Actor: req.Actor, Payload: marker},
		storage.StreamAppend{Stream: event.ExceptionStream(o.Exception), ExpectedVersion: 0,
			Events: []storage.Event{{Type: event.ExceptionOpened, Actor: req.Actor, Payload: open}}}, nil
}
