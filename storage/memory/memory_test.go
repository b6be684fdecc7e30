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
