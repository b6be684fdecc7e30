package pgwalk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy/pgwalk"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := pgwalk.New(nil, &pgwalk.Config{Schema: "s"}); err == nil {
		t.Error("nil pool: no error")
	}
	// New does no I/O: a pool that cannot connect will do.
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for name, cfg := range map[string]*pgwalk.Config{
		"nil config":            nil,
		"no schema":             {},
		"negative SmallWalk":    {Schema: "s", SmallWalk: -1},
		"negative ClosureDelta": {Schema: "s", ClosureDelta: -1},
	} {
		if _, err := pgwalk.New(pool, cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := pgwalk.New(pool, &pgwalk.Config{Schema: "s", ClosureEdges: -1}); err != nil {
		t.Errorf("ClosureEdges -1 (never store): %v", err)
	}
}

// TestInstallBackfillsAndTracks: links written before Install are
// backfilled, links written after are indexed by the trigger, and running
// Install again changes nothing.
func TestInstallBackfillsAndTracks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	st, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	link := func(stream, from, to string) {
		t.Helper()
		_, err := st.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, Events: []storage.Event{{
			Type: "lot.consumed", Actor: "op", Links: []audit.Link{{From: from, To: to, Kind: "consumed"}},
		}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	link("B1", "L1", "B1")
	if err := pgwalk.Install(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	link("B2", "B1", "B2")
	if err := pgwalk.Install(ctx, pool, schema); err != nil {
		t.Fatalf("second install: %v", err)
	}
	w, err := pgwalk.New(pool, &pgwalk.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	req := storage.TraverseRequest{From: []string{"L1"}, Direction: storage.Forward, MaxDepth: 5}
	got, err := w.Traverse(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.Traverse(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(want) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("walker %+v, store %+v", got, want)
	}
	if _, err := w.Traverse(ctx, storage.TraverseRequest{Direction: storage.Forward, MaxDepth: 1}); err == nil {
		t.Error("traverse without a start node: no error")
	}
	// genealogy_resolved is derived: an edge whose row is missing there is
	// an error, not an edge left out of the answer.
	if _, err := pool.Exec(ctx, `DELETE FROM `+pgx.Identifier{schema, "genealogy_resolved"}.Sanitize()+` WHERE from_id = 'B1'`); err != nil {
		t.Fatal(err)
	}
	if got, err := w.Traverse(ctx, req); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("traverse with an edge's names and proof missing: %d edges, %v; want an error", len(got), err)
	}
}
