package mes

import (
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/storage"
)

// ErrUnproven is matched (errors.Is) by every *UnprovenError.
var ErrUnproven = errors.New("mes: a record does not prove its transition")

// UnprovenError names a transition record the engine will not fold into a
// subject's state: one its model does not allow from the state before it,
// or, for an engine with attestation keys (Config.Attestation), one that
// carries no valid attestation. Such a record was written around the
// engine. The subject needs attention: the engine refuses every command on
// it, rather than silently move it or skip the record, until the record is
// investigated (review by exception lists it).
type UnprovenError struct {
	Stream  string
	Version int64
	Model   string
	Reason  string
}

func (e *UnprovenError) Error() string {
	return fmt.Sprintf("mes: %s v%d: %s record is not proven: %s", e.Stream, e.Version, e.Model, e.Reason)
}

// Unwrap makes errors.Is(err, ErrUnproven) true.
func (e *UnprovenError) Unwrap() error { return ErrUnproven }

// attestAll replaces the payload of every event of req with its attested
// form, when the engine attests. The attestation covers the canonical
// payload and evidence, which is what the store keeps, so both are
// canonicalized first; an event that cannot be is left as it is, for the
// store to refuse with the field named.
func attestAll(keys *audit.Attested, req *storage.AppendRequest) error {
	return attestEvents(keys, req, 0)
}

// attestEvents is attestAll, except that the first canonical events of the
// first stream are taken as canonical already: a transition's own records,
// whose payload appendPayload and evidence appendEvidence write in
// canonical form by construction (TestEncodeIsCanonical holds them to
// it). Canonicalizing them again cost as much as the MAC itself.
func attestEvents(keys *audit.Attested, req *storage.AppendRequest, canonical int) error {
	if keys == nil {
		return nil
	}
	a := keys.Current()
	n := 0
	for _, s := range req.Streams {
		for _, ev := range s.Events {
			n += len(ev.Payload) + len(ev.Evidence) + 48 + len(a.ID())
		}
	}
	buf := make([]byte, 0, n)
	tmp := getBuf()
	defer putBuf(tmp)
	for si := range req.Streams {
		s := &req.Streams[si]
		for j := range s.Events {
			ev := &s.Events[j]
			trusted := si == 0 && j < canonical
			payload, evidence := ev.Payload, ev.Evidence
			var err error
			if !trusted {
				payload, err = canonjson.AppendLimit((*tmp)[:0], ev.Payload, storage.MaxPayloadBytes)
				*tmp = payload[:0]
			}
			if err != nil || len(payload) > storage.MaxPayloadBytes {
				continue
			}
			if len(evidence) > 0 && !trusted {
				start := len(buf)
				if buf, err = canonjson.AppendLimit(buf, evidence, storage.MaxEvidenceBytes); err != nil {
					continue
				}
				evidence = buf[start:len(buf):len(buf)]
			}
			start := len(buf)
			buf, err = a.Attest(buf, &audit.AttestedEvent{Stream: s.Stream, Version: s.ExpectedVersion + int64(j) + 1,
				Type: ev.Type, Actor: ev.Actor, Payload: payload, Evidence: evidence, Links: ev.Links})
			if err != nil {
				return fmt.Errorf("mes: %w", err)
			}
			ev.Payload, ev.Evidence = buf[start:len(buf):len(buf)], evidence
		}
	}
	return nil
}
