// Package storage defines the Store that keeps Interlock's record: an
// append-only log of events in streams, each stream a hash chain (see package
// audit), with optimistic concurrency across streams, a link index for
// genealogy and signed checkpoints.
//
// Implementations live in storage/memory and storage/postgres; both pass the
// conformance suite in storage/storagetest. Code that depends on a store
// should depend on the Store interface.
//
// Errors are matchable: ErrConflict for a stale expected version, ErrInvalid
// for bad input (with a *ValidationError that names the field), ErrNotFound,
// and ErrIdempotencyKeyReused. No backend error type escapes a store.
package storage
