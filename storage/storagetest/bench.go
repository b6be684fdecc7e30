package storagetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/interlock-mes/interlock/storage"
)

// benchPayload is about the size of a typical execution event.
const benchPayload = `{"batch":"B-2026-0042","step":"weigh-api","lot":"LOT-2026-0042","quantity":"12.500","unit":"kg","operator":"op-17","scale":"SC-01","stable":true}`

// Bench runs the shared store benchmarks: one event per append to one stream
// from one goroutine, the same from parallel goroutines on their own streams,
// loading a stream and reading the whole store.
func Bench(b *testing.B, newStore NewStore) {
	ctx := context.Background()
	b.Run("AppendOne", func(b *testing.B) {
		s := newStore(b)
		b.ReportAllocs()
		var v int64
		for b.Loop() {
			if _, err := s.Append(ctx, one("batch-1", v, ev("step.completed", benchPayload))); err != nil {
				b.Fatal(err)
			}
			v++
		}
	})
	b.Run("AppendParallel8", func(b *testing.B) {
		s := newStore(b)
		b.ReportAllocs()
		var id atomic.Int64
		// 8 writers whatever GOMAXPROCS is, as in the target.
		b.SetParallelism(max(1, 8/max(1, testingProcs())))
		b.RunParallel(func(pb *testing.PB) {
			stream := fmt.Sprintf("batch-%d", id.Add(1))
			var v int64
			for pb.Next() {
				if _, err := s.Append(ctx, one(stream, v, ev("step.completed", benchPayload))); err != nil {
					b.Error(err)
					return
				}
				v++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
	b.Run("Load1000", func(b *testing.B) {
		s := newStore(b)
		fill(b, s, "batch-1", 1000)
		b.ReportAllocs()
		for b.Loop() {
			recs, err := s.Load(ctx, "batch-1", 1)
			if err != nil || len(recs) != 1000 {
				b.Fatalf("Load: %d records, %v", len(recs), err)
			}
		}
	})
	b.Run("Verify10000", func(b *testing.B) {
		s := newStore(b)
		for i := range 10 {
			fill(b, s, fmt.Sprintf("batch-%d", i), 1000)
		}
		b.ReportAllocs()
		for b.Loop() {
			rep, err := storage.Verify(ctx, s, nil, nil)
			if err != nil || rep.Records != 10_000 {
				b.Fatalf("Verify: %+v, %v", rep, err)
			}
		}
		b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// fill appends n events to stream in appends of 100.
func fill(tb testing.TB, s storage.Store, stream string, n int) {
	var v int64
	for v < int64(n) {
		k := min(100, int64(n)-v)
		evs := make([]storage.Event, k)
		for i := range evs {
			evs[i] = ev("step.completed", benchPayload)
		}
		mustAppend(tb, s, one(stream, v, evs...))
		v += k
	}
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
