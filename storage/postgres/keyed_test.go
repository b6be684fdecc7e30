package postgres_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestAppendKeyedMatchesGeneral sends random one-event appends with keys
// and reads, many of them stale or reusing a key, to a store that uses
// append_keyed and to one that sends everything through append: every
// result, error and record is the same but for positions, which follow
// transaction ids.
func TestAppendKeyedMatchesGeneral(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	newStore := func(general bool) *postgres.Store {
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		if general {
			postgres.General(s)
		}
		return s
	}
	fast, general := newStore(false), newStore(true)
	var run atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		// Each run names its own streams and keys in the same two schemas.
		prefix := fmt.Sprintf("run-%d/", run.Add(1))
		streams := []string{prefix + "batch-1", prefix + "batch-2", prefix + "lot-1", prefix + "person-1"}
		keys := []string{"", prefix + "cmd-1", prefix + "cmd-2", prefix + "cmd-3"}
		for i := range rapid.IntRange(1, 12).Draw(rt, "appends") {
			stream := rapid.SampledFrom(streams).Draw(rt, "stream")
			req := storage.AppendRequest{
				IdempotencyKey: rapid.SampledFrom(keys).Draw(rt, "key"),
				Streams: []storage.StreamAppend{{
					Stream: stream, ExpectedVersion: rapid.Int64Range(0, 3).Draw(rt, "expected"),
					Events: []storage.Event{{Type: "step.completed", Actor: "op-1",
						Payload:  []byte(fmt.Sprintf(`{"n":%d}`, rapid.IntRange(0, 1).Draw(rt, "payload"))),
						Evidence: []byte(`[{"scan":"L1"}]`)}},
				}},
			}
			for _, r := range streams {
				if r != stream && rapid.Bool().Draw(rt, "read "+r) {
					req.Reads = append(req.Reads, storage.StreamVersion{Stream: r, Version: rapid.Int64Range(0, 2).Draw(rt, "version")})
				}
			}
			got, gotErr := fast.Append(rt.Context(), req)
			want, wantErr := general.Append(rt.Context(), req)
			if diff := cmp.Diff(errorKind(wantErr), errorKind(gotErr)); diff != "" {
				rt.Fatalf("append %d %+v: error (-general +keyed):\n%s\nkeyed: %v\ngeneral: %v", i, req, diff, gotErr, wantErr)
			}
			if diff := cmp.Diff(withoutPositions(want.Records), withoutPositions(got.Records)); diff != "" || got.Replayed != want.Replayed {
				rt.Fatalf("append %d: replayed %v, general %v; records (-general +keyed):\n%s", i, got.Replayed, want.Replayed, diff)
			}
		}
		for _, s := range streams {
			want, err := general.Load(rt.Context(), s, 1)
			if err != nil {
				rt.Fatal(err)
			}
			got, err := fast.Load(rt.Context(), s, 1)
			if err != nil {
				rt.Fatal(err)
			}
			if diff := cmp.Diff(withoutPositions(want), withoutPositions(got)); diff != "" {
				rt.Fatalf("stream %s (-general +keyed):\n%s", s, diff)
			}
		}
	})
}

// errorKind is what a caller can tell of an append error: which sentinel
// it matches and, for a conflict, its stream and versions.
func errorKind(err error) string {
	var ce *storage.ConflictError
	switch {
	case err == nil:
		return "nil"
	case errors.As(err, &ce):
		return fmt.Sprintf("conflict %s expected %d actual %d", ce.Stream, ce.Expected, ce.Actual)
	case errors.Is(err, storage.ErrIdempotencyKeyReused):
		return "key reused"
	case errors.Is(err, storage.ErrInvalid):
		return "invalid"
	}
	return "other: " + err.Error()
}

func withoutPositions(recs []audit.Record) []audit.Record {
	out := make([]audit.Record, len(recs))
	for i, r := range recs {
		r.Position = 0
		out[i] = r
	}
	return out
}

// BenchmarkAppendPath appends one event at a time from one writer without
// waiting for WAL flushes (pgtest.Pool), so that it measures what each
// append function costs rather than the disk: append_one for a bare event,
// and an event with a key and three reads through append_keyed and through
// the general append.
func BenchmarkAppendPath(b *testing.B) {
	for _, c := range []struct {
		name           string
		keyed, general bool
	}{{"one", false, false}, {"keyed", true, false}, {"keyed-general", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			pool, schema := pgtest.Pool(b)
			s, err := postgres.New(pool, &postgres.Config{Schema: schema})
			if err != nil {
				b.Fatal(err)
			}
			if c.general {
				postgres.General(s)
			}
			reads := []storage.StreamVersion{{Stream: "person/op-17", Version: 1}, {Stream: "lot/L7", Version: 1}, {Stream: "equipment/SC-01", Version: 1}}
			for _, r := range reads {
				appendN(b, s, r.Stream, 1)
			}
			b.ReportAllocs()
			var v int64
			for b.Loop() {
				req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-1", ExpectedVersion: v,
					Events: []storage.Event{{Type: "step.completed", Actor: "op-17", Payload: []byte(`{"step":"S1","weight":"12.50"}`),
						Evidence: []byte(`[{"name":"net-weight","value":"12.50","unit":"kg","source":"device"}]`)}}}}}
				if c.keyed {
					req.IdempotencyKey, req.Reads = fmt.Sprintf("command/%d", v), reads
				}
				if _, err := s.Append(b.Context(), req); err != nil {
					b.Fatal(err)
				}
				v++
			}
		})
	}
}
