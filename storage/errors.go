package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock"
)

var (
	// ErrConflict means an expected or asserted stream version was stale.
	ErrConflict = errors.New("storage: version conflict")
	// ErrInvalid means the request was malformed; nothing was written. It
	// is interlock.ErrInvalid, the root of every bad-input error.
	ErrInvalid = interlock.ErrInvalid
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrIdempotencyKeyReused means an idempotency key came back with
	// different content than the append that first used it.
	ErrIdempotencyKeyReused = errors.New("storage: idempotency key reused with different content")
	// ErrOutcomeUnknown means the append may or may not have been written:
	// the request reached the database, and then the context ended or the
	// connection broke before the answer came back. Retry it with the same
	// idempotency key (for the engine, the same command id): an append that
	// landed is replayed, one that did not is written, once.
	ErrOutcomeUnknown = errors.New("storage: outcome unknown; retry with the same idempotency key")
	// ErrClockBehind means the store's clock read earlier than the time of
	// the head of a stream the append writes: time never runs backwards
	// within a stream, so the append is refused and nothing is written. It
	// shows a clock that was set back, or writers whose clocks disagree;
	// retrying once the clock has passed the head's time succeeds.
	ErrClockBehind = errors.New("storage: clock reads earlier than the stream's head")
)

// ClockError tells which stream's head is later than the clock. It matches
// ErrClockBehind.
type ClockError struct {
	Stream string
	Head   time.Time // the time of the stream's last record
	Clock  time.Time // what the store's clock read for the append
}

func (e *ClockError) Error() string {
	return fmt.Sprintf("storage: stream %q: clock reads %s, earlier than its head's %s",
		e.Stream, e.Clock.UTC().Format(time.RFC3339Nano), e.Head.UTC().Format(time.RFC3339Nano))
}

// Unwrap makes errors.Is(err, ErrClockBehind) true.
func (e *ClockError) Unwrap() error { return ErrClockBehind }

// ConflictError tells which stream was not at the version the writer
// expected. It matches ErrConflict.
type ConflictError struct {
	Stream   string
	Expected int64 // the version the request named
	Actual   int64 // the version the store holds; -1 when the store cannot tell
}

func (e *ConflictError) Error() string {
	if e.Actual < 0 {
		return fmt.Sprintf("storage: stream %q is not at version %d", e.Stream, e.Expected)
	}
	return fmt.Sprintf("storage: stream %q is at version %d, not %d", e.Stream, e.Actual, e.Expected)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ValidationError names the part of a request that is wrong. It matches
// ErrInvalid.
type ValidationError struct {
	Field  string // such as "streams[0].events[2].payload"
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("storage: invalid %s: %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }
