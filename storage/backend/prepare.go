package backend

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/storage"
	"golang.org/x/text/unicode/norm"
)

// Prepared is an append request that passed validation, with payloads and
// evidence in canonical form. Stores build their records from it.
type Prepared struct {
	Streams        []PreparedStream // in request order
	Reads          []storage.StreamVersion
	IdempotencyKey string
	// Events is the total number of events.
	Events int

	one *onePrepared // p's own allocation when it came from the pool
}

// PreparedStream is the validated part of an append for one stream.
type PreparedStream struct {
	Stream          string
	ExpectedVersion int64
	Events          []PreparedEvent
}

// PreparedEvent is a validated event with canonical payload and evidence.
// Payload, Evidence and Links are new memory that no other Prepared and
// nothing of the request shares, so a store may hand them to its caller.
type PreparedEvent struct {
	Type, Actor       string
	Payload, Evidence []byte
	Links             []audit.Link
}

// Prepare validates req and canonicalizes its payloads and evidence. It
// returns an error matching storage.ErrInvalid (a *storage.ValidationError naming the field)
// for any bad input. Stores call it first, so that every store rejects
// exactly the same requests.
func Prepare(req storage.AppendRequest) (*Prepared, error) {
	if len(req.Streams) == 0 {
		return nil, invalid("streams", "an append writes at least one stream")
	}
	if err := checkID("idempotency key", req.IdempotencyKey, true); err != nil {
		return nil, err
	}
	n, raw := 0, 0
	for _, sa := range req.Streams {
		n += len(sa.Events)
		for _, ev := range sa.Events {
			raw += min(len(ev.Payload), 4*storage.MaxPayloadBytes) + min(len(ev.Evidence), 4*storage.MaxEvidenceBytes)
		}
	}
	if n > storage.MaxEvents {
		return nil, invalid("streams", "%d events in one append, over the limit of %d", n, storage.MaxEvents)
	}
	p, events := newPrepared(len(req.Streams), n)
	p.Reads, p.IdempotencyKey, p.Events = req.Reads, req.IdempotencyKey, n
	// The canonical payloads and evidence of all events share one buffer,
	// unless canonical forms outgrow their raw text; an empty one becomes
	// null. Raw text over 4 times the limit is rejected unread, so it is
	// not counted in full.
	buf := make([]byte, 0, raw+8*n)
	for i, sa := range req.Streams {
		if err := checkID("", sa.Stream, false); err != nil {
			return nil, relabel(err, indexed("streams", i, "stream"))
		}
		for k := range i {
			if req.Streams[k].Stream == sa.Stream {
				return nil, invalid(indexed("streams", i, "stream"), "stream %q appears twice in one append", sa.Stream)
			}
		}
		if sa.ExpectedVersion < 0 {
			return nil, invalid(indexed("streams", i, "expected_version"), "%d is negative", sa.ExpectedVersion)
		}
		if len(sa.Events) == 0 {
			return nil, invalid(indexed("streams", i, "events"), "no events for stream %q", sa.Stream)
		}
		ps := PreparedStream{Stream: sa.Stream, ExpectedVersion: sa.ExpectedVersion, Events: events[:len(sa.Events):len(sa.Events)]}
		events = events[len(sa.Events):]
		for j, ev := range sa.Events {
			var err error
			if buf, err = prepareEvent(&ps.Events[j], buf, i, j, ev); err != nil {
				return nil, err
			}
		}
		p.Streams[i] = ps
	}
	for i, r := range req.Reads {
		if err := checkID("", r.Stream, false); err != nil {
			return nil, relabel(err, indexed("reads", i, "stream"))
		}
		for _, sa := range req.Streams {
			if sa.Stream == r.Stream {
				return nil, invalid(indexed("reads", i, "stream"), "stream %q is both written and read; its expected version already asserts it", r.Stream)
			}
		}
		for k := range i {
			if req.Reads[k].Stream == r.Stream {
				return nil, invalid(indexed("reads", i, "stream"), "stream %q is read twice", r.Stream)
			}
		}
		if r.Version < 0 {
			return nil, invalid(indexed("reads", i, "version"), "%d is negative", r.Version)
		}
	}
	return p, nil
}

