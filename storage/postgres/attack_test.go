package postgres_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/storagetest"
)

// TestAppRoleCannotWriteAround plays an attacker who holds the application
// role's connection (its credentials, or a SQL injection in the service):
// every way to write the record other than the append functions, and every
// way to switch a guard off, is refused.
func TestAppRoleCannotWriteAround(t *testing.T) {
	t.Parallel()
	l := pgtest.Roles(t)
	s, err := postgres.New(l.App, &postgres.Config{Schema: l.Schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "lot-1", 2, linkTo("lot-1", "batch-1"))
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	if _, err := storage.Checkpoint(t.Context(), s, key, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("checkpoint as the app role: %v", err)
	}

	for _, sql := range []string{
		`INSERT INTO {s}.events SELECT position + 1, version + 1, time, stream, type, actor, hash, hash, payload, evidence FROM {s}.events WHERE version = 2`,
		`UPDATE {s}.events SET payload = '{"n":9}' WHERE version = 1`,
		`DELETE FROM {s}.events WHERE version = 2`,
		`TRUNCATE {s}.events`,
		`INSERT INTO {s}.links SELECT position, ord + 1, stream, version, from_id, 'batch-2', kind FROM {s}.links`,
		`UPDATE {s}.links SET to_id = 'batch-2'`,
		`INSERT INTO {s}.idempotency_keys VALUES ('k', '\x00', 1, 1)`,
		`DELETE FROM {s}.idempotency_keys`,
		`INSERT INTO {s}.checkpoints SELECT position + 1, time, heads, signature, key_id FROM {s}.checkpoints`,
		`DELETE FROM {s}.checkpoints`,
		`INSERT INTO {s}.genealogy_edges (position, ord, from_n, to_n, kind) SELECT position, ord + 1, to_n, from_n, kind FROM {s}.genealogy_edges`,
		`UPDATE {s}.genealogy_resolved SET to_id = 'batch-2'`,
		`UPDATE {s}.genealogy_nodes SET name = 'batch-2' WHERE name = 'batch-1'`,
		`DELETE FROM {s}.genealogy_edges`,
		`INSERT INTO {s}.genealogy_closures (root, backward, snap, edges, refs) VALUES (1, false, pg_current_snapshot(), 0, '')`,
		`UPDATE {s}.genealogy_closures SET refs = ''`,
		`ALTER TABLE {s}.events DISABLE TRIGGER events_append_only`,
		`DROP TRIGGER events_append_only ON {s}.events`,
		`ALTER TABLE {s}.events DROP CONSTRAINT events_position_positive`,
		`CREATE TABLE {s}.shadow (x int)`,
		`CREATE OR REPLACE FUNCTION {s}.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
		`SET session_replication_role = replica`,
		// append_group's member function runs with its caller's rights:
		// called directly it cannot write at a position of its choosing.
		`SELECT * FROM {s}.append_member(NULL::bigint, 0::bigint, NULL, '\x00', ARRAY['lot-9'], ARRAY[0::bigint], ARRAY['\x00'::bytea],
			'{}', '{}', now(), ARRAY[1], ARRAY[1::bigint], ARRAY['lot.received'], ARRAY['op-1'], ARRAY['{}'], ARRAY[''],
			ARRAY['\x00'::bytea], '{}', '{}', '{}', '{}', '{}')`,
		`ALTER ROLE CURRENT_USER SUPERUSER`,
	} {
		_, err := l.App.Exec(t.Context(), replaceSchema(sql, l.Schema))
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "42501" && !strings.HasPrefix(pgErr.Code, "42")) {
			t.Errorf("as the app role, %s: error = %v, want a refusal (SQLSTATE 42501)", sql, err)
		} else if pgErr.Code != "42501" {
			t.Logf("%s: refused with SQLSTATE %s: %s", sql, pgErr.Code, pgErr.Message)
		}
	}
	if rep, err := storage.Verify(t.Context(), s, nil, nil); err != nil || rep.Records != 2 {
		t.Errorf("Verify after the attempts: %v records, %v; want 2 records, nil", rep, err)
	}
}

// TestAppRoleErrorIsTyped checks that a role without the grants gets
// ErrPermissionDenied from the store, not a bare driver error.
func TestAppRoleErrorIsTyped(t *testing.T) {
	t.Parallel()
	l := pgtest.Roles(t)
	if _, err := l.Owner.Exec(t.Context(), `REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA `+l.Schema+` FROM `+l.AppRole); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.New(l.App, &postgres.Config{Schema: l.Schema})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "lot-1",
		Events: []storage.Event{{Type: "lot.received", Actor: "op-1"}}}}})
	if !errors.Is(err, postgres.ErrPermissionDenied) {
		t.Errorf("append without EXECUTE: error = %v, want ErrPermissionDenied", err)
	}
}

// plant inserts r, hashed and chained correctly, straight into the events
// table, as a role that owns it could.
func plant(t *testing.T, pool *pgxpool.Pool, schema string, r audit.Record) {
	t.Helper()
	var err error
	if r.Hash, _, err = audit.ComputeHash(nil, &r); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(t.Context(), replaceSchema(`INSERT INTO {s}.events (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, schema),
		r.Position, r.Version, r.Time, r.Stream, r.Type, r.Actor, r.PrevHash[:], r.Hash[:], string(r.Payload), string(r.Evidence))
	if err != nil {
		t.Fatalf("plant %s v%d at %d: %v", r.Stream, r.Version, r.Position, err)
	}
}

// TestOwnerPlantsAreFound plays an attacker with the owner's rights, who
// can insert rows the append functions never wrote, correctly hashed and
// chained: each plant is named by Verify, by stream and version.
func TestOwnerPlantsAreFound(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	trusted, err := audit.NewKeys(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	setup := func(t *testing.T) (*pgxpool.Pool, string, storage.Store, []audit.Record, *audit.Checkpoint) {
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait, Clock: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		recs := appendN(t, s, "batch-1", 3)
		cp, err := storage.Checkpoint(t.Context(), s, key, at)
		if err != nil {
			t.Fatal(err)
		}
		return pool, schema, s, recs, cp
	}
	next := func(prev audit.Record, position int64) audit.Record {
		return audit.Record{Stream: prev.Stream, Version: prev.Version + 1, Position: position, Type: "batch.released", Actor: "intruder",
			Time: at, Payload: json.RawMessage(`{}`), Evidence: json.RawMessage(`null`), PrevHash: prev.Hash}
	}

	t.Run("BeyondTheReadRange", func(t *testing.T) {
		t.Parallel()
		pool, schema, _, recs, cp := setup(t)
		// A short wait: the plant makes every global read wait for the
		// transaction its position would belong to, which never comes.
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 2 * time.Second, Clock: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		last := recs[len(recs)-1]
		// A position no transaction has reached yet: the global read
		// stops below it, the stream's read does not.
		plant(t, pool, schema, next(last, (last.Position/16384+1_000_000)*16384))
		if got := load(t, s, "batch-1"); len(got) != 4 {
			t.Fatalf("Load sees %d records, want the plant too (4)", len(got))
		}
		_, err = storage.Verify(t.Context(), s, cp, trusted)
		expectBreak(t, err, brk{"batch-1", 4, audit.BreakUnread})
		if _, err := storage.Checkpoint(t.Context(), s, key, at); !errors.Is(err, audit.ErrBroken) {
			t.Errorf("Checkpoint over the plant: error = %v, want a break", err)
		}
	})

	t.Run("BackDated", func(t *testing.T) {
		t.Parallel()
		pool, schema, s, _, cp := setup(t)
		// A new stream slipped in below the checkpoint's position.
		genesis := audit.Record{Stream: "batch-9", Hash: audit.Genesis("batch-9")}
		plant(t, pool, schema, next(genesis, cp.Position-1))
		_, err := storage.Verify(t.Context(), s, cp, trusted)
		expectBreak(t, err, brk{"batch-9", 1, audit.BreakBackdated})
	})

	t.Run("AtOrBelowZero", func(t *testing.T) {
		t.Parallel()
		pool, schema, _, _, _ := setup(t)
		genesis := audit.Record{Stream: "batch-9", Hash: audit.Genesis("batch-9")}
		r := next(genesis, 0)
		_, err := pool.Exec(t.Context(), replaceSchema(`INSERT INTO {s}.events (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
			VALUES ($1, 1, now(), 'batch-9', 't', 'a', '\x00', '\x00', '{}', 'null')`, schema), r.Position)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
			t.Errorf("a row at position 0: error = %v, want a check violation", err)
		}
	})

	t.Run("ForgedCheckpoint", func(t *testing.T) {
		t.Parallel()
		pool, schema, s, _, cp := setup(t)
		other := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 7))
		forged, err := audit.NewCheckpoint(cp.Position+1, at, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := forged.Sign(other); err != nil {
			t.Fatal(err)
		}
		// Claim the trusted key's id, too.
		if _, err := pool.Exec(t.Context(), replaceSchema(`INSERT INTO {s}.checkpoints (position, time, heads, key_id, signature) VALUES ($1, $2, '[]', $3, $4)`, schema),
			forged.Position, forged.Time, cp.KeyID, forged.Signature); err != nil {
			t.Fatal(err)
		}
		latest, err := s.LatestCheckpoint(t.Context(), trusted)
		if err != nil || latest.Position != cp.Position {
			t.Errorf("LatestCheckpoint = %v, %v; want the trusted checkpoint at %d", latest, err, cp.Position)
		}
	})
}

