package signature

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewPasswordAuthenticatorConfig(t *testing.T) {
	t.Parallel()
	obs := ObserverFunc(func(context.Context, Event) error { return nil })
	store := &MemoryCredentials{}
	tests := []struct {
		name    string
		cfg     *Config
		wantErr string // a word the message must contain, naming the field
	}{
		{"nil", nil, "Store and Observer"},
		{"no store", &Config{Observer: obs, Hash: cheapParams}, "Store"},
		{"no observer", &Config{Store: store, Hash: cheapParams}, "Observer"},
		{"negative failures", &Config{Store: store, Observer: obs, Hash: cheapParams, MaxFailures: -1}, "MaxFailures"},
		{"negative timeout", &Config{Store: store, Observer: obs, Hash: cheapParams, IdleTimeout: -time.Second}, "IdleTimeout"},
		{"negative min secret", &Config{Store: store, Observer: obs, Hash: cheapParams, MinSecretLength: -1}, "MinSecretLength"},
		{"huge min secret", &Config{Store: store, Observer: obs, Hash: cheapParams, MinSecretLength: MaxSecretLength + 1}, "MinSecretLength"},
		{"bad hash", &Config{Store: store, Observer: obs, Hash: Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 4, KeyLen: 32}}, "Hash"},
	}
	for _, tt := range tests {
		_, err := NewPasswordAuthenticator(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want one naming %s", tt.name, err, tt.wantErr)
		}
	}

	a, err := NewPasswordAuthenticator(&Config{Store: store, Observer: obs, Hash: cheapParams})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{a.cfg.MaxFailures, a.cfg.IdleTimeout, a.cfg.MinSecretLength, a.cfg.Clock != nil}
	want := []any{DefaultMaxFailures, DefaultIdleTimeout, DefaultMinSecretLength, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// step is one attempt in a scenario: move the clock, present a challenge
// (with the session of an earlier step when useSession names it), and check
// the outcome and the events observed.
type step struct {
	name       string
	advance    time.Duration
	challenge  Challenge
	useSession string // name of the earlier step whose session to present
	wantErr    error  // nil for success
	wantEvents func(s Session, sessions map[string]Session) []Event
}

func runSteps(t *testing.T, f *fixture, steps []step) map[string]Session {
	t.Helper()
	sessions := make(map[string]Session)
	for _, st := range steps {
		f.clock.Advance(st.advance)
		c := st.challenge
		if st.useSession != "" {
			c.Session = sessions[st.useSession].ID
		}
		got, err := f.auth.Authenticate(t.Context(), c)
		switch {
		case st.wantErr == nil && err != nil:
			t.Fatalf("%s: Authenticate = %v, want success", st.name, err)
		case st.wantErr != nil && (!errors.Is(err, st.wantErr) || !errors.Is(err, ErrNotAuthenticated)):
			t.Fatalf("%s: Authenticate = %v, want %v", st.name, err, st.wantErr)
		}
		if err == nil {
			sessions[st.name] = got
		}
		if diff := cmp.Diff(st.wantEvents(got, sessions), f.rec.take()); diff != "" {
			t.Fatalf("%s: events (-want +got):\n%s", st.name, diff)
		}
	}
	return sessions
}

func TestContinuousSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	alice := NewSecret(aliceSecret)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []step{
		{name: "first signing needs both components",
			challenge: Challenge{Secret: alice},
			wantErr:   ErrIncomplete,
			wantEvents: func(Session, map[string]Session) []Event {
				return []Event{{Kind: EventFailed, Time: at(0), Reason: ReasonIncomplete}}
			}},
		{name: "full",
			challenge: Challenge{UserID: "alice", Secret: alice},
			wantEvents: func(s Session, _ map[string]Session) []Event {
				return []Event{{Kind: EventAuthenticated, Time: at(0), UserID: "alice", Session: s.ID, Components: 2}}
			}},
		{name: "secret alone within the session", advance: 9 * time.Minute,
			challenge: Challenge{Secret: alice}, useSession: "full",
			wantEvents: func(s Session, _ map[string]Session) []Event {
				return []Event{{Kind: EventAuthenticated, Time: at(9 * time.Minute), UserID: "alice", Session: s.ID, Components: 1}}
			}},
		{name: "use restarts the idle time", advance: 9 * time.Minute,
			challenge: Challenge{UserID: "alice", Secret: alice}, useSession: "full",
			wantEvents: func(s Session, _ map[string]Session) []Event {
				return []Event{{Kind: EventAuthenticated, Time: at(18 * time.Minute), UserID: "alice", Session: s.ID, Components: 1}}
			}},
		{name: "another user id in the session",
			challenge: Challenge{UserID: "bob", Secret: NewSecret(bobSecret)}, useSession: "full",
			wantErr: ErrSessionMismatch,
			wantEvents: func(_ Session, ss map[string]Session) []Event {
				return []Event{{Kind: EventFailed, Time: at(18 * time.Minute), UserID: "bob", Session: ss["full"].ID, Components: 1, Reason: ReasonSessionMismatch}}
			}},
		{name: "session without secret",
			useSession: "full", wantErr: ErrIncomplete,
			wantEvents: func(_ Session, ss map[string]Session) []Event {
				return []Event{{Kind: EventFailed, Time: at(18 * time.Minute), Session: ss["full"].ID, Reason: ReasonIncomplete}}
			}},
		{name: "wrong secret in the session counts",
			challenge: Challenge{Secret: NewSecret(bobSecret)}, useSession: "full",
			wantErr: ErrWrongSecret,
			wantEvents: func(_ Session, ss map[string]Session) []Event {
				return []Event{{Kind: EventFailed, Time: at(18 * time.Minute), UserID: "alice", Session: ss["full"].ID, Components: 1, Reason: ReasonWrongSecret, Failures: 1}}
			}},
		{name: "idle for the timeout ends the session", advance: 10 * time.Minute,
			challenge: Challenge{Secret: alice}, useSession: "full",
			wantErr: ErrSessionExpired,
			wantEvents: func(_ Session, ss map[string]Session) []Event {
				return []Event{{Kind: EventFailed, Time: at(28 * time.Minute), UserID: "alice", Session: ss["full"].ID, Components: 1, Reason: ReasonSessionExpired}}
			}},
		{name: "an expired session stays expired",
			challenge: Challenge{Secret: alice}, useSession: "full",
			wantErr: ErrSessionExpired,
			wantEvents: func(_ Session, ss map[string]Session) []Event {
				return []Event{{Kind: EventFailed, Time: at(28 * time.Minute), Session: ss["full"].ID, Components: 1, Reason: ReasonSessionExpired}}
			}},
		{name: "both components again",
			challenge: Challenge{UserID: "alice", Secret: alice},
			wantEvents: func(s Session, _ map[string]Session) []Event {
				return []Event{{Kind: EventAuthenticated, Time: at(28 * time.Minute), UserID: "alice", Session: s.ID, Components: 2}}
			}},
		{name: "unknown session id",
			challenge: Challenge{Secret: alice, Session: "made-up"},
			wantErr:   ErrSessionExpired,
			wantEvents: func(Session, map[string]Session) []Event {
				return []Event{{Kind: EventFailed, Time: at(28 * time.Minute), Session: "made-up", Components: 1, Reason: ReasonSessionExpired}}
			}},
	}
	ss := runSteps(t, f, steps)

	first, second := ss["full"], ss["both components again"]
	if first.ID == second.ID || first.ID == "" {
		t.Errorf("session ids %q and %q: want two distinct ids", first.ID, second.ID)
	}
	cont := ss["use restarts the idle time"]
	want := Session{ID: first.ID, UserID: "alice", PrintedName: "Alice Analyst", Started: t0, Authenticated: at(18 * time.Minute), Components: 1}
	if diff := cmp.Diff(want, cont); diff != "" {
		t.Errorf("continued session (-want +got):\n%s", diff)
	}

	// EndSession ends it at once and is recorded.
	if err := f.auth.EndSession(t.Context(), second.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.EndSession(t.Context(), second.ID); err != nil {
		t.Fatalf("second EndSession = %v, want nil", err)
	}
	if diff := cmp.Diff([]Event{{Kind: EventSessionEnded, Time: at(28 * time.Minute), UserID: "alice", Session: second.ID}}, f.rec.take()); diff != "" {
		t.Errorf("EndSession events (-want +got):\n%s", diff)
	}
	if _, err := f.auth.Authenticate(t.Context(), Challenge{Session: second.ID, Secret: alice}); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("after EndSession, Authenticate = %v, want ErrSessionExpired", err)
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil) // MaxFailures 3
	ctx := t.Context()
	alice, wrong := NewSecret(aliceSecret), NewSecret("not-alice-secret")
	full := func(s Secret) Challenge { return Challenge{UserID: "alice", Secret: s} }
	failed := func(r Reason, n int) Event {
		return Event{Kind: EventFailed, Time: t0, UserID: "alice", Components: 2, Reason: r, Failures: n}
	}

	sess, err := f.auth.Authenticate(ctx, full(alice))
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()

	attempts := []struct {
		secret  Secret
		wantErr error
	}{
		{wrong, ErrWrongSecret},
		{wrong, ErrWrongSecret},
		{alice, nil}, // a success resets the count
		{wrong, ErrWrongSecret},
		{wrong, ErrWrongSecret},
		{wrong, ErrWrongSecret}, // the third in a row locks
		{alice, ErrLockedOut},   // the right secret no longer helps
		{wrong, ErrLockedOut},
	}
	for i, a := range attempts {
		_, err := f.auth.Authenticate(ctx, full(a.secret))
		if !errors.Is(err, a.wantErr) || (a.wantErr == nil) != (err == nil) {
			t.Fatalf("attempt %d: Authenticate = %v, want %v", i, err, a.wantErr)
		}
	}
	got := f.rec.take()
	// The successful attempt's session id is random; take it from what was seen.
	want := []Event{
		failed(ReasonWrongSecret, 1),
		failed(ReasonWrongSecret, 2),
		{Kind: EventAuthenticated, Time: t0, UserID: "alice", Session: got[2].Session, Components: 2},
		failed(ReasonWrongSecret, 1),
		failed(ReasonWrongSecret, 2),
		failed(ReasonWrongSecret, 3),
		{Kind: EventLockedOut, Time: t0, UserID: "alice", Failures: 3},
		failed(ReasonLockedOut, 3),
		failed(ReasonLockedOut, 3),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}

	// The lockout ended alice's sessions.
	if _, err := f.auth.Authenticate(ctx, Challenge{Session: sess.ID, Secret: alice}); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("session of a locked-out user: Authenticate = %v, want ErrSessionExpired", err)
	}
	// Other users are not affected.
	if _, err := f.auth.Authenticate(ctx, Challenge{UserID: "bob", Secret: NewSecret(bobSecret)}); err != nil {
		t.Errorf("bob: %v", err)
	}
	f.rec.take()

	if err := f.auth.Unlock(ctx, "", "alice"); err == nil {
		t.Error("Unlock without an administrator succeeded")
	}
	if err := f.auth.Unlock(ctx, "qa-admin", "alice"); err != nil {
		t.Fatal(err)
	}
	s, err := f.auth.Authenticate(ctx, full(alice))
	if err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
	want = []Event{
		{Kind: EventUnlocked, Time: t0, UserID: "alice", Failures: 3, By: "qa-admin"},
		{Kind: EventAuthenticated, Time: t0, UserID: "alice", Session: s.ID, Components: 2},
	}
	if diff := cmp.Diff(want, f.rec.take()); diff != "" {
		t.Errorf("events after unlock (-want +got):\n%s", diff)
	}
}

