package postgres_test

import (
	"context"
	"crypto/ed25519"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/witness"
)

// A least-privilege deployment: the owner migrates the schema and grants
// the application role, the application appends through the store, and a
// checkpoint, signed with a key kept outside the database, is written to a
// witness; verification reads the witness's newest checkpoint. (Compiled,
// not run: it needs the two roles of the package documentation.)
func Example() {
	ctx := context.Background()
	owner, err := pgxpool.New(ctx, "postgres://interlock_owner@db.example/mes")
	if err != nil {
		log.Fatal(err)
	}
	if err := postgres.Migrate(ctx, owner, "interlock"); err != nil {
		log.Fatal(err)
	}
	if err := postgres.GrantApp(ctx, owner, "interlock", "interlock_app"); err != nil {
		log.Fatal(err)
	}
	owner.Close()

	app, err := pgxpool.New(ctx, "postgres://interlock_app@db.example/mes")
	if err != nil {
		log.Fatal(err)
	}
	store, err := postgres.New(app, &postgres.Config{Schema: "interlock"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "lot/L7",
		Events: []storage.Event{{Type: "lot.received", Actor: "op-7"}}}}}); err != nil {
		log.Fatal(err)
	}

	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // from a vault, never the database
	w, err := witness.NewFile("/mnt/worm/interlock-checkpoints.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := storage.Checkpoint(ctx, store, key, time.Now(), w); err != nil {
		log.Fatal(err)
	}
	trusted, err := audit.NewKeys(key.Public().(ed25519.PublicKey))
	if err != nil {
		log.Fatal(err)
	}
	cp, err := w.Latest(trusted)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := storage.Verify(ctx, store, cp, trusted)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d records verify", rep.Records)
}

// A vendor's own write and the engine's record, committed together: the
// store's Tx view appends inside the caller's transaction, after its own
// writes; mes.Engine.On runs commands on it. (Compiled, not run.)
func ExampleStore_Tx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://interlock_app@db.example/mes")
	if err != nil {
		log.Fatal(err)
	}
	store, err := postgres.New(pool, &postgres.Config{Schema: "interlock"})
	if err != nil {
		log.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO vendor.orders (id, batch) VALUES ('PO-1', 'batch/B1')`); err != nil {
		log.Fatal(err)
	}
	// With an engine: engine.On(store.Tx(tx)).Execute(ctx, req)
	if _, err := store.Tx(tx).Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch/B1",
		Events: []storage.Event{{Type: "batch.planned", Actor: "erp"}}}}}); err != nil {
		log.Fatal(err) // an ErrConflict here means: roll back and run the transaction again
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
}
