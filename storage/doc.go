// Package storage defines the Store that keeps Interlock's record: an
// append-only log of events in streams, each stream a hash chain (see package
// audit), with optimistic concurrency across streams, a link index for
// genealogy and signed checkpoints.
//
// # Users and implementers
//
// What a store's users call is here: Store, and Reader, its read-only
// half, which consumers that only read (verification, genealogy, review,
// release readiness) take so that they cannot write; Verify and
// Checkpoint. What a store's implementers call (Prepare, Walk, request
// validation) is in storage/backend. Implementations live in
// storage/memory and storage/postgres; both pass the conformance suite in
// storage/storagetest.
//
// # Errors
//
// Errors are matchable: ErrConflict for a stale expected version, ErrInvalid
// for bad input (interlock.ErrInvalid, with a *ValidationError that names
// the field), ErrNotFound,
// and ErrIdempotencyKeyReused. No backend error type escapes a store.
package storage
