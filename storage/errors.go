package storage

import (
	"errors"
	"fmt"

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
)

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
