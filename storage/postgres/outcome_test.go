package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestOutcomeUnknownWhenTheDeadlinePassesInFlight plays a caller whose
// deadline passes while its append waits on a lock: the append is told
// ErrOutcomeUnknown, not "nothing was written", because once the lock is
// released the statement may still commit. A retry with the same key then
// returns the one recorded result, whichever way it went.
func TestOutcomeUnknownWhenTheDeadlinePassesInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "batch-1", 1)
	req := storage.AppendRequest{IdempotencyKey: "command/c-2", Streams: []storage.StreamAppend{{
		Stream: "batch-1", ExpectedVersion: 1,
		Events: []storage.Event{{Type: "step.completed", Actor: "op-7", Payload: json.RawMessage(`{"n":2}`)}},
	}}}

	// Another session holds the events table so that no row goes in.
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
		_, err := s.Append(short, req)
		done <- err
	}()
	pgtest.WaitForLockWait(t, pool, schema)
	cancel()
	err = <-done
	if !errors.Is(err, storage.ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) {
		t.Errorf("append whose context ended in flight: %v; want ErrOutcomeUnknown and the deadline", err)
	}
	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Whether or not the first landed, the retry gives one record.
	var res storage.AppendResult
	for range 50 {
		if res, err = s.Append(ctx, req); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || len(res.Records) != 1 || res.Records[0].Version != 2 {
		t.Fatalf("retry with the same key: %+v, %v; want the one record at version 2", res, err)
	}
	again, err := s.Append(ctx, req)
	if err != nil || !again.Replayed || again.Records[0].Hash != res.Records[0].Hash {
		t.Errorf("second retry: %+v, %v; want a replay of the recorded result", again, err)
	}
	if recs := load(t, s, "batch-1"); len(recs) != 2 {
		t.Errorf("batch-1 holds %d records; want 2 (one append, however often retried)", len(recs))
	}
}