func expectBreak(t *testing.T, err error, want brk) {
	t.Helper()
	var be *audit.BreakError
	if !errors.As(err, &be) {
		t.Fatalf("Verify error = %v, want a *audit.BreakError", err)
	}
	if got := (brk{be.Stream, be.Version, be.Kind}); got != want {
		t.Errorf("break = %+v, want %+v (%v)", got, want, be)
	}
}

// sqlAttacker changes the store's tables with SQL, as a superuser who
// switches the append-only triggers off for its session could.
type sqlAttacker struct {
	pool   *pgxpool.Pool
	schema string
	reader storage.Reader
}

func (a *sqlAttacker) exec(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		tb.Fatal(err)
	}
	tag, err := tx.Exec(ctx, replaceSchema(sql, a.schema), args...)
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	if tag.RowsAffected() != 1 {
		tb.Fatalf("%s: %d rows, want 1", sql, tag.RowsAffected())
	}
	if err := tx.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
}

func (a *sqlAttacker) Replace(tb testing.TB, r audit.Record) {
	a.exec(tb, `UPDATE {s}.events SET payload = $3, evidence = $4, prev_hash = $5, hash = $6 WHERE stream = $1 AND version = $2`,
		r.Stream, r.Version, string(r.Payload), string(r.Evidence), r.PrevHash[:], r.Hash[:])
}

