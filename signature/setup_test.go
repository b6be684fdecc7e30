package signature

import (
	"context"
	"crypto/ed25519"
	"sync"
	"testing"
	"time"
)

// cheapParams keep argon2 fast in tests; TestDefaultArgon2Params shows the
// defaults work.
var cheapParams = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: t0} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder is an Observer that keeps every event and fails when told to.
type recorder struct {
	mu     sync.Mutex
	events []Event
	fail   func(Event) error
}

func (r *recorder) Observe(_ context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(e); err != nil {
			return err
		}
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) setFail(f func(Event) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

// take returns the events so far and forgets them.
func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

type fixture struct {
	auth  *PasswordAuthenticator
	rec   *recorder
	clock *testClock
	store *MemoryCredentials
}

const (
	aliceSecret = "alice-correct-horse"
	bobSecret   = "bob-battery-staple"
)

// newFixture returns an authenticator with users alice and bob, cheap
// hashes, MaxFailures 3 and a 10-minute idle timeout, and an empty event
// record. edit, if not nil, changes the config first.
func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	f := &fixture{rec: &recorder{}, clock: newTestClock(), store: &MemoryCredentials{}}
	cfg := &Config{
		Store:       f.store,
		Observer:    f.rec,
		Clock:       f.clock.Now,
		Hash:        cheapParams,
		MaxFailures: 3,
		IdleTimeout: 10 * time.Minute,
	}
	if edit != nil {
		edit(cfg)
	}
	var err error
	if f.auth, err = NewPasswordAuthenticator(cfg); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := f.auth.SetCredential(ctx, "admin", "alice", "Alice Analyst", NewSecret(aliceSecret)); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.SetCredential(ctx, "admin", "bob", "Bob Builder", NewSecret(bobSecret)); err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	return f
}

// testKey is a fixed system key, so examples and golden encodings are stable.
func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed + byte(i)
	}
	return ed25519.NewKeyFromSeed(s)
}
