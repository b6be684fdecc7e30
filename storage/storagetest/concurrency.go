package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

func testConcurrency(t *testing.T, newStore NewStore) {
	t.Run("OneWinnerPerVersion", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const writers, perWriter = 8, 10
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		wins := make([][]int64, writers) // versions each writer won
		for w := range writers {
			wg.Go(func() {
				var version int64
				for len(wins[w]) < perWriter {
					res, err := s.Append(ctx, one("scale-1", version, ev("weighed", `{"writer":`+string(rune('0'+w))+`}`)))
					switch {
					case errors.Is(err, storage.ErrConflict):
						// Someone else took this version: catch up and try again.
						recs, err := s.Load(ctx, "scale-1", version+1)
						if err != nil {
							errs <- err
							return
						}
						version += int64(len(recs))
					case err != nil:
						errs <- err
						return
					default:
						version = res.Records[0].Version
						wins[w] = append(wins[w], version)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("append: %v", err)
		}
		recs := mustLoad(t, s, "scale-1")
		if len(recs) != writers*perWriter {
			t.Fatalf("stream holds %d records, want %d", len(recs), writers*perWriter)
		}
		owner := make(map[int64]int)
		for w, vs := range wins {
			for _, v := range vs {
				if prev, dup := owner[v]; dup {
					t.Errorf("version %d won by writers %d and %d", v, prev, w)
				}
				owner[v] = w
				if want := `{"writer":` + string(rune('0'+w)) + `}`; string(recs[v-1].Payload) != want {
					t.Errorf("version %d holds %s, but writer %d was told it won it", v, recs[v-1].Payload, w)
				}
			}
		}
		if err := audit.VerifyStream(recs); err != nil {
			t.Errorf("chain after concurrent appends: %v", err)
		}
	})

	t.Run("CrossStreamsNoDeadlock", func(t *testing.T) {
		t.Parallel()
		// Appends that touch the same two streams in opposite orders must all
		// finish (with a conflict or a success), never hang.
		s := newStore(t)
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		succeeded := 0
		for w := range 6 {
			wg.Go(func() {
				a, b := "lot-A", "lot-B"
				if w%2 == 1 {
					a, b = b, a
				}
				for range 10 {
					ha, hb := headVersion(t, s, a), headVersion(t, s, b)
					_, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{
						{Stream: a, ExpectedVersion: ha, Events: []storage.Event{ev("moved", `{}`)}},
						{Stream: b, ExpectedVersion: hb, Events: []storage.Event{ev("moved", `{}`)}},
					}})
					if err != nil && !errors.Is(err, storage.ErrConflict) {
						t.Errorf("append: %v", err)
						return
					}
					if err == nil {
						mu.Lock()
						succeeded++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		la, lb := mustLoad(t, s, "lot-A"), mustLoad(t, s, "lot-B")
		if len(la) != succeeded || len(lb) != succeeded {
			t.Errorf("lot-A has %d and lot-B %d records; %d appends succeeded, and each writes both", len(la), len(lb), succeeded)
		}
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("verify: %v", err)
		}
	})
}

func headVersion(tb testing.TB, s storage.Store, stream string) int64 {
	recs, err := s.Load(context.Background(), stream, 1)
	if err != nil {
		tb.Errorf("load %s: %v", stream, err)
		return 0
	}
	return int64(len(recs))
}

func testIdempotency(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	t.Run("RetryReturnsFirstResult", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		req := one("batch-1", 0, ev("step.completed", `{"step":1}`))
		req.IdempotencyKey = "cmd-42"
		first, err := s.Append(ctx, req)
		if err != nil || first.Replayed {
			t.Fatalf("first append: replayed=%v err=%v", first.Replayed, err)
		}
		// The retry after an unknown outcome: same key, same content. Its
		// expected version is stale now; the key must win over the conflict.
		again, err := s.Append(ctx, req)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if !again.Replayed {
			t.Error("retry not marked Replayed")
		}
		if diffRecords(t, first.Records, again.Records) {
			t.Error("retry returned other records than the first append")
		}
		if n := len(mustLoad(t, s, "batch-1")); n != 1 {
			t.Errorf("stream holds %d records after a retry, want 1", n)
		}
		other := one("batch-1", 1, ev("step.completed", `{"step":2}`))
		other.IdempotencyKey = "cmd-42"
		if _, err := s.Append(ctx, other); !errors.Is(err, storage.ErrIdempotencyKeyReused) {
			t.Errorf("other content under a used key: error = %v, want ErrIdempotencyKeyReused", err)
		}
	})
	t.Run("ConcurrentDoubleSubmit", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		req := one("batch-2", 0, ev("batch.started", `{}`))
		req.IdempotencyKey = "cmd-7"
		var wg sync.WaitGroup
		results := make([]storage.AppendResult, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Go(func() { results[i], errs[i] = s.Append(ctx, req) })
		}
		wg.Wait()
		written := 0
		for i, err := range errs {
			switch {
			case err == nil && !results[i].Replayed:
				written++
			case err == nil, errors.Is(err, storage.ErrConflict):
				// A replay, or a submit that lost the race before the key
				// was visible; a retry of it replays.
			default:
				t.Errorf("submit %d: %v", i, err)
			}
		}
		if written != 1 {
			t.Errorf("%d submits wrote, want exactly 1", written)
		}
		if n := len(mustLoad(t, s, "batch-2")); n != 1 {
			t.Errorf("stream holds %d records, want 1", n)
		}
		res, err := s.Append(ctx, req)
		if err != nil || !res.Replayed {
			t.Errorf("a later retry: replayed=%v err=%v, want a replay", res.Replayed, err)
		}
	})
}

func diffRecords(t *testing.T, a, b []audit.Record) bool {
	t.Helper()
	if len(a) != len(b) {
		return true
	}
	for i := range a {
		if a[i].Stream != b[i].Stream || a[i].Version != b[i].Version || a[i].Position != b[i].Position || a[i].Hash != b[i].Hash || !a[i].Time.Equal(b[i].Time) {
			return true
		}
	}
	return false
}
