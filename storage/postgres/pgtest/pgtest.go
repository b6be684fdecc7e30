// Package pgtest gives tests a Postgres database: one rule for every test
// that needs one, in this module and in code that embeds it.
//
// The database is named by INTERLOCK_TEST_DATABASE_URL, such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. When it is unset
// or the server cannot be reached, tests are skipped with a message; under
// CI=true they fail instead, so that a CI run cannot pass by skipping.
//
// # Schemas
//
// Pool gives each test a schema of its own, migrated, and drops it when the
// test ends, so tests run in parallel and leave nothing behind.
//
// # Roles
//
// Roles gives a test the two roles of a least-privilege deployment: an
// owner that ran the migrations, and an application role that was granted
// only what postgres.GrantApp grants. Both are made for the test and
// dropped when it ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage/postgres"
)

// EnvURL is the environment variable that names the test database.
const EnvURL = "INTERLOCK_TEST_DATABASE_URL"

// MaxConns is the size of the pools Pool returns: enough for eight
// concurrent writers and a reader.
const MaxConns = 16

// cleanupTimeout bounds the schema drop at the end of a test.
const cleanupTimeout = 30 * time.Second

// Pool returns a pool on the test database and the name of a schema made
// for this test alone (random, "interlock_test_" and hex), created and
// migrated with postgres.Migrate. The schema is dropped and the pool closed
// when tb ends. It skips tb, or fails it under CI=true, when the database is
// not configured or not reachable.
//
// The pool's sessions run with synchronous_commit off: a commit returns
// before its WAL reaches the disk, which changes nothing a test can observe
// short of a server crash and saves a disk flush per commit. Benchmarks use
// DurablePool.
func Pool(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	return migrated(tb, Connect(tb))
}

// DurablePool is Pool with the server's synchronous_commit setting, so that
// every commit waits for its WAL flush as in production: for benchmarks.
func DurablePool(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	return migrated(tb, connect(tb, true))
}

func migrated(tb testing.TB, pool *pgxpool.Pool) (*pgxpool.Pool, string) {
	tb.Helper()
	schema := Schema(tb, pool)
	if err := postgres.Migrate(tb.Context(), pool, schema); err != nil {
		tb.Fatalf("pgtest: migrate %s: %v", schema, err)
	}
	return pool, schema
}

// Connect returns a pool on the test database, closed when tb ends, without
// making a schema; its sessions run with synchronous_commit off, as Pool's.
// It skips tb, or fails it under CI=true, when the database is not
// configured or not reachable.
func Connect(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return connect(tb, false)
}

func connect(tb testing.TB, durable bool) *pgxpool.Pool {
	tb.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		unavailable(tb, EnvURL+" is not set; set it to a Postgres URL, such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable, to run this test")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	cfg.MaxConns = MaxConns
	if !durable {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(tb.Context(), cfg)
	if err != nil {
		unavailable(tb, "cannot connect to "+EnvURL+": "+err.Error())
	}
	tb.Cleanup(pool.Close)
	if err := pool.Ping(tb.Context()); err != nil {
		unavailable(tb, "cannot reach the database in "+EnvURL+": "+err.Error())
	}
	return pool
}

// Schema returns the name of a new, empty schema for tb alone, dropped with
// everything in it when tb ends.
func Schema(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	var b [8]byte
	rand.Read(b[:])
	schema := "interlock_test_" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("pgtest: create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		// The test's context is done by now; the drop must still run.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.Context()), cleanupTimeout)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// Least is what Roles returns: pools that connect as a schema's owner and
// as an application role with least privilege, and the names.
type Least struct {
	Owner, App         *pgxpool.Pool
	Schema             string
	OwnerRole, AppRole string
}

// Roles makes two login roles for tb alone, a schema owned by the first
// and migrated by it, grants the second what postgres.GrantApp grants, and
// returns pools that connect as each. The pools are closed and the schema
// and roles dropped when tb ends. The test database's URL must name a role
// that may create roles (a superuser, as in CI). It skips tb, or fails it
// under CI=true, when the database is not configured or not reachable.
func Roles(tb testing.TB) Least {
	tb.Helper()
	admin := Connect(tb)
	var b [6]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	l := Least{Schema: "interlock_test_" + suffix, OwnerRole: "interlock_owner_" + suffix, AppRole: "interlock_app_" + suffix}
	ctx := tb.Context()
	for _, stmt := range []string{
		"CREATE ROLE " + l.OwnerRole + " LOGIN",
		"CREATE ROLE " + l.AppRole + " LOGIN",
		"CREATE SCHEMA " + l.Schema + " AUTHORIZATION " + l.OwnerRole,
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			tb.Fatalf("pgtest: %s: %v", stmt, err)
		}
	}
	l.Owner = connectAs(tb, l.OwnerRole)
	l.App = connectAs(tb, l.AppRole)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.Context()), cleanupTimeout)
		defer cancel()
		l.Owner.Close()
		l.App.Close()
		for _, stmt := range []string{
			"DROP SCHEMA " + l.Schema + " CASCADE",
			"DROP OWNED BY " + l.OwnerRole + ", " + l.AppRole,
			"DROP ROLE " + l.AppRole,
			"DROP ROLE " + l.OwnerRole,
		} {
			if _, err := admin.Exec(ctx, stmt); err != nil {
				tb.Errorf("pgtest: %s: %v", stmt, err)
			}
		}
	})
	if err := postgres.Migrate(ctx, l.Owner, l.Schema); err != nil {
		tb.Fatalf("pgtest: migrate %s as %s: %v", l.Schema, l.OwnerRole, err)
	}
	if err := postgres.GrantApp(ctx, l.Owner, l.Schema, l.AppRole); err != nil {
		tb.Fatalf("pgtest: grant %s: %v", l.AppRole, err)
	}
	return l
}

// connectAs is Connect as another role of the test database's server.
func connectAs(tb testing.TB, role string) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(os.Getenv(EnvURL))
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	cfg.MaxConns = MaxConns
	cfg.ConnConfig.User = role
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	pool, err := pgxpool.NewWithConfig(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("pgtest: connect as %s: %v", role, err)
	}
	tb.Cleanup(pool.Close)
	if err := pool.Ping(tb.Context()); err != nil {
		tb.Fatalf("pgtest: connect as %s: %v", role, err)
	}
	return pool
}

func unavailable(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal("pgtest: " + msg)
	}
	tb.Skip("pgtest: " + msg)
}

// WaitForLockWait waits until a statement that names schema waits on a
// lock, so that a test can end its context while the statement is in
// flight rather than before it was sent. It fails tb after ten seconds.
func WaitForLockWait(tb testing.TB, pool *pgxpool.Pool, schema string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`, schema).Scan(&n)
		if err != nil {
			tb.Fatalf("pgtest: look for a lock wait: %v", err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("pgtest: no statement on schema %s waited on a lock within 10 s", schema)
}
