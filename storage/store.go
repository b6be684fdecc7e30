package storage

import (
	"context"
	"encoding/json"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
)

// Reader reads the record: what read-only consumers (verification,
// genealogy, review by exception, release readiness, a service's read
// side) take, so that they cannot write. All methods are safe for
// concurrent use.
type Reader interface {
	// Load returns the records of stream with version >= from (from 1 for the
	// whole stream), in version order. A stream without events gives an
	// empty slice and no error.
	Load(ctx context.Context, stream string, from int64) ([]audit.Record, error)

	// ReadAll returns up to limit records with position > after, in global
	// order. A record is returned only once every record with a lower
	// position is visible too, so a reader that pages by the last position
	// it saw never skips one.
	ReadAll(ctx context.Context, after int64, limit int) ([]audit.Record, error)

	// Heads returns the head of every stream that has events, sorted by
	// stream.
	Heads(ctx context.Context) ([]audit.Head, error)

	// Traverse walks the link index from req.From, see TraverseRequest.
	Traverse(ctx context.Context, req TraverseRequest) ([]Edge, error)

	// LatestCheckpoint returns the checkpoint with the highest position
	// among those signed by a key of keys (see audit.Keys.Verify), or an
	// error matching ErrNotFound when none is stored. Checkpoints not
	// signed by a trusted key are passed over: anyone who can write the
	// checkpoints table can store one. A nil keys is an error matching
	// ErrInvalid.
	LatestCheckpoint(ctx context.Context, keys *audit.Keys) (*audit.Checkpoint, error)
}

// Store keeps the record: a Reader that also appends and saves
// checkpoints. All methods are safe for concurrent use.
type Store interface {
	Reader

	// Append writes the events of req atomically: either every stream in
	// req.Streams moves from its ExpectedVersion by its events, and every
	// stream in req.Reads still stands at its version, or nothing is written.
	// The store assigns versions, global positions, the time (from its clock)
	// and hashes, and indexes the links in the same transaction.
	//
	// It returns an error for which errors.Is(err, ErrConflict) is true when
	// an expected or read version is stale (errors.As gives *ConflictError),
	// and errors.Is(err, ErrInvalid) for bad input (*ValidationError); in both
	// cases nothing is written. Time never runs backwards within a stream:
	// when the store's clock reads earlier than the time of a written
	// stream's head, nothing is written and the error matches
	// ErrClockBehind (*ClockError). An error matching ErrOutcomeUnknown means
	// the append may have been written (the request reached the store and
	// the context ended or the connection broke before its answer): retry
	// with the same IdempotencyKey. An append that reuses an IdempotencyKey
	// returns the records of the first append with that key, Replayed set,
	// and writes nothing; with different content the error matches
	// ErrIdempotencyKeyReused.
	//
	// Append does not keep req or its byte slices after it returns: the
	// caller may reuse them.
	Append(ctx context.Context, req AppendRequest) (AppendResult, error)

	// SaveCheckpoint stores a signed checkpoint. Checkpoints are append-only:
	// saving one at a position that is already stored matches ErrConflict.
	SaveCheckpoint(ctx context.Context, cp *audit.Checkpoint) error
}

// Limits on what one append may carry. A request beyond them is rejected with
// ErrInvalid; nothing is written.
const (
	MaxPayloadBytes  = 1 << 20 // canonical payload of one event
	MaxEvidenceBytes = 1 << 20 // canonical evidence of one event
	MaxEvents        = 10_000  // events in one append, over all streams
	MaxIDBytes       = 512     // stream ids, types, actors, link ends and kinds, keys
)

// Scanner is an optional ability of a Store: visiting records in global order
// without copying them. Verify and Checkpoint use it when the store has it.
type Scanner interface {
	// Scan calls fn for every record with position > after, in global
	// order, until fn returns an error, which Scan then returns. fn must
	// neither keep nor change the record it is given.
	Scan(ctx context.Context, after int64, fn func(*audit.Record) error) error
}

// Event is what a writer supplies for one record.
type Event struct {
	Type     string          // required
	Actor    string          // required
	Payload  json.RawMessage // JSON; canonicalized by the store; empty means null
	Evidence json.RawMessage // JSON; canonicalized by the store; empty means null
	Links    []audit.Link    // each with non-empty From, To and Kind
}

// StreamAppend is the part of an append that writes to one stream.
type StreamAppend struct {
	Stream string
	// ExpectedVersion is the version the stream must stand at: 0 for a
	// stream without events.
	ExpectedVersion int64
	Events          []Event // at least one
}

// StreamVersion asserts that a stream stands at a version without writing to
// it (version 0: the stream has no events).
type StreamVersion struct {
	Stream  string
	Version int64
}

// AppendRequest is one atomic append.
type AppendRequest struct {
	Streams []StreamAppend
	// Reads are the streams whose state the writer's decision rests on (the
	// facts a gate read); the append fails with ErrConflict if any moved.
	// A stream may not be both written and read.
	Reads []StreamVersion
	// IdempotencyKey, when set, makes the append safe to retry after an
	// unknown outcome: a second append with the same key writes nothing and
	// returns the first one's records.
	IdempotencyKey string
}

// AppendResult is what an append wrote.
type AppendResult struct {
	// Records are the written records in the order of the request: stream by
	// stream, event by event.
	Records []audit.Record
	// Replayed is true when the key had been used and nothing was written.
	Replayed bool
}

// Direction says which way a traversal follows links.
type Direction int

const (
	// Forward follows links from From to To (where did this lot go).
	Forward Direction = iota + 1
	// Backward follows links from To to From (what went into this lot).
	Backward
)

// TraverseRequest asks for every link reachable from From.
type TraverseRequest struct {
	From      []string  // start nodes; at least one
	Direction Direction // Forward or Backward
	// MaxDepth bounds the walk: 1 returns only the links that touch From.
	// It must be between 1 and MaxTraverseDepth.
	MaxDepth int
	// Kinds limits the walk to links of these kinds; empty means all.
	Kinds []string
}

// MaxTraverseDepth bounds TraverseRequest.MaxDepth.
const MaxTraverseDepth = 1000

// Edge is one link found by a traversal, with the event that proves it.
type Edge struct {
	audit.Link
	Stream   string // the stream of the proving event
	Version  int64  // its version
	Position int64  // its global position
	Hash     audit.Hash
	Depth    int // 1 for links that touch a start node, then +1 per hop
}

// Clock returns the current time. Stores take one in their configuration so
// that tests can fix time and nobody can backdate an event.
type Clock = interlock.Clock
