package mes_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestExecuteOutcomeUnknown: on Postgres, a command whose deadline passes
// while its append waits on a lock is answered ErrOutcomeUnknown, never
// "nothing was decided"; submitted again with the same id once the lock is
// gone, it returns the one recorded result.
func TestExecuteOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	env := mestest.NewOn(t, s, mestest.NewClock(mestest.Now), nil)
	// No people are recorded: the lifecycle's role gates are not what
	// this test is about.
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch(lifecycle.WithoutRoles()))
	req := mes.Request{ID: "release-B1", Model: batch, Subject: "batch-B1", Command: mes.CmdRelease, Actor: "op-7"}

	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(ctx, `LOCK TABLE `+pgx.Identifier{schema, "events"}.Sanitize()+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// The context ends while the append waits on the lock: in flight,
	// not before it was sent.
	short, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := env.Engine.Execute(short, req)
		done <- err
	}()
	pgtest.WaitForLockWait(t, pool, schema)
	cancel()
	err = <-done
	if !errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Errorf("command whose context ended in flight: %v; want storage.ErrOutcomeUnknown", err)
	}
	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var out *mes.Outcome
	for range 50 {
		if out, err = env.Engine.Execute(ctx, req); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || !out.Allowed || out.To != lifecycle.BatchReady {
		t.Fatalf("retry: %+v, %v; want the release recorded", out, err)
	}
	recs := mestest.Must[[]audit.Record](t)(env.Engine.Records(ctx, "batch-B1"))
	if len(recs) != 1 {
		t.Errorf("batch-B1 holds %d records; want the one release, however often submitted", len(recs))
	}
}
