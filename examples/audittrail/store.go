package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
)

// openStore returns the store the example keeps its records in: memory, or
// a fresh schema in the Postgres database at url, dropped again on close
// unless keep is set.
func openStore(ctx context.Context, url string, keep bool) (storage.Store, func(), error) {
	if url == "" {
		return memoryStore(), func() {}, nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	schema := "audittrail_" + hex.EncodeToString(suffix)
	if err := postgres.Migrate(ctx, pool, schema); err != nil {
		pool.Close()
		return nil, nil, err
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: fixedClock()})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	fmt.Fprintf(os.Stderr, "audittrail: records in schema %s\n", schema)
	return s, func() {
		if !keep {
			if _, err := pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				fmt.Fprintln(os.Stderr, "audittrail: drop schema:", err)
			}
		}
		pool.Close()
	}, nil
}