func (a *sqlAttacker) Delete(tb testing.TB, stream string, version int64) {
	a.exec(tb, `DELETE FROM {s}.events WHERE stream = $1 AND version = $2`, stream, version)
}

func (a *sqlAttacker) Plant(tb testing.TB, r audit.Record, _ bool) {
	a.exec(tb, `INSERT INTO {s}.events (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Position, r.Version, r.Time, r.Stream, r.Type, r.Actor, r.PrevHash[:], r.Hash[:], string(r.Payload), string(r.Evidence))
}

func (a *sqlAttacker) Reader() storage.Reader { return a.reader }

// TestAttacks runs the attack suite on Postgres, every change made in the
// tables with SQL.
func TestAttacks(t *testing.T) {
	t.Parallel()
	storagetest.RunAttacks(t, func(tb testing.TB) (storage.Store, func() storagetest.Attacker) {
		pool, schema := pgtest.Pool(tb)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
		if err != nil {
			tb.Fatal(err)
		}
		// The verifier's store waits less: a row planted beyond the
		// global read makes every read wait for a transaction that never
		// comes.
		reader, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 2 * time.Second})
		if err != nil {
			tb.Fatal(err)
		}
		return s, func() storagetest.Attacker { return &sqlAttacker{pool: pool, schema: schema, reader: reader} }
	})
}
