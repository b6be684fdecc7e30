package mes_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestExecuteInTheCallersTransaction: a vendor's own order row and the
// engine's record of the batch it releases commit together, or roll back
// together; a denial inside the transaction is recorded with it and the
// transaction goes on; the engine outside sees only what committed.
func TestExecuteInTheCallersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	clock := mestest.NewClock(mestest.Now)
	env := mestest.NewOn(t, s, clock, nil).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	orders := pgx.Identifier{schema, "vendor_orders"}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE TABLE `+orders+` (id text PRIMARY KEY, batch text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	run := func(id, batchID string, commit bool) {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `INSERT INTO `+orders+` VALUES ($1, $2)`, id, batchID); err != nil {
			t.Fatal(err)
		}
		in := env.Engine.On(s.Tx(tx))
		// Denied inside the transaction: recorded with it, and the
		// transaction is still usable.
		if _, err := in.Execute(ctx, mes.Request{ID: id + "-start", Model: batch, Subject: batchID, Command: mes.CmdStart, Actor: "op-7"}); !hasDenialCode(err, mes.CodeIllegalTransition) {
			t.Fatalf("start before release: %v", err)
		}
		if _, err := in.Execute(ctx, mes.Request{ID: id + "-release", Model: batch, Subject: batchID, Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
			t.Fatalf("release in the transaction: %v", err)
		}
		if st, err := in.State(ctx, batch, batchID, ""); err != nil || st != lifecycle.BatchReady {
			t.Errorf("inside the transaction the batch is %q, %v; want ready", st, err)
		}
		if commit {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	run("PO-1", "batch-T1", true)
	run("PO-2", "batch-T2", false)
	for _, c := range []struct {
		batch string
		want  mes.State
		rows  int
	}{{"batch-T1", lifecycle.BatchReady, 1}, {"batch-T2", lifecycle.BatchPlanned, 0}} {
		if st, err := env.Engine.State(ctx, batch, c.batch, ""); err != nil || st != c.want {
			t.Errorf("%s after its transaction: %q, %v; want %q", c.batch, st, err, c.want)
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+orders+` WHERE batch = $1`, c.batch).Scan(&n); err != nil || n != c.rows {
			t.Errorf("%s: %d vendor orders, %v; want %d", c.batch, n, err, c.rows)
		}
	}
	// A transaction that had its id before another wrote the batch: the
	// conflict comes back at once, and the transaction goes on.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO `+orders+` VALUES ('PO-3', 'batch-T3')`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "T3-release", Model: batch, Subject: "batch-T3", Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Engine.On(s.Tx(tx)).Execute(ctx, mes.Request{ID: "T3-start", Model: batch, Subject: "batch-T3", Command: mes.CmdStart, Actor: "op-7"})
	if !errors.Is(err, storage.ErrConflict) {
		t.Errorf("start in a transaction older than the release: %v; want ErrConflict", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Errorf("commit after the refused command: %v", err)
	}
	if rep, err := storage.VerifyWith(ctx, s, storage.VerifyConfig{Attestation: env.Attestation}); err != nil || rep.Unattested != 0 {
		t.Errorf("VerifyWith after transactions: %v, %+v", err, rep)
	}
}
