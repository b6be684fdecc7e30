package memory_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/interlock-mes/interlock/audit"
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

// BenchmarkAppendOnePeer is the peer of BenchmarkStore/AppendOne, to be
// run in the same sitting: the raw SHA-256 of exactly the bytes the store
// hashes for one of its records (PrevHash and canonical encoding).
func BenchmarkAppendOnePeer(b *testing.B) {
	s := memory.New(nil)
	ctx := context.Background()
	// storagetest's benchPayload, which AppendOne appends.
	const payload = `{"batch":"B-2026-0042","step":"weigh-api","lot":"LOT-2026-0042","quantity":"12.500","unit":"kg","operator":"op-17","scale":"SC-01","stable":true}`
	req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-1", Events: []storage.Event{{Type: "step.completed", Actor: "tester", Payload: []byte(payload)}}}}}
	for v := range int64(2) {
		req.Streams[0].ExpectedVersion = v
		if _, err := s.Append(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	recs, err := s.Load(ctx, "batch-1", 2)
	if err != nil || len(recs) != 1 {
		b.Fatalf("Load: %d records, %v", len(recs), err)
	}
	enc, err := audit.Encode(append([]byte(nil), recs[0].PrevHash[:]...), &recs[0])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		var sink audit.Hash
		for b.Loop() {
			sink = sha256.Sum256(enc)
		}
		_ = sink
	})
}
