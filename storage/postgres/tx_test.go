package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/storagetest"
)

// TestAppendInTheCallersTransaction: the store's appends go inside a
// transaction the caller owns, after its own writes, and commit or roll
// back with them; several appends in one transaction get their own
// positions; an append whose stream a newer transaction wrote first is
// refused without aborting the caller's transaction.
func TestAppendInTheCallersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	orders := pgx.Identifier{schema, "orders"}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE TABLE `+orders+` (id text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	one := func(stream string, v int64) storage.AppendRequest {
		return storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: v,
			Events: []storage.Event{{Type: "order.placed", Actor: "svc"}}}}}
	}
	count := func(id string) int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+orders+` WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Committed together, after the caller's write, two appends.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+orders+` VALUES ('O-1')`); err != nil {
		t.Fatal(err)
	}
	in := s.Tx(tx)
	a, err := in.Append(ctx, one("order/O-1", 0))
	if err != nil {
		t.Fatalf("append after the caller's write: %v", err)
	}
	b, err := in.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "order/O-1", ExpectedVersion: 1,
		Events: []storage.Event{{Type: "order.confirmed", Actor: "svc"}, {Type: "order.noted", Actor: "svc"}}}}})
	if err != nil {
		t.Fatalf("second append in the transaction: %v", err)
	}
	if b.Records[0].Position <= a.Records[0].Position || b.Records[1].Position != b.Records[0].Position+1 {
		t.Errorf("positions %d, then %d and %d; want them after one another", a.Records[0].Position, b.Records[0].Position, b.Records[1].Position)
	}
	if got := load(t, in, "order/O-1"); len(got) != 3 {
		t.Errorf("the transaction reads %d of its own records, want 3", len(got))
	}
	if got := load(t, s, "order/O-1"); len(got) != 0 {
		t.Errorf("outside the transaction, %d records are visible before commit", len(got))
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := load(t, s, "order/O-1"); len(got) != 3 || count("O-1") != 1 {
		t.Errorf("after commit: %d records, %d orders; want 3 and 1", len(got), count("O-1"))
	}

	// Rolled back together.
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+orders+` VALUES ('O-2')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tx(tx).Append(ctx, one("order/O-2", 0)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := load(t, s, "order/O-2"); len(got) != 0 || count("O-2") != 0 {
		t.Errorf("after rollback: %d records, %d orders; want none", len(got), count("O-2"))
	}

	// A newer transaction writes the stream first: refused, and the
	// caller's transaction goes on.
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO `+orders+` VALUES ('O-3')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, one("order/O-3", 0)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Tx(tx).Append(ctx, one("order/O-3", 1))
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("append after a newer transaction wrote the stream: %v; want ErrConflict", err)
	}
	// Any stream: a newer transaction appended first, and readers may
	// have read past this transaction's id (migration 0006).
	if _, err := s.Tx(tx).Append(ctx, one("order/O-4", 0)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("another stream in the same transaction after the refusal: %v; want ErrConflict", err)
	}
	// Retried as a whole, the transaction commits.
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+orders+` VALUES ('O-3')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tx(tx).Append(ctx, one("order/O-4", 0)); err != nil {
		t.Fatalf("the retried transaction: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := load(t, s, "order/O-3"); len(got) != 1 || count("O-3") != 1 || len(load(t, s, "order/O-4")) != 1 {
		t.Errorf("after the refused append: %d records of O-3, %d orders; want 1 and 1, and O-4 written", len(got), count("O-3"))
	}
	if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
		t.Errorf("Verify after appends in callers' transactions: %v", err)
	}
}

// txPerAppend is a store whose every append runs in a transaction of the
// caller's that has written before it (so the append takes the path of an
// append that comes late in its transaction), committed after it.
type txPerAppend struct {
	*postgres.Store
	pool   *pgxpool.Pool
	schema string
}

func (s *txPerAppend) Append(ctx context.Context, req storage.AppendRequest) (storage.AppendResult, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return storage.AppendResult{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The caller's own write first: the transaction has its id before the
	// append takes its locks.
	if _, err := tx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		return storage.AppendResult{}, err
	}
	res, err := s.Store.Tx(tx).Append(ctx, req)
	if err != nil {
		return res, err
	}
	if err := tx.Commit(ctx); err != nil {
		return storage.AppendResult{}, err
	}
	return res, nil
}

// TestConformanceInCallersTransactions runs the conformance suite with
// every append inside a caller's transaction that had its id first.
func TestConformanceInCallersTransactions(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(tb testing.TB) storage.Store {
		pool, schema := pgtest.Pool(tb)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
		if err != nil {
			tb.Fatal(err)
		}
		return &txPerAppend{Store: s, pool: pool, schema: schema}
	})
}
