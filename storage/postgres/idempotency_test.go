package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

func keyed(key, stream string, expected int64) storage.AppendRequest {
	return storage.AppendRequest{IdempotencyKey: key, Streams: []storage.StreamAppend{{
		Stream: stream, ExpectedVersion: expected,
		Events: []storage.Event{{Type: "lot.consumed", Actor: "op-17"}, {Type: "step.completed", Actor: "op-17"}},
	}}}
}

// TestRetryAfterUnknownOutcome commits an append whose caller never hears
// back, as when the connection breaks during COMMIT; the retry with the same
// key finds it and returns its records.
func TestRetryAfterUnknownOutcome(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := postgres.AppendInTx(ctx, s, tx, keyed("order-7/step-3", "batch-1", 0)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	res, err := s.Append(ctx, keyed("order-7/step-3", "batch-1", 0))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !res.Replayed {
		t.Error("retry: Replayed = false, want true")
	}
	if diff := cmp.Diff(load(t, s, "batch-1"), res.Records); diff != "" {
		t.Errorf("retry returned other records than the stream holds (-want +got):\n%s", diff)
	}
	other := keyed("order-7/step-3", "batch-1", 2)
	other.Streams[0].Events[0].Type = "lot.scrapped"
	if _, err := s.Append(ctx, other); !errors.Is(err, storage.ErrIdempotencyKeyReused) {
		t.Errorf("same key, other content: error = %v, want ErrIdempotencyKeyReused", err)
	}
}

// TestDoubleSubmit sends one keyed append from several goroutines at once:
// exactly one writes, the others get its records back.
func TestDoubleSubmit(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	results := make([]storage.AppendResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.Append(t.Context(), keyed("scan-42", "batch-1", 0))
		})
	}
	close(start)
	wg.Wait()
	writers := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("submit %d: %v", i, errs[i])
		}
		if !results[i].Replayed {
			writers++
		}
	}
	if writers != 1 {
		t.Errorf("%d submits wrote, want exactly 1", writers)
	}
	stored := load(t, s, "batch-1")
	for i := range n {
		if diff := cmp.Diff(stored, results[i].Records); diff != "" {
			t.Errorf("submit %d records (-stored +got):\n%s", i, diff)
		}
	}
}
