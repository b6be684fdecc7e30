package mes

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// CodeMirrorTarget denies a transition that mirrors its record (Mirror)
// when the reference naming the second stream is missing or names the
// subject itself.
const CodeMirrorTarget gate.Code = "mirror.target"

// mirrorTarget returns the reason to deny req when t mirrors onto a stream
// req does not name, or onto its own subject.
func mirrorTarget(req *Request, t *Transition) *gate.Reason {
	target := req.Refs[t.Mirror.Ref]
	switch {
	case target == "":
		return &gate.Reason{Gate: "model", Code: CodeMirrorTarget,
			Message: fmt.Sprintf("%s mirrors its record onto the stream named by reference %q, which the command does not give", t.Command, t.Mirror.Ref)}
	case target == req.Subject:
		return &gate.Reason{Gate: "model", Code: CodeMirrorTarget,
			Message: fmt.Sprintf("%s mirrors its record onto another stream; reference %q names the subject %s itself", t.Command, t.Mirror, req.Subject)}
	}
	return nil
}

// readMirrorTarget reads the stream t mirrors onto before the gates run,
// so that a change to it while they run conflicts with the append and the
// command is evaluated again.
func readMirrorTarget(ctx context.Context, req *Request, t *Transition, facts *streamFacts) error {
	if t.Mirror == nil || mirrorTarget(req, t) != nil {
		return nil
	}
	target := req.Refs[t.Mirror.Ref]
	if _, err := facts.load(ctx, target); err != nil {
		return fmt.Errorf("mes: mirror %s onto %s: %w", req.Command, target, err)
	}
	return nil
}

// mirrorAppend returns the append of the mirror of req's own record onto the stream req's reference names, at the version facts
// read of it.
func mirrorAppend(ctx context.Context, req *Request, t *Transition, facts *streamFacts) (storage.StreamAppend, error) {
	target := req.Refs[t.Mirror.Ref]
	recs, err := facts.load(ctx, target)
	if err != nil {
		return storage.StreamAppend{}, fmt.Errorf("mes: mirror %s onto %s: %w", req.Command, target, err)
	}
	data := req.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	payload, err := json.Marshal(event.Marker{CommandID: req.ID, Data: data})
	if err != nil {
		return storage.StreamAppend{}, fmt.Errorf("mes: encode mirror of %s: %w", req.Command, err)
	}
	return storage.StreamAppend{Stream: target, ExpectedVersion: int64(len(recs)),
		Events: []storage.Event{{Type: t.Mirror.Type, Actor: req.Actor, Payload: payload}}}, nil
}
