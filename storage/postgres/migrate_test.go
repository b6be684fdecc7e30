package postgres_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	if diff := cmp.Diff([]applied{{1, "initial"}}, got); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}

	rows, _ = pool.Query(t.Context(), `SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	wantTables := []string{"checkpoints", "events", "idempotency_keys", "links", "schema_migrations", "streams"}
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
