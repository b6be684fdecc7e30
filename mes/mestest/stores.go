package mestest

import (
	"testing"
	"time"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// Stores runs fn as two parallel subtests, "memory" on a fresh memory
// store and "postgres" on a fresh schema of the test database (see pgtest
// for when that subtest skips or fails), both stamping records at clock.
func Stores(t *testing.T, clock *Clock, fn func(t *testing.T, s storage.Store)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		fn(t, memory.New(&memory.Config{Clock: clock.Now}))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock.Now, ReadAllWait: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

// Scan is the evidence of lot id scanned by scanner SCN-1, named
// "lot-scan".
func Scan(id string) gate.Evidence {
	return gate.Evidence{Name: "lot-scan", Identity: id, Source: gate.SourceScanner, Instrument: "SCN-1"}
}
