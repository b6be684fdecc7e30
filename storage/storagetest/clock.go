package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/storage"
)

// NewStoreWithClock returns a fresh, empty store whose appends take their
// time from clock, as NewStore does otherwise.
type NewStoreWithClock func(tb testing.TB, clock storage.Clock) storage.Store

// SetClock is a clock a test sets by hand.
type SetClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the time last set.
func (c *SetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set makes Now return t.
func (c *SetClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// RunClock checks that time never runs backwards within a stream: an
// append whose clock reads earlier than a written stream's head is refused
// with a *storage.ClockError naming the stream, and writes nothing; an
// equal time, another stream, or a read-only assertion on the stream is
// not refused.
func RunClock(t *testing.T, newStore NewStoreWithClock) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

	t.Run("Backwards", func(t *testing.T) {
		t.Parallel()
		clock := &SetClock{}
		clock.Set(t0)
		s := newStore(t, clock.Now)
		mustAppend(t, s, one("lot-1", 0, ev("lot.received", `{}`)))
		mustAppend(t, s, one("lot-1", 1, ev("lot.sampled", `{}`))) // same time: allowed

		clock.Set(t0.Add(-time.Hour))
		for _, req := range []storage.AppendRequest{
			one("lot-1", 2, ev("lot.released", `{}`)),
			{Streams: []storage.StreamAppend{
				{Stream: "lot-2", Events: []storage.Event{ev("lot.received", `{}`)}},
				{Stream: "lot-1", ExpectedVersion: 2, Events: []storage.Event{ev("lot.released", `{}`)}},
			}},
			{Streams: []storage.StreamAppend{{Stream: "lot-1", ExpectedVersion: 2, Events: []storage.Event{ev("lot.released", `{}`)}}},
				IdempotencyKey: "k-1", Reads: []storage.StreamVersion{{Stream: "lot-9", Version: 0}}},
		} {
			_, err := s.Append(ctx, req)
			var ce *storage.ClockError
			if !errors.As(err, &ce) || !errors.Is(err, storage.ErrClockBehind) {
				t.Fatalf("append with the clock an hour back: error = %v, want a *storage.ClockError", err)
			}
			if ce.Stream != "lot-1" || !ce.Head.Equal(t0) || !ce.Clock.Equal(t0.Add(-time.Hour)) {
				t.Errorf("ClockError = %+v; want stream lot-1, head %v, clock %v", ce, t0, t0.Add(-time.Hour))
			}
		}
		if v := headVersion(t, s, "lot-1"); v != 2 {
			t.Errorf("lot-1 at version %d after refused appends, want 2", v)
		}
		if v := headVersion(t, s, "lot-2"); v != 0 {
			t.Errorf("lot-2 at version %d after a refused multi-stream append, want 0", v)
		}
		// Other streams, and a read of lot-1, are not held to lot-1's time.
		mustAppend(t, s, storage.AppendRequest{
			Streams: []storage.StreamAppend{{Stream: "lot-3", Events: []storage.Event{ev("lot.received", `{}`)}}},
			Reads:   []storage.StreamVersion{{Stream: "lot-1", Version: 2}},
		})
		// Once the clock passes the head, the stream takes appends again.
		clock.Set(t0.Add(time.Second))
		recs := mustAppend(t, s, one("lot-1", 2, ev("lot.released", `{}`)))
		if !recs[0].Time.Equal(t0.Add(time.Second)) {
			t.Errorf("record time %v, want %v", recs[0].Time, t0.Add(time.Second))
		}
	})
}
