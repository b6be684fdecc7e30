package mes

import (
	"github.com/interlock-mes/interlock/storage"
)

// What the external tests of this package reach inside for: encoders and
// checks they compare against a reference, and the engine's store, which
// a benchmark wraps to measure the store's share.

var (
	AppendPayload    = appendPayload
	AppendEvidence   = appendEvidence
	CheckCalibration = checkCalibration
)

// StoreOf is the store e appends to.
func StoreOf(e *Engine) storage.Store { return e.store }

// SetStore makes e append to s.
func SetStore(e *Engine, s storage.Store) { e.store = s }

// ClockOf is e's clock.
func ClockOf(e *Engine) storage.Clock { return e.clock }
