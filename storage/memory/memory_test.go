package memory_test

import (
	"testing"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/storagetest"
)

func newStore(testing.TB) storage.Store { return memory.New(nil) }

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, newStore)
}

func TestClock(t *testing.T) {
	t.Parallel()
	storagetest.RunClock(t, func(_ testing.TB, clock storage.Clock) storage.Store {
		return memory.New(&memory.Config{Clock: clock})
	})
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, newStore)
}

// TestAttacks runs the attack suite on the memory store: its records are
// changed in a snapshot of them, as whoever could write the process's
// memory would change them.
func TestAttacks(t *testing.T) {
	t.Parallel()
	storagetest.RunAttacks(t, func(tb testing.TB) (storage.Store, func() storagetest.Attacker) {
		s := memory.New(nil)
		return s, func() storagetest.Attacker { return storagetest.SnapshotAttacker(tb, s) }
	})
}
