package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestFeedNotHeldBackByUnrelatedTransactions: a transaction left open on
// another table of the cluster holds no reader back (ReadAll, Scan,
// Verify and Checkpoint see every committed record), and an append it
// makes afterwards, below what readers returned, is refused as a conflict
// to retry rather than placed where a reader would miss it.
func TestFeedNotHeldBackByUnrelatedTransactions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, schema := pgtest.Pool(t)
	// A short wait: a reader held back would return without the records.
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	other := pgtest.Schema(t, pool)
	if _, err := pool.Exec(ctx, `CREATE TABLE `+other+`.orders (id text)`); err != nil {
		t.Fatal(err)
	}
	open, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Rollback(ctx)
	if _, err := open.Exec(ctx, `INSERT INTO `+other+`.orders VALUES ('O-1')`); err != nil {
		t.Fatal(err)
	}
	appended := appendN(t, s, "batch-1", 3)
	recs, err := s.ReadAll(ctx, 0, 100)
	if err != nil || len(recs) != 3 {
		t.Fatalf("ReadAll with an unrelated transaction open: %d records, %v; want 3", len(recs), err)
	}
	n := 0
	if err := s.Scan(ctx, 0, func(*audit.Record) error { n++; return nil }); err != nil || n != 3 {
		t.Errorf("Scan: %d records, %v; want 3", n, err)
	}
	rep, err := storage.Verify(ctx, s, nil, nil)
	if err != nil || rep.Records != 3 || len(rep.Breaks) != 0 {
		t.Errorf("Verify: %+v, %v; want 3 records and no break", rep, err)
	}
	// The open transaction appends now: readers returned records past its
	// id, so it must retry with a new one.
	if _, err := s.Tx(open).Append(ctx, oneEvent("order/O-1", 0, `{}`)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("a late append below what readers returned: %v; want ErrConflict", err)
	}
	if last := recs[len(recs)-1].Position; last != appended[len(appended)-1].Position {
		t.Errorf("ReadAll's last position %d, the append's %d", last, appended[len(appended)-1].Position)
	}
}

// TestFeedWaitsForAppendsInFlight: an append in flight (in a caller's
// transaction not yet committed) holds back the records of appends that
// took their ids after it, so that no reader passes it: it is returned,
// in position order, once it commits.
func TestFeedWaitsForAppendsInFlight(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// Appended first in tx: its id is taken under the store's lock.
	inflight, err := s.Tx(tx).Append(ctx, oneEvent("order/O-1", 0, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	later := appendN(t, s, "batch-1", 2)
	if later[0].Position <= inflight.Records[0].Position {
		t.Fatalf("the later append's position %d is not above the one in flight, %d", later[0].Position, inflight.Records[0].Position)
	}
	recs, err := s.ReadAll(ctx, 0, 100)
	if err != nil || len(recs) != 0 {
		t.Fatalf("ReadAll with an append in flight below the others: %d records, %v; want none yet", len(recs), err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err = s.ReadAll(ctx, 0, 100)
	if err != nil || len(recs) != 3 || recs[0].Stream != "order/O-1" || recs[1].Stream != "batch-1" {
		t.Fatalf("after the commit: %d records, %v; want order/O-1 then batch-1's two", len(recs), err)
	}
}