// onePrepared is the memory of a Prepared for an append of one event to
// one stream, the most common kind.
type onePrepared struct {
	p Prepared
	s [1]PreparedStream
	e [1]PreparedEvent
}

// onePool keeps onePrepared values that Release gave back.
var onePool = sync.Pool{New: func() any { return new(onePrepared) }}

// newPrepared returns a Prepared for streams streams and its n events:
// from a pool for an append of one event to one stream (Release gives it
// back), and otherwise allocated once for the Prepared and once for all
// events.
func newPrepared(streams, n int) (*Prepared, []PreparedEvent) {
	if streams == 1 && n == 1 {
		one := onePool.Get().(*onePrepared)
		one.p.Streams, one.p.one = one.s[:], one
		return &one.p, one.e[:]
	}
	return &Prepared{Streams: make([]PreparedStream, streams)}, make([]PreparedEvent, n)
}

// Release gives p's memory back for a later Prepare to reuse. Neither p
// nor its Streams may be used after; the records Records returned, and
// the payloads, evidence and links they share with p, stay the caller's
// (they were never p's to reuse). A store that calls Release when it is
// done with p leaves about 250 bytes less garbage per one-event append;
// one that does not leaves p to the garbage collector.
func (p *Prepared) Release() {
	one := p.one
	if one == nil || &one.p != p {
		return
	}
	*one = onePrepared{}
	onePool.Put(one)
}

// indexed names a field of the i-th element of a list, such as
// "streams[2].stream". It is only called to report an error, so the happy
// path formats nothing.
func indexed(list string, i int, field string) string {
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}

// Digest identifies the content of the request (streams and their events:
// type, actor, canonical payload and evidence, links), not its
// preconditions, so that a retry with the same idempotency key can be told
// from a different append that reuses it. It hashes every field, each
// length-prefixed so that no two requests share an encoding; a store that
// keeps the first append's records may compare them with SameContent
// instead.
func (p *Prepared) Digest() audit.Hash {
	h := sha256.New()
	var n [8]byte
	write := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, ps := range p.Streams {
		write(ps.Stream)
		for _, ev := range ps.Events {
			write(ev.Type)
			write(ev.Actor)
			write(string(ev.Payload))
			write(string(ev.Evidence))
			for _, l := range ev.Links {
				write(l.From)
				write(l.To)
				write(l.Kind)
			}
			write("") // ends the links
		}
		write("") // ends the events
	}
	var out audit.Hash
	h.Sum(out[:0])
	return out
}

// SameContent reports whether recs, the records an earlier append wrote in
// the order of its request, hold exactly the content of p: the same
// streams in the same order, and events equal in type, actor, canonical
// payload and evidence, and links. It is Digest's comparison without the
// hashing.
func (p *Prepared) SameContent(recs []audit.Record) bool {
	if len(recs) != p.Events {
		return false
	}
	k := 0
	for _, ps := range p.Streams {
		for i := range ps.Events {
			ev, r := &ps.Events[i], &recs[k]
			if r.Stream != ps.Stream || r.Type != ev.Type || r.Actor != ev.Actor ||
				!bytes.Equal(r.Payload, ev.Payload) || !bytes.Equal(r.Evidence, ev.Evidence) ||
				!slices.Equal(r.Links, ev.Links) {
				return false
			}
			k++
		}
	}
	return true
}

