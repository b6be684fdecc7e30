package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// oneEvent is an append of one event to stream at expected, asserting reads.
func oneEvent(stream string, expected int64, payload string, reads ...storage.StreamVersion) storage.AppendRequest {
	return storage.AppendRequest{
		Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: expected, Events: []storage.Event{
			{Type: "step.completed", Actor: "op-17", Payload: json.RawMessage(payload)},
		}}},
		Reads: reads,
	}
}

// TestAppendTakesTransactionIDAfterLocks holds a stream's lock in an open
// append and checks that appends waiting for it, writers and readers, have
// no transaction id yet: they take it, and so their positions, only once
// they hold their locks. Otherwise a writer that took its id early could
// commit below a reader that went ahead of it, and the global order would
// show the read after a version it did not see.
func TestAppendTakesTransactionIDAfterLocks(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	appendN(t, s, "lot-1", 1)
	tests := []struct {
		name     string
		held     int64                 // lot-1 moves from this version in an open append
		req      storage.AppendRequest // waits for the open append
		conflict bool                  // whether req conflicts once the open append commits
	}{
		{"writer of the stream", 1, oneEvent("lot-1", 2, `{}`), false},
		{"reader of the stream", 3, oneEvent("batch-1", 0, `{}`, storage.StreamVersion{Stream: "lot-1", Version: 4}), false},
		{"reader of the version before", 4, oneEvent("batch-2", 0, `{}`, storage.StreamVersion{Stream: "lot-1", Version: 4}), true},
		{"writer of two streams", 5, storage.AppendRequest{Streams: []storage.StreamAppend{
			{Stream: "batch-3", Events: []storage.Event{{Type: "t", Actor: "a"}}},
			{Stream: "lot-1", ExpectedVersion: 5, Events: []storage.Event{{Type: "t", Actor: "a"}}},
		}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			if err := postgres.AppendInTx(ctx, s, tx, oneEvent("lot-1", tt.held, `{}`)); err != nil {
				t.Fatalf("held append: %v", err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.Append(ctx, tt.req)
				done <- err
			}()
			noXID, err := waitForLockWaiter(ctx, pool, schema)
			if err != nil {
				tx.Rollback(ctx)
				<-done
				t.Fatal(err)
			}
			if !noXID {
				t.Error("the append has a transaction id while it waits for a lock")
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			err = <-done
			switch {
			case tt.conflict && !errors.Is(err, storage.ErrConflict):
				t.Errorf("error = %v, want a conflict", err)
			case !tt.conflict && err != nil:
				t.Error(err)
			}
		})
	}
	// Versions ascend with positions, and the read sits after the version
	// it asserted.
	if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
		t.Errorf("Verify: %v", err)
	}
	lot, b1 := load(t, s, "lot-1"), load(t, s, "batch-1")
	if len(lot) != 6 || len(b1) != 1 || b1[0].Position < lot[3].Position || b1[0].Position > lot[4].Position {
		t.Errorf("lot-1 has %d versions and batch-1 %d records (%v); want 6 and one between lot-1 versions 4 and 5", len(lot), len(b1), b1)
	}
}

// waitForLockWaiter polls until an append in schema waits for an advisory
// lock and reports whether it has no transaction id.
func waitForLockWaiter(ctx context.Context, pool *pgxpool.Pool, schema string) (bool, error) {
	for {
		var noXID bool
		err := pool.QueryRow(ctx, `SELECT backend_xid IS NULL FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%' || $1 || '%append%'`, schema).Scan(&noXID)
		if err == nil {
			return noXID, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("no append waits for a lock: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestReadsStayInGlobalOrder runs writers that move a lot and deciders that
// record decisions asserting the lot's version, concurrently: every decision
// that was written lies, in global order, after the version it read and
// before the next one.
func TestReadsStayInGlobalOrder(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const workers, rounds = 3, 15
	type decision struct {
		position int64
		read     int64
	}
	var (
		mu        sync.Mutex
		decisions []decision
		wg        sync.WaitGroup
		errs      = make(chan error, 2*workers)
	)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				v := int64(len(load(t, s, "lot-1")))
				if _, err := s.Append(ctx, oneEvent("lot-1", v, `{}`)); err != nil && !errors.Is(err, storage.ErrConflict) {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			stream := fmt.Sprintf("batch-%d", w)
			for i := int64(0); i < rounds; {
				v := int64(len(load(t, s, "lot-1")))
				res, err := s.Append(ctx, oneEvent(stream, i, fmt.Sprintf(`{"read":%d}`, v), storage.StreamVersion{Stream: "lot-1", Version: v}))
				switch {
				case errors.Is(err, storage.ErrConflict):
					continue
				case err != nil:
					errs <- err
					return
				}
				mu.Lock()
				decisions = append(decisions, decision{res.Records[0].Position, v})
				mu.Unlock()
				i++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lot := load(t, s, "lot-1")
	for _, d := range decisions {
		if d.read > 0 && d.position < lot[d.read-1].Position {
			t.Errorf("decision at %d read lot-1 version %d, which is at %d, after it", d.position, d.read, lot[d.read-1].Position)
		}
		if d.read < int64(len(lot)) && d.position > lot[d.read].Position {
			t.Errorf("decision at %d read lot-1 version %d, but version %d is at %d, before it", d.position, d.read, d.read+1, lot[d.read].Position)
		}
	}
	if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestAppendUnderRepeatableRead shows what an append does in a transaction
// whose snapshot predates the stream's head: one event on one stream
// collides with the version already taken and conflicts; an append that
// needs a fresh snapshot (here for a read) refuses to run.
func TestAppendUnderRepeatableRead(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	appendN(t, s, "batch-1", 1)
	tests := []struct {
		name string
		req  storage.AppendRequest
		code string // SQLSTATE of the raw error
		is   error  // what the store's error matches
	}{
		{"one event", oneEvent("batch-1", 1, `{}`), "23505", storage.ErrConflict},
		{"with a read", oneEvent("batch-2", 0, `{}`, storage.StreamVersion{Stream: "batch-1", Version: 1}), "IL006", nil},
	}
	for _, tt := range tests {
		tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1`); err != nil { // takes the snapshot
			t.Fatal(err)
		}
		moved := appendN(t, s, "batch-1", 1)
		err = postgres.AppendInTx(ctx, s, tx, tt.req)
		tx.Rollback(context.WithoutCancel(ctx))
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != tt.code {
			t.Errorf("%s: error = %v, want SQLSTATE %s", tt.name, err, tt.code)
			continue
		}
		got := postgres.InterpretError(ctx, "append", err, nil)
		if tt.is != nil && !errors.Is(got, tt.is) {
			t.Errorf("%s: store error %v does not match %v", tt.name, got, tt.is)
		}
		var dbErr *postgres.Error
		if tt.is == nil && !errors.As(got, &dbErr) {
			t.Errorf("%s: store error %v is not a *postgres.Error", tt.name, got)
		}
		if recs := load(t, s, "batch-1"); recs[len(recs)-1].Position != moved[0].Position {
			t.Errorf("%s: batch-1 moved past the append made after the snapshot", tt.name)
		}
	}
	if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestConflictNamesActualVersion checks the conflict each function reports
// for a stale expected version, ahead and behind.
func TestConflictNamesActualVersion(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "batch-1", 2)
	two := func(expected int64) storage.AppendRequest {
		req := oneEvent("batch-1", expected, `{}`)
		req.Streams[0].Events = append(req.Streams[0].Events, req.Streams[0].Events[0])
		return req
	}
	tests := []struct {
		name string
		req  storage.AppendRequest
	}{
		{"one event, behind", oneEvent("batch-1", 1, `{}`)},
		{"one event, ahead", oneEvent("batch-1", 5, `{}`)},
		{"two events, behind", two(0)},
		{"two events, ahead", two(3)},
	}
	for _, tt := range tests {
		_, err := s.Append(t.Context(), tt.req)
		var ce *storage.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: error = %v, want a *storage.ConflictError", tt.name, err)
		}
		want := &storage.ConflictError{Stream: "batch-1", Expected: tt.req.Streams[0].ExpectedVersion, Actual: 2}
		if diff := cmp.Diff(want, ce); diff != "" {
			t.Errorf("%s: conflict (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestAppendLocksForManyStreams checks the locks an open append holds: the
// store's lock shared and one lock per stream for up to 64 streams, the
// store's lock alone, exclusively, beyond, so that a large append cannot
// fill Postgres' shared lock table; a one-event append waits for that one.
func TestAppendLocksForManyStreams(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// wide writes streams streams and asserts reads streams absent.
	wide := func(streams, reads int) storage.AppendRequest {
		var req storage.AppendRequest
		for i := range streams {
			req.Streams = append(req.Streams, storage.StreamAppend{Stream: fmt.Sprintf("lot-%d-%d", streams, i), Events: []storage.Event{{Type: "t", Actor: "a"}}})
		}
		for i := range reads {
			req.Reads = append(req.Reads, storage.StreamVersion{Stream: fmt.Sprintf("fact-%d", i)})
		}
		return req
	}
	type locks struct{ Shared, Exclusive int }
	tests := []struct {
		name string
		req  storage.AppendRequest
		want locks
	}{
		{"one event", wide(1, 0), locks{1, 1}},
		{"64 streams", wide(40, 24), locks{25, 40}},
		{"65 streams", wide(40, 25), locks{0, 1}},
		{"4000 streams", wide(1000, 3000), locks{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			if err := postgres.AppendInTx(ctx, s, tx, tt.req); err != nil {
				t.Fatal(err)
			}
			var got locks
			if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE mode = 'ShareLock'), count(*) FILTER (WHERE mode = 'ExclusiveLock')
				FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`).Scan(&got.Shared, &got.Exclusive); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("advisory locks held (-want +got):\n%s", diff)
			}
			if got.Shared > 0 {
				return
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.Append(ctx, oneEvent("batch-1", 0, `{}`))
				done <- err
			}()
			if _, err := waitForLockWaiter(ctx, pool, schema); err != nil {
				tx.Rollback(ctx)
				<-done
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil && !errors.Is(err, storage.ErrConflict) {
				t.Errorf("the append that waited: %v", err)
			}
		})
	}
}
