package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/audit"
)

// Envelope is the JSON form of one record on the broker. Its members are
// those of audit.Record:
//
//	{"stream":"lot/L-1","version":3,"position":4521,"type":"lot.released",
//	 "actor":"qa:ines","time":"2026-12-05T17:41:29.123456Z",
//	 "payload":{…},"evidence":null,"links":[{"from":…,"to":…,"kind":…}],
//	 "prev_hash":"…","hash":"…"}
//
// Payload and evidence are the record's canonical JSON as they were hashed;
// hashes are lower-case hex; time is UTC with microseconds (RFC 3339).
// Links is omitted when the record has none. Members may be added in later
// versions; none will be removed or change meaning.
type Envelope struct {
	Stream   string          `json:"stream"`
	Version  int64           `json:"version"`
	Position int64           `json:"position"`
	Type     string          `json:"type"`
	Actor    string          `json:"actor"`
	Time     time.Time       `json:"time"`
	Payload  json.RawMessage `json:"payload"`
	Evidence json.RawMessage `json:"evidence"`
	Links    []audit.Link    `json:"links,omitempty"`
	PrevHash audit.Hash      `json:"prev_hash"`
	Hash     audit.Hash      `json:"hash"`
}

// NewEnvelope returns the envelope of r. It shares r's payload, evidence
// and links.
func NewEnvelope(r *audit.Record) Envelope {
	return Envelope{
		Stream: r.Stream, Version: r.Version, Position: r.Position,
		Type: r.Type, Actor: r.Actor, Time: r.Time.UTC(),
		Payload: nullIfEmpty(r.Payload), Evidence: nullIfEmpty(r.Evidence),
		Links: r.Links, PrevHash: r.PrevHash, Hash: r.Hash,
	}
}

// Record returns the record e carries, which audit.ComputeHash checks
// against e.Hash.
func (e *Envelope) Record() audit.Record {
	return audit.Record{
		Stream: e.Stream, Version: e.Version, Position: e.Position,
		Type: e.Type, Actor: e.Actor, Time: e.Time.UTC(),
		Payload: e.Payload, Evidence: e.Evidence, Links: e.Links,
		PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// Marshal returns the JSON of r's envelope, appended to dst. Payload and
// evidence keep the exact bytes that were hashed: json.Marshal would
// escape "<", ">", "&", U+2028 and U+2029 in them, and a consumer could
// no longer recompute the hash.
func Marshal(dst []byte, r *audit.Record) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewEnvelope(r)); err != nil {
		return dst, fmt.Errorf("outbox: envelope of %s version %d: %w", r.Stream, r.Version, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Unmarshal decodes an envelope written by Marshal. It returns an error
// when data is not such an envelope: not JSON, or without a stream, a
// positive version or position, or a hash. A missing payload or evidence
// is null, as on the record.
func Unmarshal(data []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return Envelope{}, fmt.Errorf("outbox: envelope: %w", err)
	}
	switch {
	case e.Stream == "":
		return Envelope{}, fmt.Errorf("outbox: envelope: no stream")
	case e.Version < 1:
		return Envelope{}, fmt.Errorf("outbox: envelope of %s: version %d is below 1", e.Stream, e.Version)
	case e.Position < 1:
		return Envelope{}, fmt.Errorf("outbox: envelope of %s version %d: position %d is below 1", e.Stream, e.Version, e.Position)
	case e.Hash.IsZero():
		return Envelope{}, fmt.Errorf("outbox: envelope of %s version %d: no hash", e.Stream, e.Version)
	}
	// A record without a payload or evidence holds null, as on the record.
	e.Payload, e.Evidence = nullIfEmpty(e.Payload), nullIfEmpty(e.Evidence)
	return e, nil
}

// ID returns the stable id of r for the broker's duplicate detection: its
// hash in lower-case hex. The hash covers the stream's name, the version
// and the content, so two records never share an id, and a record
// published twice, by one relay after a restart or by two relays, carries
// the same id both times.
func ID(r *audit.Record) string { return r.Hash.String() }

func nullIfEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}