func TestUnknownUserIsReportedButNeverLocked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var want []Event
	for range 5 { // more than MaxFailures
		_, err := f.auth.Authenticate(t.Context(), Challenge{UserID: "mallory", Secret: NewSecret("guess-guess")})
		if !errors.Is(err, ErrUnknownUser) || !errors.Is(err, ErrNotAuthenticated) {
			t.Fatalf("Authenticate = %v, want ErrUnknownUser", err)
		}
		var ae *AuthError
		if !errors.As(err, &ae) || ae.UserID != "mallory" {
			t.Fatalf("error %v: want an *AuthError for mallory", err)
		}
		want = append(want, Event{Kind: EventFailed, Time: t0, UserID: "mallory", Components: 2, Reason: ReasonUnknownUser})
	}
	if diff := cmp.Diff(want, f.rec.take()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := f.store.Load(t.Context(), "mallory"); !errors.Is(err, ErrNoCredential) {
		t.Errorf("an unknown user left a credential behind: %v", err)
	}
}

func TestObserverErrorFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	alice := NewSecret(aliceSecret)
	full := Challenge{UserID: "alice", Secret: alice}
	trailDown := errors.New("audit trail unavailable")
	failOn := func(k EventKind) func(Event) error {
		return func(e Event) error {
			if e.Kind == k {
				return trailDown
			}
			return nil
		}
	}
	isRefusal := func(err error, also ...error) bool {
		for _, e := range append(also, ErrNotAuthenticated, ErrNotRecorded, trailDown) {
			if !errors.Is(err, e) {
				return false
			}
		}
		return true
	}

	t.Run("full success refused and no session left", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.rec.setFail(failOn(EventAuthenticated))
		_, err := f.auth.Authenticate(ctx, full)
		if !isRefusal(err) {
			t.Fatalf("Authenticate = %v, want a refusal that was not recorded", err)
		}
		var nr *NotRecordedError
		if !errors.As(err, &nr) || nr.Event.Session == "" {
			t.Fatalf("error %v: want a *NotRecordedError with the session id", err)
		}
		f.rec.setFail(nil)
		if _, err := f.auth.Authenticate(ctx, Challenge{Session: nr.Event.Session, Secret: alice}); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("the unrecorded session works: %v", err)
		}
	})
	t.Run("session success refused and the session ended", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		s, err := f.auth.Authenticate(ctx, full)
		if err != nil {
			t.Fatal(err)
		}
		f.rec.setFail(failOn(EventAuthenticated))
		if _, err := f.auth.Authenticate(ctx, Challenge{Session: s.ID, Secret: alice}); !isRefusal(err) {
			t.Fatalf("Authenticate = %v, want a refusal that was not recorded", err)
		}
		f.rec.setFail(nil)
		if _, err := f.auth.Authenticate(ctx, Challenge{Session: s.ID, Secret: alice}); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("the session survived an unrecorded success: %v", err)
		}
	})
	t.Run("failure still refused and still counted", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.rec.setFail(failOn(EventFailed))
		bad := Challenge{UserID: "alice", Secret: NewSecret("wrong-wrong")}
		if _, err := f.auth.Authenticate(ctx, bad); !isRefusal(err, ErrWrongSecret) {
			t.Fatalf("Authenticate = %v, want ErrWrongSecret not recorded", err)
		}
		f.rec.setFail(nil)
		if _, err := f.auth.Authenticate(ctx, bad); !errors.Is(err, ErrWrongSecret) {
			t.Fatal(err)
		}
		want := []Event{{Kind: EventFailed, Time: t0, UserID: "alice", Components: 2, Reason: ReasonWrongSecret, Failures: 2}}
		if diff := cmp.Diff(want, f.rec.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("lockout event not recorded", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, func(c *Config) { c.MaxFailures = 1 })
		f.rec.setFail(failOn(EventLockedOut))
		_, err := f.auth.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret("wrong-wrong")})
		if !isRefusal(err, ErrWrongSecret) {
			t.Fatalf("Authenticate = %v, want ErrWrongSecret with the lockout not recorded", err)
		}
		if _, err := f.auth.Authenticate(ctx, full); !errors.Is(err, ErrLockedOut) {
			t.Errorf("Authenticate after lockout = %v, want ErrLockedOut", err)
		}
	})
	t.Run("credential not set", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.rec.setFail(failOn(EventCredentialSet))
		if err := f.auth.SetCredential(ctx, "admin", "carol", "Carol C", NewSecret("carol-secret")); !errors.Is(err, ErrNotRecorded) {
			t.Fatalf("SetCredential = %v, want ErrNotRecorded", err)
		}
		if _, err := f.store.Load(ctx, "carol"); !errors.Is(err, ErrNoCredential) {
			t.Errorf("an unrecorded credential was stored: %v", err)
		}
		if err := f.auth.SetCredential(ctx, "admin", "alice", "Alice Analyst", NewSecret("replaced-secret")); !errors.Is(err, ErrNotRecorded) {
			t.Fatalf("SetCredential = %v, want ErrNotRecorded", err)
		}
		f.rec.setFail(nil)
		if _, err := f.auth.Authenticate(ctx, full); err != nil {
			t.Errorf("an unrecorded reset took effect: %v", err)
		}
	})
	t.Run("unlock not made", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, func(c *Config) { c.MaxFailures = 1 })
		if _, err := f.auth.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret("wrong-wrong")}); !errors.Is(err, ErrWrongSecret) {
			t.Fatal(err)
		}
		f.rec.setFail(failOn(EventUnlocked))
		if err := f.auth.Unlock(ctx, "admin", "alice"); !errors.Is(err, ErrNotRecorded) {
			t.Fatalf("Unlock = %v, want ErrNotRecorded", err)
		}
		f.rec.setFail(nil)
		if _, err := f.auth.Authenticate(ctx, full); !errors.Is(err, ErrLockedOut) {
			t.Errorf("after an unrecorded unlock, Authenticate = %v, want ErrLockedOut", err)
		}
	})
}

func TestSetCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	tests := []struct {
		name                 string
		by, user, printed, s string
		ok                   bool
	}{
		{"new user", "admin", "carol", "Carol Chemist", "carol-secret", true},
		{"reset", "admin", "carol", "Carol C. Chemist", "carol-secret-2", true},
		{"no administrator", "", "dave", "Dave", "dave-secret", false},
		{"no user id", "admin", "", "Nobody", "some-secret", false},
		{"no printed name", "admin", "dave", "", "dave-secret", false},
		{"control character in name", "admin", "dave", "Dave\r\nApproved", "dave-secret", false},
		{"short secret", "admin", "dave", "Dave", "short", false},
		{"long secret", "admin", "dave", "Dave", strings.Repeat("s", MaxSecretLength+1), false},
	}
	for _, tt := range tests {
		err := f.auth.SetCredential(ctx, tt.by, tt.user, tt.printed, NewSecret(tt.s))
		if (err == nil) != tt.ok {
			t.Errorf("%s: SetCredential = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	want := []Event{
		{Kind: EventCredentialSet, Time: t0, UserID: "carol", By: "admin"},
		{Kind: EventCredentialSet, Time: t0, UserID: "carol", By: "admin"},
	}
	if diff := cmp.Diff(want, f.rec.take()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	s, err := f.auth.Authenticate(ctx, Challenge{UserID: "carol", Secret: NewSecret("carol-secret-2")})
	if err != nil {
		t.Fatal(err)
	}
	if s.PrintedName != "Carol C. Chemist" {
		t.Errorf("PrintedName = %q, want the reset one", s.PrintedName)
	}
	c, err := f.store.Load(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprintf("%+v", c), "carol-secret") {
		t.Error("the stored credential holds the secret in clear")
	}
}

func TestChangeSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	sess, err := f.auth.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret(aliceSecret)})
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()

	if err := f.auth.ChangeSecret(ctx, "alice", NewSecret("not-the-old-one"), NewSecret("brand-new-secret")); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("ChangeSecret with a wrong old secret = %v, want ErrWrongSecret", err)
	}
	if err := f.auth.ChangeSecret(ctx, "alice", NewSecret(aliceSecret), NewSecret("short")); err == nil {
		t.Fatal("ChangeSecret to a short secret succeeded")
	}
	if err := f.auth.ChangeSecret(ctx, "alice", NewSecret(aliceSecret), NewSecret("brand-new-secret")); err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Kind: EventFailed, Time: t0, UserID: "alice", Components: 2, Reason: ReasonWrongSecret, Failures: 1},
		{Kind: EventAuthenticated, Time: t0, UserID: "alice", Components: 2},
		{Kind: EventCredentialChanged, Time: t0, UserID: "alice"},
	}
	if diff := cmp.Diff(want, f.rec.take()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := f.auth.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret(aliceSecret)}); !errors.Is(err, ErrWrongSecret) {
		t.Errorf("old secret: Authenticate = %v, want ErrWrongSecret", err)
	}
	if _, err := f.auth.Authenticate(ctx, Challenge{Session: sess.ID, Secret: NewSecret("brand-new-secret")}); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("session from before the change: Authenticate = %v, want ErrSessionExpired", err)
	}
	if _, err := f.auth.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret("brand-new-secret")}); err != nil {
		t.Errorf("new secret: %v", err)
	}
}

