// Package storagetest is the conformance suite that every storage.Store
// passes. A store's own test calls Run with a constructor that returns a
// fresh, empty store; its benchmark calls Bench, so that one benchstat
// compares the stores.
//
// # What it checks
//
// Appends (round trip, chains across appends, stale versions and reads,
// multi-stream atomicity, invalid input field by field, identifiers), reads
// in stream and global order, heads, links and traversal, checkpoints,
// idempotency keys and concurrency (one winner per version, no deadlock
// across streams, retries), each as a parallel subtest on a fresh store.
package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// NewStore returns a fresh, empty store for one test. It registers any
// cleanup with tb.Cleanup and fails tb itself if the store cannot be made.
type NewStore func(tb testing.TB) storage.Store

// Run runs the whole conformance suite against stores made by newStore. Every
// subtest gets its own store and runs in parallel.
func Run(t *testing.T, newStore NewStore) {
	for _, part := range []struct {
		name string
		run  func(*testing.T, NewStore)
	}{
		{"Append", testAppend},
		{"Concurrency", testConcurrency},
		{"Idempotency", testIdempotency},
		{"Read", testRead},
		{"Links", testLinks},
		{"Checkpoint", testCheckpoint},
		{"Model", testModel},
	} {
		t.Run(part.name, func(t *testing.T) {
			t.Parallel()
			part.run(t, newStore)
		})
	}
}

// ev is a small event for tests.
func ev(typ string, payload string, links ...audit.Link) storage.Event {
	return storage.Event{Type: typ, Actor: "tester", Payload: json.RawMessage(payload), Links: links}
}

func one(stream string, expected int64, events ...storage.Event) storage.AppendRequest {
	return storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: expected, Events: events}}}
}

func mustAppend(tb testing.TB, s storage.Store, req storage.AppendRequest) []audit.Record {
	tb.Helper()
	res, err := s.Append(context.Background(), req)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return res.Records
}

func mustLoad(tb testing.TB, s storage.Store, stream string) []audit.Record {
	tb.Helper()
	recs, err := s.Load(context.Background(), stream, 1)
	if err != nil {
		tb.Fatalf("Load(%q): %v", stream, err)
	}
	return recs
}

func readAll(tb testing.TB, s storage.Store) []audit.Record {
	tb.Helper()
	var all []audit.Record
	var after int64
	for {
		page, err := s.ReadAll(context.Background(), after, 7)
		if err != nil {
			tb.Fatalf("ReadAll(%d): %v", after, err)
		}
		all = append(all, page...)
		if len(page) < 7 {
			return all
		}
		after = page[len(page)-1].Position
	}
}

// recordOpts compares records as values: an empty and a nil slice of links
// are the same record, and times compare as instants.
var recordOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b json.RawMessage) bool { return string(a) == string(b) }),
	cmp.Transformer("links", func(ls []audit.Link) []audit.Link {
		if len(ls) == 0 {
			return nil
		}
		return ls
	}),
}

func expectConflict(tb testing.TB, err error, stream string, expected int64) {
	tb.Helper()
	if !errors.Is(err, storage.ErrConflict) {
		tb.Fatalf("error = %v, want one matching storage.ErrConflict", err)
	}
	var ce *storage.ConflictError
	if !errors.As(err, &ce) {
		tb.Fatalf("error %v is not a *storage.ConflictError", err)
	}
	if ce.Stream != stream || ce.Expected != expected {
		tb.Errorf("conflict on stream %q expected %d, want stream %q expected %d", ce.Stream, ce.Expected, stream, expected)
	}
}

func expectEmpty(tb testing.TB, s storage.Store) {
	tb.Helper()
	if all := readAll(tb, s); len(all) != 0 {
		tb.Fatalf("store holds %d records, want none: %+v", len(all), all[0])
	}
	heads, err := s.Heads(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if len(heads) != 0 {
		tb.Fatalf("store has heads %v, want none", heads)
	}
}
