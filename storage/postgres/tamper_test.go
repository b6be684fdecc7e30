package postgres_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// brk is the part of a break a tamper test asserts.
type brk struct {
	Stream  string
	Version int64
	Kind    audit.BreakKind
}

// TestTamper edits the tables behind the store's back, as a superuser
// could after disabling the append-only triggers, and checks that Verify
// names exactly the stream, version and kind of the edit.
func TestTamper(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := audit.NewKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		checkpoint bool // verify against a checkpoint made before the edit
		edit       func(t *testing.T, pool *pgxpool.Pool, schema string, s *postgres.Store)
		want       brk
	}{
		{
			name: "one byte of one payload",
			edit: func(t *testing.T, pool *pgxpool.Pool, schema string, _ *postgres.Store) {
				// {"n":1,... becomes {"m":1,...: still JSON, one byte off.
				execTampering(t, pool, schema, `UPDATE {s}.events SET payload = overlay(payload placing 'm' from 3 for 1) WHERE stream = 'batch-b' AND version = 2`)
			},
			want: brk{"batch-b", 2, audit.BreakContentChanged},
		},
		{
			name:       "newest events of a stream deleted",
			checkpoint: true,
			edit: func(t *testing.T, pool *pgxpool.Pool, schema string, _ *postgres.Store) {
				execTampering(t, pool, schema, `DELETE FROM {s}.events WHERE stream = 'batch-a' AND version >= 4`)
			},
			want: brk{"batch-a", 4, audit.BreakTruncated},
		},
		{
			name:       "whole stream deleted",
			checkpoint: true,
			edit: func(t *testing.T, pool *pgxpool.Pool, schema string, _ *postgres.Store) {
				execTampering(t, pool, schema, `DELETE FROM {s}.events WHERE stream = 'batch-c'`)
			},
			want: brk{"batch-c", 1, audit.BreakStreamDeleted},
		},
		{
			name:       "last record rewritten with a recomputed hash",
			checkpoint: true,
			edit: func(t *testing.T, pool *pgxpool.Pool, schema string, s *postgres.Store) {
				recs := load(t, s, "batch-b")
				r := recs[len(recs)-1]
				r.Payload = json.RawMessage(`{"n":99,"stream":"batch-b"}`)
				h, _, err := audit.ComputeHash(nil, &r)
				if err != nil {
					t.Fatal(err)
				}
				execTampering(t, pool, schema, `UPDATE {s}.events SET payload = $1, hash = $2 WHERE position = $3`, string(r.Payload), h[:], r.Position)
			},
			want: brk{"batch-b", 5, audit.BreakHashMismatch},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Pool(t)
			s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
			if err != nil {
				t.Fatal(err)
			}
			// batch-a and batch-b interleaved at 5 events each, batch-c at 2.
			for range 5 {
				appendN(t, s, "batch-a", 1)
				appendN(t, s, "batch-b", 1)
			}
			appendN(t, s, "batch-c", 2)
			var cp *audit.Checkpoint
			if tt.checkpoint {
				cp, err = storage.Checkpoint(t.Context(), s, key, time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC))
				if err != nil {
					t.Fatal(err)
				}
			}
			tt.edit(t, pool, schema, s)
			rep, err := storage.Verify(t.Context(), s, cp, trusted)
			var be *audit.BreakError
			if !errors.As(err, &be) {
				t.Fatalf("Verify error = %v, want a *audit.BreakError", err)
			}
			if diff := cmp.Diff(tt.want, brk{be.Stream, be.Version, be.Kind}); diff != "" {
				t.Errorf("first break (-want +got):\n%s", diff)
			}
			if len(rep.Breaks) != 1 {
				t.Errorf("Verify reported %d breaks, want exactly one: %v", len(rep.Breaks), rep.Breaks)
			}
		})
	}
}

// execTampering runs sql with the append-only triggers disabled, as a
// superuser could, and enables them again.
func execTampering(t *testing.T, pool *pgxpool.Pool, schema, sql string, args ...any) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	for _, stmt := range []string{`ALTER TABLE {s}.events DISABLE TRIGGER events_append_only`, sql, `ALTER TABLE {s}.events ENABLE TRIGGER events_append_only`} {
		a := args
		if stmt != sql {
			a = nil
		}
		if _, err := tx.Exec(t.Context(), replaceSchema(stmt, schema), a...); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}
