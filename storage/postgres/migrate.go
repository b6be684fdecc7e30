package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded SQL file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string // with {schema} still in it
}

// migrations returns the embedded migrations in version order. A file
// whose name does not start with a version is a bug in the package, so it
// is an error rather than skipped.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	out := make([]migration, 0, len(entries))
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("two migrations with version %d", out[i].version)
		}
	}
	return out, nil
}

// Migrate creates schema if needed and applies the embedded migrations it
// lacks, recording each in schema.schema_migrations, all in one
// transaction. It is idempotent, and safe when several processes call it at
// once: it holds a transaction-scoped advisory lock keyed by the schema, so
// one applies and the others then find nothing to do. It returns an error
// naming the schema for a name Postgres cannot hold, ErrNotMigrated never,
// and an *Error or the context's error when the database fails; on error
// nothing is applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if pool == nil {
		return errors.New("postgres: migrate: pool is nil")
	}
	if err := checkSchema(schema); err != nil {
		return fmt.Errorf("postgres: migrate: schema: %w", err)
	}
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	quoted := quoteSchema(schema)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey(schema)); err != nil {
			return err
		}
		// Both statements are safe only under the lock: two concurrent
		// IF NOT EXISTS can still collide on the catalog's unique index.
		// A schema made beforehand for a least-privilege owner (CREATE
		// SCHEMA … AUTHORIZATION) is used as it is: creating it needs
		// CREATE on the database, which such an owner does not hold.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+quoted); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+quoted+`.schema_migrations (
			version integer PRIMARY KEY,
			name text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM `+quoted+`.schema_migrations`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		for _, m := range ms {
			if slices.Contains(applied, int32(m.version)) {
				continue
			}
			// No arguments: pgx sends it with the simple protocol, which
			// allows many statements in one string.
			if _, err := tx.Exec(ctx, strings.ReplaceAll(m.sql, "{schema}", quoted)); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+quoted+`.schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
		}
		// The cluster this runs on may append (migration 0007): after a
		// restore into another cluster, its positions start past the
		// restored ones.
		_, err = tx.Exec(ctx, `SELECT `+quoted+`.register_cluster()`)
		return err
	})
	return interpretError(ctx, "migrate "+schema, err, nil)
}

// migrateLockKey is the advisory lock of schema's migrations, so that
// migrations of different schemas do not wait for each other.
func migrateLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("interlock/migrate/"))
	h.Write([]byte(schema))
	return int64(h.Sum64())
}
