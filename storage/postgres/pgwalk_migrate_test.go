package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/postgres/pgwalk"
)

// TestGenealogyMigrationBackfillsAndTracks: links written before
// migration 0004 are backfilled into the walker's tables, links written
// after are indexed by its trigger, and migrating again changes nothing.
func TestGenealogyMigrationBackfillsAndTracks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Connect(t)
	schema := pgtest.Schema(t, pool)
	if err := postgres.MigrateTo(ctx, pool, schema, 3); err != nil {
		t.Fatal(err)
	}
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
	if err := postgres.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	link("B2", "B1", "B2")
	if err := postgres.Migrate(ctx, pool, schema); err != nil {
		t.Fatalf("second migrate: %v", err)
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
	// The table is append-only: only a session that skips triggers (a
	// superuser's, as here) can delete from it.
	execTampering(t, pool, schema, `SET LOCAL session_replication_role = replica; DELETE FROM {s}.genealogy_resolved WHERE from_id = 'B1'`)
	if got, err := w.Traverse(ctx, req); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("traverse with an edge's names and proof missing: %d edges, %v; want an error", len(got), err)
	}
}
