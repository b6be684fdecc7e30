package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/outbox"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// broker is a Sink in memory that stores what it acknowledges and can be
// told to fail: to lose the acknowledgement of a message it stored (the
// relay publishes that one again, as after a broker that crashed before
// answering), to refuse a message, or to forget its tail.
type broker struct {
	mu      sync.Mutex
	stored  []audit.Record
	ids     map[string]bool
	calls   int
	failAt  func(call int) (store, fail bool)
	lastErr error
}

func (b *broker) Last(ctx context.Context) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lastErr != nil {
		return 0, b.lastErr
	}
	if len(b.stored) == 0 {
		return 0, nil
	}
	return b.stored[len(b.stored)-1].Position, nil
}

func (b *broker) Publish(ctx context.Context, recs []audit.Record) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range recs {
		b.calls++
		store, fail := true, false
		if b.failAt != nil {
			store, fail = b.failAt(b.calls)
		}
		if store && !b.ids[outbox.ID(&recs[i])] {
			b.ids[outbox.ID(&recs[i])] = true
			b.stored = append(b.stored, recs[i])
		}
		if fail {
			return i, fmt.Errorf("broker: no answer for call %d", b.calls)
		}
	}
	return len(recs), nil
}

func (b *broker) positions() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]int64, len(b.stored))
	for i, r := range b.stored {
		out[i] = r.Position
	}
	return out
}

func appendEvents(t *testing.T, s storage.Store, n int) []int64 {
	t.Helper()
	var out []int64
	versions := map[string]int64{}
	heads, err := s.Heads(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range heads {
		versions[h.Stream] = h.Version
	}
	for i := range n {
		stream := fmt.Sprintf("lot/L-%d", i%3)
		res, err := s.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: stream, ExpectedVersion: versions[stream],
			Events: []storage.Event{{Type: "lot.noted", Actor: "tester", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}},
		}}})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		versions[stream]++
		out = append(out, res.Records[0].Position)
	}
	return out
}

func runRelay(t *testing.T, r *outbox.Relay) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var fast = &outbox.Config{BatchSize: 7, PollInterval: time.Millisecond, MinBackoff: time.Microsecond, MaxBackoff: time.Millisecond}

func TestRelayPublishesEveryRecordOnceInOrder(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	want := appendEvents(t, s, 50)
	b := &broker{ids: map[string]bool{}}
	r, err := outbox.New(s, b, fast)
	if err != nil {
		t.Fatal(err)
	}
	stop := runRelay(t, r)
	want = append(want, appendEvents(t, s, 20)...)
	waitFor(t, "the relay", func() bool { return r.Position() == want[len(want)-1] })
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v; want context.Canceled", err)
	}
	if got := b.positions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("broker holds %v; want %v", got, want)
	}
}

// TestRelayRepublishesWhatWasNotAcknowledged: whenever the broker stores
// a message and loses its acknowledgement, or refuses one, the relay reads
// the cursor again and goes on from there; nothing is lost, and the
// broker's duplicate check is what keeps it once.
func TestRelayRepublishesWhatWasNotAcknowledged(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	want := appendEvents(t, s, 200)
	b := &broker{ids: map[string]bool{}, failAt: func(call int) (bool, bool) {
		switch call % 5 {
		case 1:
			return true, true // stored, acknowledgement lost
		case 3:
			return false, true // refused
		}
		return true, false
	}}
	r, err := outbox.New(s, b, fast)
	if err != nil {
		t.Fatal(err)
	}
	stop := runRelay(t, r)
	waitFor(t, "the relay", func() bool { return r.Position() == want[len(want)-1] })
	stop()
	if got := b.positions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("broker holds %v; want %v", got, want)
	}
}

// TestRelayFollowsTheBrokersCursor: a broker that comes back with fewer
// messages than it acknowledged gets the lost tail again.
func TestRelayFollowsTheBrokersCursor(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	want := appendEvents(t, s, 30)
	b := &broker{ids: map[string]bool{}}
	r, err := outbox.New(s, b, fast)
	if err != nil {
		t.Fatal(err)
	}
	stop := runRelay(t, r)
	waitFor(t, "the relay", func() bool { return r.Position() == want[len(want)-1] })
	// The broker loses its last ten messages and fails the next publish.
	b.mu.Lock()
	for _, rec := range b.stored[20:] {
		delete(b.ids, outbox.ID(&rec))
	}
	b.stored = b.stored[:20]
	calls := b.calls
	b.failAt = func(call int) (bool, bool) { return call != calls+1, call == calls+1 }
	b.mu.Unlock()
	want = append(want, appendEvents(t, s, 5)...)
	waitFor(t, "the relay", func() bool { return r.Position() == want[len(want)-1] })
	stop()
	if got := b.positions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("broker holds %v; want %v", got, want)
	}
}

func TestRelayStopsOnPermanentError(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	appendEvents(t, s, 3)
	lost := fmt.Errorf("cursor gone: %w", outbox.ErrPermanent)
	b := &broker{ids: map[string]bool{}, lastErr: lost}
	r, err := outbox.New(s, b, fast)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(t.Context()); !errors.Is(err, lost) {
		t.Errorf("Run: %v; want %v", err, lost)
	}
	b.lastErr = nil
	b.failAt = func(int) (bool, bool) { return false, false }
	permanent := &permanentSink{}
	r, err = outbox.New(s, permanent, fast)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(t.Context()); !errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("Run: %v; want ErrPermanent", err)
	}
}

type permanentSink struct{}

func (permanentSink) Last(context.Context) (int64, error) { return 0, nil }
func (permanentSink) Publish(context.Context, []audit.Record) (int, error) {
	return 0, fmt.Errorf("too large: %w", outbox.ErrPermanent)
}

func TestRelayRunsOnce(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	want := appendEvents(t, s, 1)
	r, err := outbox.New(s, &broker{ids: map[string]bool{}}, fast)
	if err != nil {
		t.Fatal(err)
	}
	stop := runRelay(t, r)
	defer stop()
	waitFor(t, "the relay", func() bool { return r.Position() == want[0] })
	if err := r.Run(t.Context()); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("a second Run: %v; want an error at once", err)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	s, b := memory.New(nil), &broker{}
	for name, c := range map[string]struct {
		reader storage.Reader
		sink   outbox.Sink
		cfg    *outbox.Config
	}{
		"reader":              {nil, b, nil},
		"sink":                {s, nil, nil},
		"Config.BatchSize":    {s, b, &outbox.Config{BatchSize: -1}},
		"Config.BatchSize ":   {s, b, &outbox.Config{BatchSize: outbox.MaxBatchSize + 1}},
		"Config.PollInterval": {s, b, &outbox.Config{PollInterval: -time.Second}},
		"Config.MinBackoff":   {s, b, &outbox.Config{MinBackoff: -1}},
		"Config.MaxBackoff":   {s, b, &outbox.Config{MaxBackoff: -1}},
		"Config.MinBackoff ":  {s, b, &outbox.Config{MinBackoff: time.Minute}},
	} {
		_, err := outbox.New(c.reader, c.sink, c.cfg)
		if !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s: New: %v; want ErrInvalid", name, err)
			continue
		}
		if field := name[:len(name)-len(" ")*boolInt(name[len(name)-1] == ' ')]; !contains(err.Error(), field) {
			t.Errorf("New: %q does not name %s", err, field)
		}
	}
	if _, err := outbox.New(s, b, nil); err != nil {
		t.Errorf("New with defaults: %v", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
