package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
)

// openStore returns the store of c and the function that ends it: on
// Postgres it drops the run's schema when c.Drop is set, and closes the
// pool.
func openStore(ctx context.Context, c *Config, log io.Writer) (storage.Store, func() error, error) {
	if c.Store == "memory" {
		return memory.New(nil), func() error { return nil }, nil
	}
	pc, err := pgxpool.ParseConfig(c.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("-database-url: %w", err)
	}
	pc.MaxConns = int32(c.Conns)
	if pc.MaxConns == 0 {
		pc.MaxConns = int32(c.workers() + 2)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	schema := c.Schema
	if schema == "" {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			pool.Close()
			return nil, nil, err
		}
		schema = "loadgen_" + hex.EncodeToString(b)
	}
	if c.Migrate {
		if err := postgres.Migrate(ctx, pool, schema); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("migrate schema %s: %w", schema, err)
		}
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, GroupCommit: postgres.GroupCommit{Off: c.NoGroupCommit}})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	fmt.Fprintf(log, "postgres: schema %s, pool of %d connections, group commit %v\n", schema, pc.MaxConns, !c.NoGroupCommit)
	return s, func() error {
		defer pool.Close()
		if !c.Drop {
			fmt.Fprintf(log, "postgres: schema %s kept\n", schema)
			return nil
		}
		if _, err := pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		fmt.Fprintf(log, "postgres: schema %s dropped\n", schema)
		return nil
	}, nil
}