// TestDefaultArgon2Params runs the production parameters once, to show they
// are accepted and work end to end.
func TestDefaultArgon2Params(t *testing.T) {
	t.Parallel()
	store := &MemoryCredentials{}
	a, err := NewPasswordAuthenticator(&Config{Store: store, Observer: ObserverFunc(func(context.Context, Event) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := a.SetCredential(ctx, "admin", "alice", "Alice Analyst", NewSecret(aliceSecret)); err != nil {
		t.Fatal(err)
	}
	c, err := store.Load(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultArgon2Params(), c.Hash.Params); diff != "" {
		t.Errorf("hash parameters (-want +got):\n%s", diff)
	}
	if _, err := a.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret(aliceSecret)}); err != nil {
		t.Errorf("Authenticate with default parameters: %v", err)
	}
}

func TestAuthenticateConcurrently(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.MaxFailures = 1000 })
	ctx := t.Context()
	const workers, rounds = 8, 5
	shared, err := f.auth.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret(aliceSecret)})
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	var wg sync.WaitGroup
	errs := make(chan error, 3*workers*(rounds+1))
	for range workers {
		wg.Go(func() { // many signings in one session at once
			for range rounds {
				f.clock.Advance(time.Second)
				if _, err := f.auth.Authenticate(ctx, Challenge{Session: shared.ID, Secret: NewSecret(aliceSecret)}); err != nil {
					errs <- fmt.Errorf("shared session: %v", err)
				}
			}
		})
		wg.Go(func() {
			s, err := f.auth.Authenticate(ctx, Challenge{UserID: "alice", Secret: NewSecret(aliceSecret)})
			if err != nil {
				errs <- err
				return
			}
			for range rounds {
				if _, err := f.auth.Authenticate(ctx, Challenge{Session: s.ID, Secret: NewSecret(aliceSecret)}); err != nil {
					errs <- err
				}
			}
			if err := f.auth.EndSession(ctx, s.ID); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			for range rounds {
				if _, err := f.auth.Authenticate(ctx, Challenge{UserID: "bob", Secret: NewSecret("wrong-wrong")}); !errors.Is(err, ErrWrongSecret) {
					errs <- fmt.Errorf("bob: %v", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	counts := make(map[EventKind]int)
	maxFailures := 0
	for _, e := range f.rec.take() {
		counts[e.Kind]++
		maxFailures = max(maxFailures, e.Failures)
	}
	want := map[EventKind]int{EventAuthenticated: workers * (2*rounds + 1), EventFailed: workers * rounds, EventSessionEnded: workers}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("event counts (-want +got):\n%s", diff)
	}
	c, err := f.store.Load(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if c.Failures != workers*rounds || maxFailures != workers*rounds {
		t.Errorf("bob's failures = %d, highest reported %d; want %d (no lost update)", c.Failures, maxFailures, workers*rounds)
	}
}
