package mes

import (
	"context"
	"fmt"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// Records returns the records of stream from the engine's store, in
// version order: what the packages built on the engine read before they
// submit a command. It writes nothing.
func (e *Engine) Records(ctx context.Context, stream string) ([]audit.Record, error) {
	recs, err := e.store.Load(ctx, stream, 1)
	if err != nil {
		return nil, fmt.Errorf("mes: load %s: %w", stream, err)
	}
	return recs, nil
}

// MaxRetries is how often the engine evaluates a command again after the
// streams it read moved under it (Config.MaxRetries); packages that prepare
// a command from what they read retry as often.
func (e *Engine) MaxRetries() int { return e.maxRetries }

// Facts returns the facts the engine's gates would read for an attempt on
// subject, whose records are recs (see NewFacts), over the engine's store.
func (e *Engine) Facts(subject string, recs []audit.Record) Facts {
	return newStreamFacts(e.store, subject, recs)
}

// On returns an engine that runs on store instead, sharing this engine's
// configuration (clock, signer, attestation keys, logger and providers)
// but none of its caches: use it for commands inside a transaction the
// caller owns (postgres.Store.Tx), whose writes must not be cached before
// the transaction commits. It does not retry after a conflict: inside one
// transaction a retry sees the same outcome, so the conflict (errors.Is
// storage.ErrConflict) comes back at once, and the caller runs its
// transaction again. Make one per transaction; it is as safe for
// concurrent use as the store it runs on.
func (e *Engine) On(store storage.Store) *Engine {
	c := *e
	c.store = store
	c.cache, c.subjects = newCache(), newSubjects()
	c.maxRetries = 0
	return &c
}
