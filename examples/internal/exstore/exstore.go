// Package exstore opens the store an example keeps its records in: memory by
// default, or a new schema in a Postgres database, dropped again when the
// example ends unless it is asked to keep it.
package exstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
)

// Open returns a memory store when url is empty, and otherwise a Postgres
// store in a new schema named prefix_<random hex> of the database at url.
// Close drops that schema unless keep is set, and closes the pool; log
// receives the schema's name and any failure to drop it.
func Open(ctx context.Context, url, prefix string, keep bool, clock storage.Clock, log io.Writer) (s storage.Store, closeFn func(), err error) {
	if url == "" {
		return memory.New(&memory.Config{Clock: clock}), func() {}, nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		pool.Close()
		return nil, nil, err
	}
	schema := prefix + "_" + hex.EncodeToString(suffix)
	if err := postgres.Migrate(ctx, pool, schema); err != nil {
		pool.Close()
		return nil, nil, err
	}
	s, err = postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	fmt.Fprintf(log, "%s: records in schema %s\n", prefix, schema)
	return s, func() {
		if !keep {
			if _, err := pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				fmt.Fprintf(log, "%s: drop schema: %v\n", prefix, err)
			}
		}
		pool.Close()
	}, nil
}

// FixedClock ticks one second per call from 2026-11-25 06:00 UTC, so that an
// example prints the same output on every run.
func FixedClock() storage.Clock {
	t := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}
