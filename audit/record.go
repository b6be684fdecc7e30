package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Hash is a SHA-256 digest.
type Hash [sha256.Size]byte

// String returns the digest as lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the all-zero value, which no record hash is.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses a hash written by Hash.String.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("audit: %q is not a hex SHA-256 digest", s)
	}
	copy(h[:], b)
	return h, nil
}

// Link is a typed, directed edge between two things, carried by the event that
// proves it: lot A was consumed into batch B (From A, To B, Kind "consumed").
type Link struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

// Record is one event as it stands on the record. The store assigns Version,
// Position, Time, PrevHash and Hash; the rest comes from the writer.
type Record struct {
	Stream   string    // the stream the event belongs to
	Version  int64     // 1 for the first event of a stream, then +1 each
	Position int64     // global position: strictly increasing across all streams
	Type     string    // what happened, such as "batch.started"
	Actor    string    // who or what made it happen
	Time     time.Time // system time, UTC, microsecond precision

	// Payload and Evidence are canonical JSON (see internal canonjson rules);
	// an event without one holds the JSON literal null.
	Payload  json.RawMessage
	Evidence json.RawMessage

	Links []Link // typed edges this event proves, in the writer's order

	PrevHash Hash // Hash of the previous record of the stream, or Genesis
	Hash     Hash // SHA-256(PrevHash || Encode(record))
}

// TimePrecision is the resolution of record times. Times are truncated to it
// when the store assigns them, so that every store keeps exactly what was
// hashed (Postgres keeps microseconds).
const TimePrecision = time.Microsecond

// Head is where a stream stands: its last version and that record's hash.
type Head struct {
	Stream  string `json:"stream"`
	Version int64  `json:"version"`
	Hash    Hash   `json:"hash"`
}

// MarshalText encodes the hash as hex, so heads read well as JSON.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a hash written by MarshalText.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
