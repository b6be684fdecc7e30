package postgres_test

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	pool := pgtest.Connect(t)
	// A schema that does not exist yet, so that both calls race to create
	// it too; pgtest.Schema creates one, so drop it first.
	schema := pgtest.Schema(t, pool)
	if _, err := pool.Exec(t.Context(), "DROP SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = postgres.Migrate(t.Context(), pool, schema) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate call %d: %v", i, err)
		}
	}
	// A third call finds nothing to do.
	if err := postgres.Migrate(t.Context(), pool, schema); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}

	rows, _ := pool.Query(t.Context(), `SELECT version, name FROM `+schema+`.schema_migrations ORDER BY version`)
	type applied struct {
		Version int32
		Name    string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[applied])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]applied{{1, "initial"}, {2, "no_heads"}, {3, "append_keyed"}, {4, "genealogy"}, {5, "least_privilege"}, {6, "feed_bound"}, {7, "cluster_offset"}, {8, "group_commit"}}, got); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}

	rows, _ = pool.Query(t.Context(), `SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	wantTables := []string{"checkpoints", "clusters", "events", "genealogy_closures", "genealogy_edges", "genealogy_kinds", "genealogy_nodes", "genealogy_resolved", "idempotency_keys", "links", "schema_migrations"}
	if diff := cmp.Diff(wantTables, tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	rows, _ = pool.Query(t.Context(), `SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = 'links' ORDER BY 1`, schema)
	indexes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"links_from_idx", "links_pkey", "links_to_idx"}, indexes); diff != "" {
		t.Errorf("indexes on links (-want +got):\n%s", diff)
	}
}

func TestMigrateRejectsBadSchema(t *testing.T) {
	t.Parallel()
	pool := pgtest.Connect(t)
	for _, schema := range []string{"", "a\x00b", string(make([]byte, 64))} {
		if err := postgres.Migrate(t.Context(), pool, schema); err == nil {
			t.Errorf("Migrate(%q) = nil, want an error", schema)
		}
	}
	if err := postgres.Migrate(t.Context(), nil, "x"); err == nil {
		t.Error("Migrate with a nil pool = nil, want an error")
	}
}

// TestAppendOnly shows that the tables of the record refuse changes, even
// from the owner.
func TestAppendOnly(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "batch-1", 2, linkTo("batch-1", "lot-1"))
	tests := []struct{ name, sql string }{
		{"update event", `UPDATE {s}.events SET payload = '{"x":1}' WHERE version = 1`},
		{"delete event", `DELETE FROM {s}.events WHERE version = 2`},
		{"delete nothing", `DELETE FROM {s}.events WHERE false`},
		{"truncate events", `TRUNCATE {s}.events`},
		{"update link", `UPDATE {s}.links SET kind = 'other'`},
		{"delete link", `DELETE FROM {s}.links`},
		{"delete checkpoint", `DELETE FROM {s}.checkpoints`},
		{"delete key", `DELETE FROM {s}.idempotency_keys`},
	}
	for _, tt := range tests {
		_, err := pool.Exec(t.Context(), replaceSchema(tt.sql, schema))
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "IL003" {
			t.Errorf("%s: error = %v, want SQLSTATE IL003", tt.name, err)
		}
	}
	if got := len(load(t, s, "batch-1")); got != 2 {
		t.Errorf("stream holds %d records after the attempts, want 2", got)
	}
}

// TestMigrateKeepsRecords writes records under the first migration alone,
// then migrates: the rebuilt events table holds the same records, heads and
// chains, a retry of a keyed append still replays, and appends go on.
func TestMigrateKeepsRecords(t *testing.T) {
	t.Parallel()
	pool := pgtest.Connect(t)
	schema := pgtest.Schema(t, pool)
	ctx := t.Context()
	if err := postgres.MigrateTo(ctx, pool, schema, 1); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	keyed := storage.AppendRequest{IdempotencyKey: "cmd-1", Streams: []storage.StreamAppend{
		{Stream: "batch-1", Events: []storage.Event{
			{Type: "lot.consumed", Actor: "op-17", Payload: json.RawMessage(`{"qty":"4"}`), Links: []audit.Link{{From: "lot-1", To: "batch-1", Kind: "consumed"}}},
			{Type: "step.completed", Actor: "op-17"},
		}},
		{Stream: "lot-1", Events: []storage.Event{{Type: "lot.consumed", Actor: "op-17"}}},
	}}
	for _, req := range []storage.AppendRequest{keyed, oneEvent("batch-1", 2, `{"n":3}`), oneEvent("order-1", 0, `{}`, storage.StreamVersion{Stream: "lot-1", Version: 1})} {
		if err := postgres.AppendGeneral(ctx, s, req); err != nil {
			t.Fatalf("append under migration 1: %v", err)
		}
	}
	// Read stream by stream: the global read needs the latest schema.
	before := readStreams(t, s, "batch-1", "lot-1", "order-1")
	heads, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if err := postgres.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, readEverything(t, s)); diff != "" {
		t.Errorf("records after the migration (-before +after):\n%s", diff)
	}
	got, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(heads, got); diff != "" {
		t.Errorf("heads after the migration (-before +after):\n%s", diff)
	}
	res, err := s.Append(ctx, keyed)
	if err != nil || !res.Replayed {
		t.Fatalf("retry of the keyed append: replayed=%v, err=%v; want a replay", res.Replayed, err)
	}
	if diff := cmp.Diff(before[:3], res.Records); diff != "" {
		t.Errorf("replayed records (-want +got):\n%s", diff)
	}
	appendN(t, s, "batch-1", 1)
	if _, err := s.Append(ctx, oneEvent("batch-1", 3, `{}`)); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("stale append after the migration: error = %v, want a conflict", err)
	}
	if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// readStreams returns the records of streams in position order.
func readStreams(t *testing.T, s storage.Store, streams ...string) []audit.Record {
	t.Helper()
	var out []audit.Record
	for _, st := range streams {
		recs, err := s.Load(t.Context(), st, 1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	slices.SortFunc(out, func(a, b audit.Record) int {
		switch {
		case a.Position < b.Position:
			return -1
		case a.Position > b.Position:
			return 1
		}
		return 0
	})
	return out
}

func readEverything(t *testing.T, s storage.Store) []audit.Record {
	t.Helper()
	recs, err := s.ReadAll(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
