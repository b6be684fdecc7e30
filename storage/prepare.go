package storage

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

// Limits on what one append may carry. A request beyond them is rejected with
// ErrInvalid; nothing is written.
const (
	MaxPayloadBytes  = 1 << 20 // canonical payload of one event
	MaxEvidenceBytes = 1 << 20 // canonical evidence of one event
	MaxEvents        = 10_000  // events in one append, over all streams
	MaxIDBytes       = 512     // stream ids, types, actors, link ends and kinds, keys
)

// Prepared is an append request that passed validation, with payloads and
// evidence in canonical form. Stores build their records from it.
type Prepared struct {
	Streams        []PreparedStream // in request order
	Reads          []StreamVersion
	IdempotencyKey string
	// Digest identifies the content of the request (streams, events), not
	// its preconditions, so that a retry with the same key can be told from
	// a different append that reuses it.
	Digest audit.Hash
	// Events is the total number of events.
	Events int
}

// PreparedStream is the validated part of an append for one stream.
type PreparedStream struct {
	Stream          string
	ExpectedVersion int64
	Events          []PreparedEvent
}

// PreparedEvent is a validated event with canonical payload and evidence.
type PreparedEvent struct {
	Type, Actor       string
	Payload, Evidence []byte
	Links             []audit.Link
}

// Prepare validates req and canonicalizes its payloads and evidence. It
// returns an error matching ErrInvalid (a *ValidationError naming the field)
// for any bad input. Stores call it first, so that every store rejects
// exactly the same requests.
func Prepare(req AppendRequest) (*Prepared, error) {
	if len(req.Streams) == 0 {
		return nil, invalid("streams", "an append writes at least one stream")
	}
	if err := checkID("idempotency key", req.IdempotencyKey, true); err != nil {
		return nil, err
	}
	p := &Prepared{
		Streams:        make([]PreparedStream, len(req.Streams)),
		Reads:          req.Reads,
		IdempotencyKey: req.IdempotencyKey,
	}
	written := make(map[string]bool, len(req.Streams))
	digest := sha256.New()
	var scratch [8]byte
	writeString := func(s string) {
		binary.BigEndian.PutUint64(scratch[:], uint64(len(s)))
		digest.Write(scratch[:])
		digest.Write([]byte(s))
	}
	for i, sa := range req.Streams {
		field := fmt.Sprintf("streams[%d]", i)
		if err := checkID(field+".stream", sa.Stream, false); err != nil {
			return nil, err
		}
		if written[sa.Stream] {
			return nil, invalid(field+".stream", "stream %q appears twice in one append", sa.Stream)
		}
		written[sa.Stream] = true
		if sa.ExpectedVersion < 0 {
			return nil, invalid(field+".expected_version", "%d is negative", sa.ExpectedVersion)
		}
		if len(sa.Events) == 0 {
			return nil, invalid(field+".events", "no events for stream %q", sa.Stream)
		}
		p.Events += len(sa.Events)
		if p.Events > MaxEvents {
			return nil, invalid("streams", "more than %d events in one append", MaxEvents)
		}
		ps := PreparedStream{Stream: sa.Stream, ExpectedVersion: sa.ExpectedVersion, Events: make([]PreparedEvent, len(sa.Events))}
		writeString(sa.Stream)
		for j, ev := range sa.Events {
			pe, err := prepareEvent(fmt.Sprintf("%s.events[%d]", field, j), ev)
			if err != nil {
				return nil, err
			}
			ps.Events[j] = pe
			writeString(pe.Type)
			writeString(pe.Actor)
			writeString(string(pe.Payload))
			writeString(string(pe.Evidence))
			for _, l := range pe.Links {
				writeString(l.From)
				writeString(l.To)
				writeString(l.Kind)
			}
			writeString("") // ends the links
		}
		p.Streams[i] = ps
	}
	read := make(map[string]bool, len(req.Reads))
	for i, r := range req.Reads {
		field := fmt.Sprintf("reads[%d]", i)
		if err := checkID(field+".stream", r.Stream, false); err != nil {
			return nil, err
		}
		if written[r.Stream] {
			return nil, invalid(field+".stream", "stream %q is both written and read; its expected version already asserts it", r.Stream)
		}
		if read[r.Stream] {
			return nil, invalid(field+".stream", "stream %q is read twice", r.Stream)
		}
		read[r.Stream] = true
		if r.Version < 0 {
			return nil, invalid(field+".version", "%d is negative", r.Version)
		}
	}
	digest.Sum(p.Digest[:0])
	return p, nil
}

