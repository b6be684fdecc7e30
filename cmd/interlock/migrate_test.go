package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestMigrateIdempotent: migrate applies the migrations to an empty
// schema, a second run applies nothing more and still exits 0, and the
// schema then holds a working store.
func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	pool := pgtest.Connect(t)
	schema := pgtest.Schema(t, pool)
	applied := func() int {
		var n int
		if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+schema+".schema_migrations").Scan(&n); err != nil {
			t.Fatalf("count migrations: %v", err)
		}
		return n
	}
	r := interlock(t, "migrate", "-database-url", testURL(t), "-schema", schema)
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, "schema "+schema+": migrated") {
		t.Errorf("stdout %q does not say the schema was migrated", r.stdout)
	}
	first := applied()
	if first == 0 {
		t.Fatal("migrate exited 0 and recorded no migration")
	}
	interlock(t, "migrate", "-database-url", testURL(t), "-schema", schema).want(t, exitOK)
	if n := applied(); n != first {
		t.Errorf("a second migrate left %d migrations recorded, the first %d", n, first)
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "s", Events: []storage.Event{{Type: "t", Actor: "a"}}}}}); err != nil {
		t.Errorf("append to the migrated schema: %v", err)
	}
}

// TestRolesSQL applies what roles prints, as an operator would: the roles
// and schema as a superuser, migrate as the owner, then the grants as the
// owner. The application role then holds exactly what migrate -app-role
// (postgres.GrantApp) grants another role, can append through the store,
// and cannot write a table itself.
func TestRolesSQL(t *testing.T) {
	t.Parallel()
	admin := pgtest.Connect(t)
	ctx := t.Context()
	var b [6]byte
	rand.Read(b[:])
	sfx := hex.EncodeToString(b[:])
	schema, owner, app, ref := "ops_"+sfx, "ops_owner_"+sfx, "ops_app_"+sfx, "ops_ref_"+sfx

	r := interlock(t, "roles", "-schema", schema, "-owner-role", owner, "-app-role", app)
	r.want(t, exitOK)
	create, grant, ok := strings.Cut(r.stdout, grantHeading)
	if !ok {
		t.Fatalf("roles SQL has no %q part:\n%s", grantHeading, r.stdout)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		for _, stmt := range []string{
			"DROP SCHEMA IF EXISTS " + schema + " CASCADE",
			"DROP OWNED BY " + owner + ", " + app + ", " + ref,
			"DROP ROLE " + app, "DROP ROLE " + ref, "DROP ROLE " + owner,
		} {
			if _, err := admin.Exec(ctx, stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
	})
	// The reference role exists before the SQL runs, so that cleanup can
	// drop everything whatever fails below.
	if _, err := admin.Exec(ctx, "CREATE ROLE "+ref+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, create); err != nil {
		t.Fatalf("the roles SQL as a superuser: %v\n%s", err, create)
	}
	interlock(t, "migrate", "-database-url", urlAs(t, owner), "-schema", schema).want(t, exitOK)
	ownerPool := poolAs(t, owner)
	if _, err := ownerPool.Exec(ctx, grant); err != nil {
		t.Fatalf("the grants as the owner: %v\n%s", err, grant)
	}
	interlock(t, "migrate", "-database-url", urlAs(t, owner), "-schema", schema, "-app-role", ref).want(t, exitOK)

	if diff := cmp.Diff(privileges(t, admin, schema, ref), privileges(t, admin, schema, app)); diff != "" {
		t.Errorf("privileges of the printed grants differ from GrantApp's (-GrantApp +printed):\n%s", diff)
	}
	var owns string
	if err := admin.QueryRow(ctx, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", schema).Scan(&owns); err != nil {
		t.Fatal(err)
	}
	if owns != owner {
		t.Errorf("schema %s is owned by %s, want %s", schema, owns, owner)
	}

	appPool := poolAs(t, app)
	s, err := postgres.New(appPool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "s", Events: []storage.Event{{Type: "t", Actor: "a"}}}}}); err != nil {
		t.Fatalf("the application role cannot append through the store: %v", err)
	}
	for _, stmt := range []string{
		"INSERT INTO " + schema + ".events (position, stream, version, type, actor, time, payload, evidence, prev_hash, hash) VALUES (1, 'x', 1, 't', 'a', now(), 'null', 'null', '\\x00', '\\x00')",
		"UPDATE " + schema + ".events SET actor = 'mallory'",
		"DELETE FROM " + schema + ".events",
		"TRUNCATE " + schema + ".events",
		"ALTER TABLE " + schema + ".events DISABLE TRIGGER events_append_only",
	} {
		_, err := appPool.Exec(ctx, stmt)
		var pe *pgconn.PgError
		// 42501 is insufficient_privilege.
		if !errors.As(err, &pe) || (pe.Code != "42501" && !strings.Contains(pe.Message, "must be owner")) {
			t.Errorf("as the application role, %s: %v; want permission denied (42501)", strings.Fields(stmt)[0], err)
		}
	}
	// Migrations are the owner's: the application role cannot run them.
	r = interlock(t, "migrate", "-database-url", urlAs(t, app), "-schema", schema)
	if r.code != exitError {
		t.Errorf("migrate as the application role: exit %d, want %d\n%s%s", r.code, exitError, r.stdout, r.stderr)
	}
}

// privileges lists what role may do in schema: on the schema, on every
// table and on every function.
func privileges(t *testing.T, admin *pgxpool.Pool, schema, role string) []string {
	t.Helper()
	rows, err := admin.Query(t.Context(), `
		SELECT 'schema ' || p FROM unnest(ARRAY['USAGE','CREATE']) p
		WHERE has_schema_privilege($2, $1, p)
		UNION ALL
		SELECT 'table ' || c.relname || ' ' || p FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
			unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
		WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','S') AND has_table_privilege($2, c.oid, p)
		UNION ALL
		SELECT 'function ' || f.oid::regprocedure::text FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
		WHERE n.nspname = $1 AND has_function_privilege($2, f.oid, 'EXECUTE')
		ORDER BY 1`, schema, role)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("role %s may do nothing in %s", role, schema)
	}
	return out
}

// poolAs is a pool on the test database as role, closed when t ends.
func poolAs(t *testing.T, role string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), urlAs(t, role))
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(t.Context()); err != nil {
		t.Fatal(fmt.Errorf("connect as %s: %w", role, err))
	}
	return pool
}