// prepareEvent validates ev into out, appending its canonical payload and
// evidence to buf, and returns the extended buffer.
func prepareEvent(out *PreparedEvent, buf []byte, stream, event int, ev storage.Event) ([]byte, error) {
	field := func(name string) string {
		return fmt.Sprintf("streams[%d].events[%d].%s", stream, event, name)
	}
	if err := checkID("", ev.Type, false); err != nil {
		return buf, relabel(err, field("type"))
	}
	if err := checkID("", ev.Actor, false); err != nil {
		return buf, relabel(err, field("actor"))
	}
	buf, payload, err := canonical(buf, ev.Payload, storage.MaxPayloadBytes)
	if err != nil {
		return buf, relabel(err, field("payload"))
	}
	buf, evidence, err := canonical(buf, ev.Evidence, storage.MaxEvidenceBytes)
	if err != nil {
		return buf, relabel(err, field("evidence"))
	}
	for k, l := range ev.Links {
		for _, end := range [...]struct{ name, value string }{{"from", l.From}, {"to", l.To}, {"kind", l.Kind}} {
			if err := checkID("", end.value, false); err != nil {
				return buf, relabel(err, field(fmt.Sprintf("links[%d].%s", k, end.name)))
			}
		}
	}
	*out = PreparedEvent{Type: ev.Type, Actor: ev.Actor, Payload: payload, Evidence: evidence}
	if len(ev.Links) > 0 {
		out.Links = append([]audit.Link(nil), ev.Links...)
	}
	return buf, nil
}

// relabel sets the field of a *storage.ValidationError made without one.
func relabel(err error, field string) error {
	if ve, ok := err.(*storage.ValidationError); ok {
		ve.Field = field
	}
	return err
}

// canonical appends raw in canonical form to buf and returns the extended
// buffer and the canonical bytes, capped so that appending to them cannot
// overwrite what follows; the caller names the field of an error.
func canonical(buf, raw []byte, limit int) ([]byte, []byte, error) {
	start := len(buf)
	if len(raw) == 0 {
		buf = append(buf, "null"...)
		return buf, buf[start:len(buf):len(buf)], nil
	}
	if len(raw) > 4*limit {
		return buf, nil, invalid("", "%d bytes is over the limit of %d", len(raw), limit)
	}
	buf, err := canonjson.AppendLimit(buf, raw, limit)
	if err != nil {
		return buf, nil, invalid("", "not valid JSON: %v", err)
	}
	if n := len(buf) - start; n > limit {
		return buf[:start], nil, invalid("", "%d bytes in canonical form is over the limit of %d", n, limit)
	}
	return buf, buf[start:len(buf):len(buf)], nil
}

// checkID validates an identifier-like string: UTF-8, no control characters,
// at most storage.MaxIDBytes, and not empty unless optional.
func checkID(field, s string, optional bool) error {
	switch {
	case s == "" && optional:
		return nil
	case s == "":
		return invalid(field, "empty")
	case len(s) > storage.MaxIDBytes:
		return invalid(field, "%d bytes is over the limit of %d", len(s), storage.MaxIDBytes)
	}
	// Most identifiers are printable ASCII, which one pass over the bytes
	// confirms; anything else takes the full check.
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			ascii = false
			break
		}
	}
	if ascii {
		return nil
	}
	if !utf8.ValidString(s) {
		return invalid(field, "not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return invalid(field, "control character %U in %q", r, s)
		case unicode.Is(unicode.Bidi_Control, r):
			return invalid(field, "bidirectional control %U in %q", r, s)
		case r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff:
			return invalid(field, "zero-width character %U in %q", r, s)
		}
	}
	// One name, one spelling: "é" as one code point and as "e" with a
	// combining accent would otherwise be two streams, two actors.
	if !norm.NFC.IsNormalString(s) {
		return invalid(field, "%q is not in Unicode normal form C; spell it %q", s, norm.NFC.String(s))
	}
	return nil
}

// Records returns the records p will write if every stream is at its
// expected version: versions and time filled in, Position, PrevHash and Hash
// left for the store. They are in request order, as AppendResult wants them.
// Each call returns records of its own; like the rest of Prepared, Records
// is not safe for concurrent use.
func (p *Prepared) Records(at time.Time) []audit.Record {
	at = at.UTC().Truncate(audit.TimePrecision)
	out := make([]audit.Record, 0, p.Events) // the caller's to keep
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

func invalid(field, format string, args ...any) error {
	return &storage.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
