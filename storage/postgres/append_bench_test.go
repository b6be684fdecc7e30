package postgres_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// benchPayload is about 200 bytes, as the pgbench baseline's row.
const benchPayload = `{"batch":"B-2026-0042","step":"weigh-api","lot":"LOT-2026-0042","quantity":"12.500","unit":"kg","operator":"op-17","scale":"SC-01","stable":true,"note":"two hundred bytes of payload"}`

// BenchmarkAppendParallel appends one event per append from 8 goroutines
// (4 per CPU on 2 CPUs), each to its own stream, with synchronous_commit on,
// to compare with pgbench's single-row INSERT at -c 8 (see BENCHMARKS.md).
func BenchmarkAppendParallel(b *testing.B) {
	pool, schema := pgtest.DurablePool(b)
	if pool.Config().MaxConns < 8 {
		b.Fatalf("pool has %d connections, want at least 8", pool.Config().MaxConns)
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	var writers atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		stream := fmt.Sprintf("batch-%d", writers.Add(1))
		var v int64
		for pb.Next() {
			_, err := s.Append(b.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{
				Stream: stream, ExpectedVersion: v,
				Events: []storage.Event{{Type: "step.completed", Actor: "op-17", Payload: json.RawMessage(benchPayload)}},
			}}})
			if err != nil {
				b.Error(err)
				return
			}
			v++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// BenchmarkAppendParallelKeyed is BenchmarkAppendParallel with what an
// engine transition adds to an append: an idempotency key and three
// asserted reads (the person, lot and equipment streams its gates read).
func BenchmarkAppendParallelKeyed(b *testing.B) {
	for _, c := range []struct {
		name       string
		key, reads bool
	}{{"key+reads", true, true}, {"key", true, false}, {"reads", false, true}} {
		b.Run(c.name, func(b *testing.B) { benchAppendKeyed(b, c.key, c.reads) })
	}
}

func benchAppendKeyed(b *testing.B, keyed, withReads bool) {
	pool, schema := pgtest.DurablePool(b)
	if pool.Config().MaxConns < 8 {
		b.Fatalf("pool has %d connections, want at least 8", pool.Config().MaxConns)
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	reads := []storage.StreamVersion{{Stream: "person/op-17", Version: 1}, {Stream: "lot/L7", Version: 1}, {Stream: "equipment/SC-01", Version: 1}}
	for _, r := range reads {
		if _, err := s.Append(b.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: r.Stream, Events: []storage.Event{{Type: "fact.recorded", Actor: "admin", Payload: json.RawMessage(`{}`)}},
		}}}); err != nil {
			b.Fatal(err)
		}
	}
	var writers atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		stream := fmt.Sprintf("batch-%d", writers.Add(1))
		var v int64
		for pb.Next() {
			req := storage.AppendRequest{
				Streams: []storage.StreamAppend{{
					Stream: stream, ExpectedVersion: v,
					Events: []storage.Event{{Type: "step.completed", Actor: "op-17", Payload: json.RawMessage(benchPayload)}},
				}}}
			if keyed {
				req.IdempotencyKey = fmt.Sprintf("command/%s/%d", stream, v)
			}
			if withReads {
				req.Reads = reads
			}
			if _, err := s.Append(b.Context(), req); err != nil {
				b.Error(err)
				return
			}
			v++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}
