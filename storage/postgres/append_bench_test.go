package postgres_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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
	appendParallel(b, durableStore(b), func(stream string, v int64) storage.AppendRequest {
		return benchAppend(stream, v)
	})
}

// BenchmarkAppendParallelKeyed is BenchmarkAppendParallel with what an
// engine transition adds to an append: an idempotency key and three
// asserted reads (the person, lot and equipment streams its gates read).
func BenchmarkAppendParallelKeyed(b *testing.B) {
	for _, c := range []struct {
		name       string
		key, reads bool
	}{{"key+reads", true, true}, {"key", true, false}, {"reads", false, true}} {
		b.Run(c.name, func(b *testing.B) {
			s := durableStore(b)
			reads := []storage.StreamVersion{{Stream: "person/op-17", Version: 1}, {Stream: "lot/L7", Version: 1}, {Stream: "equipment/SC-01", Version: 1}}
			for _, r := range reads {
				if _, err := s.Append(b.Context(), benchAppend(r.Stream, 0)); err != nil {
					b.Fatal(err)
				}
			}
			appendParallel(b, s, func(stream string, v int64) storage.AppendRequest {
				req := benchAppend(stream, v)
				if c.key {
					req.IdempotencyKey = fmt.Sprintf("command/%s/%d", stream, v)
				}
				if c.reads {
					req.Reads = reads
				}
				return req
			})
		})
	}
}

// durableStore is a store whose commits wait for their WAL flush, on a pool
// of at least 8 connections.
func durableStore(b *testing.B) *postgres.Store {
	pool, schema := pgtest.DurablePool(b)
	if pool.Config().MaxConns < 8 {
		b.Fatalf("pool has %d connections, want at least 8", pool.Config().MaxConns)
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchAppend is one event of about 200 bytes at version v+1 of stream.
func benchAppend(stream string, v int64) storage.AppendRequest {
	return storage.AppendRequest{Streams: []storage.StreamAppend{{
		Stream: stream, ExpectedVersion: v,
		Events: []storage.Event{{Type: "step.completed", Actor: "op-17", Payload: json.RawMessage(benchPayload)}},
	}}}
}

// appendParallel runs the appends req makes from 8 goroutines, each on a
// stream of its own, and reports appends/s.
func appendParallel(b *testing.B, s *postgres.Store, req func(stream string, v int64) storage.AppendRequest) {
	var writers atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		stream := fmt.Sprintf("batch-%d", writers.Add(1))
		var v int64
		for pb.Next() {
			if _, err := s.Append(b.Context(), req(stream, v)); err != nil {
				b.Error(err)
				return
			}
			v++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// BenchmarkAppendWriters appends one event per append from 1, 8 and 32
// writers, each to its own stream, durable, with group commit off and on:
// the shape to hold beside pgbench's single-row INSERT at -c 1, 8 and 32
// (.ci/bench-throughput). The pool has a connection for every writer, as
// pgbench has.
func BenchmarkAppendWriters(b *testing.B) {
	for _, group := range []string{"off", "on"} {
		for _, writers := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("group=%s/writers=%d", group, writers), func(b *testing.B) {
				appendWriters(b, wideStore(b, writers+4, postgres.GroupCommit{Off: group == "off"}), writers)
			})
		}
	}
}

// appendWriters runs b.N appends from n writers, each on a stream of its
// own, and reports appends/s.
func appendWriters(b *testing.B, s *postgres.Store, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("batch-%d", w)
			var v int64
			for next.Add(1) <= int64(b.N) {
				if _, err := s.Append(b.Context(), benchAppend(stream, v)); err != nil {
					b.Error(err)
					return
				}
				v++
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// BenchmarkAppendGroupTuning runs 8 and 32 writers as
// BenchmarkAppendWriters does, with group commit's Writers and Window
// varied, to choose their defaults.
func BenchmarkAppendGroupTuning(b *testing.B) {
	for _, writers := range []int{8, 32} {
		for _, g := range []postgres.GroupCommit{{Off: true}, {Writers: 1}, {Writers: 1, Window: 300 * time.Microsecond},
			{Writers: 2}, {Writers: 2, Window: 300 * time.Microsecond}, {Writers: 4}} {
			b.Run(fmt.Sprintf("writers=%d/off=%v/groups=%d/window=%v", writers, g.Off, g.Writers, g.Window), func(b *testing.B) {
				appendWriters(b, wideStore(b, writers+4, g), writers)
			})
		}
	}
}

// wideStore is a durable store on a pool of conns connections, with group
// commit configured by g.
func wideStore(b *testing.B, conns int, g postgres.GroupCommit) *postgres.Store {
	_, schema := pgtest.DurablePool(b)
	cfg, err := pgxpool.ParseConfig(os.Getenv(pgtest.EnvURL))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, GroupCommit: g})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
