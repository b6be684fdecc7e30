package pgwalk_test

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

// TestVerifyFindsEditedDerivedTables edits each of the walker's tables as
// an attacker could (the index tables with the triggers off, as a
// superuser; the closure cache as the application role may) and checks
// that Verify names the table, where untouched tables verify clean.
func TestVerifyFindsEditedDerivedTables(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, sql, table string
	}{
		{"resolved end changed", `UPDATE {s}.genealogy_resolved SET to_id = 'batch-X' WHERE from_id = 'lot-1'`, "genealogy_resolved"},
		{"resolved row deleted", `DELETE FROM {s}.genealogy_resolved WHERE from_id = 'lot-1'`, "genealogy_resolved"},
		{"node renamed", `UPDATE {s}.genealogy_nodes SET name = 'batch-X' WHERE name = 'batch-1'`, "genealogy_edges"},
		{"edge deleted", `DELETE FROM {s}.genealogy_edges WHERE position = (SELECT min(position) FROM {s}.genealogy_edges)`, "genealogy_edges"},
		{"edge added", `INSERT INTO {s}.genealogy_edges (position, ord, from_n, to_n, kind)
			SELECT position, ord + 1, to_n, from_n, kind FROM {s}.genealogy_edges ORDER BY position LIMIT 1`, "genealogy_edges"},
		{"closure edge forged", `UPDATE {s}.genealogy_closures SET refs = overlay(refs placing '\x63000000'::bytea from 13 for 4)`, "genealogy_closures"},
		{"dictionary forged", `UPDATE {s}.genealogy_closures SET resolved = overlay(resolved placing '\x5a'::bytea from octet_length(resolved) for 1)`, "genealogy_closures"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			e.mustLink(t, "batch-1", l("lot-1", "batch-1", "consumed"))
			e.mustLink(t, "batch-1", l("batch-1", "lot-2", "produced"))
			e.mustLink(t, "batch-2", l("lot-2", "batch-2", "consumed"))
			// Enough edges that the trace is a large one, which stores
			// its closure.
			for _, b := range []string{"batch-3", "batch-4", "batch-5", "batch-6"} {
				e.mustLink(t, b, l("lot-1", b, "consumed"))
			}
			w := e.walker(t, pgwalk.Config{ClosureEdges: 1, SmallWalk: 1, ClosureDelta: 1})
			req := storage.TraverseRequest{From: []string{"lot-1"}, Direction: storage.Forward, MaxDepth: storage.MaxTraverseDepth}
			for range 2 { // the first stores the closure, the second its dictionary
				if _, err := w.Traverse(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
			if e.closures(t) == 0 {
				t.Fatal("no closure was stored")
			}
			if p, err := w.Verify(ctx); err != nil || len(p) != 0 {
				t.Fatalf("untouched: %v, %v", p, err)
			}
			tx, err := e.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				t.Fatal(err)
			}
			if tag, err := tx.Exec(ctx, strings.ReplaceAll(tt.sql, "{s}", e.schema)); err != nil || tag.RowsAffected() == 0 {
				t.Fatalf("%s: %v, %v", tt.sql, tag, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			problems, err := w.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, p := range problems {
				found = found || p.Table == tt.table
			}
			if !found {
				t.Errorf("problems %v; want one in %s", problems, tt.table)
			}
		})
	}
}

// TestWalkerAsApp: a walker on a least-privilege application role (see
// postgres.GrantApp) traces and stores its closures and dictionaries,
// through the migration's functions, without any write grant.
func TestWalkerAsApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	least := pgtest.Roles(t)
	st, err := postgres.New(least.App, &postgres.Config{Schema: least.Schema})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range []string{"batch-1", "batch-2", "batch-3", "batch-4", "batch-5", "batch-6"} {
		if _, err := st.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: b,
			Events: []storage.Event{{Type: "lot.linked", Actor: "op", Links: []audit.Link{l("lot-1", b, "consumed")}}}}}}); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	w, err := pgwalk.New(least.App, &pgwalk.Config{Schema: least.Schema, ClosureEdges: 1, SmallWalk: 1, ClosureDelta: 1})
	if err != nil {
		t.Fatal(err)
	}
	req := storage.TraverseRequest{From: []string{"lot-1"}, Direction: storage.Forward, MaxDepth: storage.MaxTraverseDepth}
	for range 2 {
		if edges, err := w.Traverse(ctx, req); err != nil || len(edges) != 6 {
			t.Fatalf("traverse as the app role: %d edges, %v", len(edges), err)
		}
	}
	var n int
	var dict bool
	if err := least.Owner.QueryRow(ctx, `SELECT count(*), bool_or(resolved IS NOT NULL) FROM `+least.Schema+`.genealogy_closures`).Scan(&n, &dict); err != nil {
		t.Fatal(err)
	}
	if n != 1 || !dict {
		t.Errorf("%d closures stored, dictionary %v; want one with its dictionary", n, dict)
	}
	if p, err := w.Verify(ctx); err != nil || len(p) != 0 {
		t.Errorf("Verify as the app role: %v, %v", p, err)
	}
}
