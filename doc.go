// Package interlock is the root of Interlock, an embeddable Go SDK for
// Manufacturing Execution Systems: gated state machines for orders,
// batches and steps, a hash-chained audit trail with signed checkpoints,
// electronic signatures, exceptions and review by exception, a lot graph,
// and device adapters. The capabilities live in the packages below this
// one (docs/architecture.md has the map); this package holds only what
// every one of them shares: the root error categories.
//
// # Errors
//
// Every error the library returns for bad input wraps ErrInvalid, so a
// service branches once (errors.Is(err, interlock.ErrInvalid)) and reads
// the package's typed error, which names the field, for the detail.
package interlock
