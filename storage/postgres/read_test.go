package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestReadAllWaitsForEarlierTransactions holds one append open while a
// later one commits with a higher position: ReadAll must not return the
// later one until the earlier commits, or a reader paging by position would
// skip the earlier one for good.
//
// It does not run in parallel: while it holds its transaction open, ReadAll
// in every other test on the same server would wait too.
func TestReadAllWaitsForEarlierTransactions(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	before := appendN(t, s, "batch-0", 1)

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	held := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-1", Events: []storage.Event{{Type: "held", Actor: "t"}}}}}
	if err := postgres.AppendInTx(ctx, s, tx, held); err != nil {
		t.Fatal(err)
	}
	later := appendN(t, s, "batch-2", 1)

	positions := func() []int64 {
		recs, err := s.ReadAll(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range recs {
			out = append(out, r.Position)
		}
		return out
	}
	if diff := cmp.Diff([]int64{before[0].Position}, positions()); diff != "" {
		t.Errorf("ReadAll while the earlier append is open (-want +got):\n%s", diff)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	heldRecs := load(t, s, "batch-1")
	if len(heldRecs) != 1 || heldRecs[0].Position >= later[0].Position {
		t.Fatalf("held append wrote %+v; want one record below position %d", heldRecs, later[0].Position)
	}
	// Transactions of other tests elsewhere in the cluster can still hold
	// records back for a moment; a reader with a longer wait sees past them.
	s, err = postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{before[0].Position, heldRecs[0].Position, later[0].Position}
	if diff := cmp.Diff(want, positions()); diff != "" {
		t.Errorf("ReadAll after the commit (-want +got):\n%s", diff)
	}
	if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestTimesAndPayloadsRoundTrip checks what Postgres could alter: microsecond
// times, the exact canonical JSON text, and links in the writer's order.
func TestTimesAndPayloadsRoundTrip(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	at := []time.Time{
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 11, 25, 3, 4, 5, 123456789, time.FixedZone("CET", 3600)),
	}
	var i int
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: func() time.Time { i++; return at[(i-1)%len(at)] }})
	if err != nil {
		t.Fatal(err)
	}
	req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "lot/ü-1", Events: []storage.Event{
		{Type: "a", Actor: "x", Payload: json.RawMessage(`{"b": 1.50, "a": "\u00e9\u0000<"}`), Evidence: json.RawMessage(`[1e2, "z"]`),
			Links: []audit.Link{{From: "z", To: "a", Kind: "k2"}, {From: "a", To: "z", Kind: "k1"}, {From: "z", To: "a", Kind: "k2"}}},
	}}}}
	var written []audit.Record
	for range at {
		res, err := s.Append(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, res.Records...)
		req.Streams[0].ExpectedVersion++
	}
	got := load(t, s, "lot/ü-1")
	if diff := cmp.Diff(written, got); diff != "" {
		t.Errorf("Load differs from what Append returned (-want +got):\n%s", diff)
	}
	for i, r := range got {
		if want := at[i].UTC().Truncate(time.Microsecond); !r.Time.Equal(want) || r.Time.Location() != time.UTC {
			t.Errorf("record %d time %v, want %v in UTC", i, r.Time, want)
		}
	}
	if err := audit.VerifyStream(got); err != nil {
		t.Error(err)
	}
}