func prepareEvent(field string, ev Event) (PreparedEvent, error) {
	if err := checkID(field+".type", ev.Type, false); err != nil {
		return PreparedEvent{}, err
	}
	if err := checkID(field+".actor", ev.Actor, false); err != nil {
		return PreparedEvent{}, err
	}
	payload, err := canonical(field+".payload", ev.Payload, MaxPayloadBytes)
	if err != nil {
		return PreparedEvent{}, err
	}
	evidence, err := canonical(field+".evidence", ev.Evidence, MaxEvidenceBytes)
	if err != nil {
		return PreparedEvent{}, err
	}
	for k, l := range ev.Links {
		lf := fmt.Sprintf("%s.links[%d]", field, k)
		if err := checkID(lf+".from", l.From, false); err != nil {
			return PreparedEvent{}, err
		}
		if err := checkID(lf+".to", l.To, false); err != nil {
			return PreparedEvent{}, err
		}
		if err := checkID(lf+".kind", l.Kind, false); err != nil {
			return PreparedEvent{}, err
		}
	}
	var links []audit.Link
	if len(ev.Links) > 0 {
		links = append(links, ev.Links...)
	}
	return PreparedEvent{Type: ev.Type, Actor: ev.Actor, Payload: payload, Evidence: evidence, Links: links}, nil
}

var null = []byte("null")

func canonical(field string, raw []byte, limit int) ([]byte, error) {
	if len(raw) == 0 {
		return null, nil
	}
	if len(raw) > 4*limit {
		return nil, invalid(field, "%d bytes is over the limit of %d", len(raw), limit)
	}
	out, err := canonjson.Canonicalize(raw)
	if err != nil {
		return nil, invalid(field, "not valid JSON: %v", err)
	}
	if len(out) > limit {
		return nil, invalid(field, "%d bytes in canonical form is over the limit of %d", len(out), limit)
	}
	return out, nil
}

// checkID validates an identifier-like string: UTF-8, no control characters,
// at most MaxIDBytes, and not empty unless optional.
func checkID(field, s string, optional bool) error {
	switch {
	case s == "" && optional:
		return nil
	case s == "":
		return invalid(field, "empty")
	case len(s) > MaxIDBytes:
		return invalid(field, "%d bytes is over the limit of %d", len(s), MaxIDBytes)
	case !utf8.ValidString(s):
		return invalid(field, "not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid(field, "control character %U in %q", r, s)
		}
	}
	return nil
}

// Records returns the records p will write if every stream is at its
// expected version: versions and time filled in, Position, PrevHash and Hash
// left for the store. They are in request order, as AppendResult wants them.
func (p *Prepared) Records(at time.Time) []audit.Record {
	at = at.UTC().Truncate(audit.TimePrecision)
	out := make([]audit.Record, 0, p.Events)
	for _, ps := range p.Streams {
		for j, ev := range ps.Events {
			out = append(out, audit.Record{
				Stream:   ps.Stream,
				Version:  ps.ExpectedVersion + int64(j) + 1,
				Type:     ev.Type,
				Actor:    ev.Actor,
				Time:     at,
				Payload:  ev.Payload,
				Evidence: ev.Evidence,
				Links:    ev.Links,
			})
		}
	}
	return out
}
