package signature

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Config configures a PasswordAuthenticator. Store and Observer are
// required; a zero value in any other field takes the default documented on
// it.
type Config struct {
	// Store holds the credentials.
	Store CredentialStore
	// Observer is told of every attempt and change; see Observer.
	Observer Observer
	// Clock stamps attempts and measures session idle time. Default time.Now.
	Clock Clock
	// Hash sets the cost of new password hashes. Default
	// DefaultArgon2Params. Existing hashes verify with the parameters they
	// were made with.
	Hash Argon2Params
	// MaxFailures is how many consecutive failed attempts lock a user out.
	// A locked-out user stays locked until an administrator calls Unlock:
	// under GMP a lockout is a security event someone must look at, not a
	// delay an attacker can wait out. Default 5.
	MaxFailures int
	// IdleTimeout ends a signing session that has not been used for this
	// long. Default 15 minutes.
	IdleTimeout time.Duration
	// MinSecretLength is the shortest secret SetCredential and ChangeSecret
	// accept, in bytes. Default 8.
	MinSecretLength int
}

// MaxSecretLength bounds a secret, in bytes.
const MaxSecretLength = 1024

// Default values of Config.
const (
	DefaultMaxFailures     = 5
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultMinSecretLength = 8
)

func (c *Config) withDefaults() (Config, error) {
	if c == nil {
		return Config{}, errors.New("signature: nil Config: Store and Observer are required")
	}
	cfg := *c
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Hash == (Argon2Params{}) {
		cfg.Hash = DefaultArgon2Params()
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MinSecretLength == 0 {
		cfg.MinSecretLength = DefaultMinSecretLength
	}
	switch {
	case cfg.Store == nil:
		return Config{}, errors.New("signature: Config.Store is nil")
	case cfg.Observer == nil:
		return Config{}, errors.New("signature: Config.Observer is nil: failed attempts must be recorded")
	case cfg.MaxFailures < 1:
		return Config{}, fmt.Errorf("signature: Config.MaxFailures %d is below 1", cfg.MaxFailures)
	case cfg.IdleTimeout < 0:
		return Config{}, fmt.Errorf("signature: Config.IdleTimeout %s is negative", cfg.IdleTimeout)
	case cfg.MinSecretLength < 1 || cfg.MinSecretLength > MaxSecretLength:
		return Config{}, fmt.Errorf("signature: Config.MinSecretLength %d is outside 1..%d", cfg.MinSecretLength, MaxSecretLength)
	}
	if err := cfg.Hash.Validate(); err != nil {
		return Config{}, fmt.Errorf("signature: Config.Hash: %w", err)
	}
	return cfg, nil
}

// PasswordAuthenticator is an Authenticator over user ids and passwords
// hashed with argon2id. It counts consecutive failures per user id and locks
// the user out at Config.MaxFailures; it keeps signing sessions in memory,
// so a session lives in one process. It is safe for concurrent use.
type PasswordAuthenticator struct {
	cfg   Config
	dummy PasswordHash // verified against for unknown users, so they cost the same time

	mu       sync.Mutex
	sessions map[SessionID]*session
}

// session is one continuous signing session; lastUsed is guarded by the
// authenticator's mutex, the other fields never change.
type session struct {
	userID   string
	started  time.Time
	lastUsed time.Time
}

var _ Authenticator = (*PasswordAuthenticator)(nil)

// NewPasswordAuthenticator returns an authenticator configured by cfg, or an
// error naming the first invalid field.
func NewPasswordAuthenticator(cfg *Config) (*PasswordAuthenticator, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dummy, err := NewPasswordHash(NewSecret("interlock dummy secret"), c.Hash)
	if err != nil {
		return nil, fmt.Errorf("signature: dummy hash: %w", err)
	}
	return &PasswordAuthenticator{cfg: c, dummy: dummy, sessions: make(map[SessionID]*session)}, nil
}

// Authenticate implements Authenticator. A full challenge that succeeds
// starts a new session; a session challenge that succeeds continues the
// session and restarts its idle time. Each attempt is reported to the
// Observer as EventAuthenticated or EventFailed, and the failure that locks
// a user out is followed by EventLockedOut. Wrong secrets count towards the
// lockout, in a session too; unknown user ids and incomplete challenges do
// not (there is no one to lock). A locked-out user is refused even with the
// right secret, and their sessions end. An error of the Store is returned as
// it is, not reported: it says nothing about the person.
func (a *PasswordAuthenticator) Authenticate(ctx context.Context, c Challenge) (Session, error) {
	now := a.cfg.Clock()
	if c.Session != "" {
		return a.continueSession(ctx, c, now)
	}
	if c.UserID == "" || c.Secret.IsZero() {
		return Session{}, a.refuse(ctx, Event{Time: now, UserID: c.UserID}, ReasonIncomplete)
	}
	ev := Event{Time: now, UserID: c.UserID, Components: 2}
	cred, err := a.check(ctx, ev, c.Secret)
	if err != nil {
		return Session{}, err
	}
	id := SessionID(rand.Text())
	ev.Kind, ev.Session = EventAuthenticated, id
	if err := a.observe(ctx, ev); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNotAuthenticated, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	a.sessions[id] = &session{userID: cred.UserID, started: now, lastUsed: now}
	return Session{ID: id, UserID: cred.UserID, PrintedName: cred.PrintedName, Started: now, Authenticated: now, Components: 2}, nil
}

func (a *PasswordAuthenticator) continueSession(ctx context.Context, c Challenge, now time.Time) (Session, error) {
	ev := Event{Time: now, UserID: c.UserID, Session: c.Session, Components: 1}
	if c.Secret.IsZero() {
		ev.Components = 0
		return Session{}, a.refuse(ctx, ev, ReasonIncomplete)
	}
	a.mu.Lock()
	s, ok := a.sessions[c.Session]
	expired := ok && a.expired(s, now)
	if expired {
		delete(a.sessions, c.Session)
	}
	a.mu.Unlock()
	if !ok || expired {
		if ok {
			ev.UserID = s.userID
		}
		return Session{}, a.refuse(ctx, ev, ReasonSessionExpired)
	}
	if c.UserID != "" && c.UserID != s.userID {
		return Session{}, a.refuse(ctx, ev, ReasonSessionMismatch)
	}
	ev.UserID = s.userID
	cred, err := a.check(ctx, ev, c.Secret)
	if err != nil {
		return Session{}, err
	}
	// The session may have ended or timed out while the hash was computed.
	a.mu.Lock()
	cur, ok := a.sessions[c.Session]
	live := ok && cur == s && !a.expired(s, now)
	if live && now.After(s.lastUsed) { // a concurrent signing may have started later
		s.lastUsed = now
	}
	a.mu.Unlock()
	if !live {
		return Session{}, a.refuse(ctx, ev, ReasonSessionExpired)
	}
	ev.Kind = EventAuthenticated
	if err := a.observe(ctx, ev); err != nil {
		// An unrecorded success must not leave a usable session behind.
		a.mu.Lock()
		delete(a.sessions, c.Session)
		a.mu.Unlock()
		return Session{}, fmt.Errorf("%w: %w", ErrNotAuthenticated, err)
	}
	return Session{ID: c.Session, UserID: s.userID, PrintedName: cred.PrintedName, Started: s.started, Authenticated: now, Components: 1}, nil
}

func (a *PasswordAuthenticator) expired(s *session, now time.Time) bool {
	return now.Sub(s.lastUsed) >= a.cfg.IdleTimeout
}

// sweep drops expired sessions; the caller holds a.mu.
func (a *PasswordAuthenticator) sweep(now time.Time) {
	for id, s := range a.sessions {
		if a.expired(s, now) {
			delete(a.sessions, id)
		}
	}
}

// check verifies secret for ev.UserID, counting and reporting a failure. On
// success it resets the failure count and returns the credential; reporting
// the success is the caller's job.
func (a *PasswordAuthenticator) check(ctx context.Context, ev Event, secret Secret) (Credential, error) {
	cred, err := a.cfg.Store.Load(ctx, ev.UserID)
	if errors.Is(err, ErrNoCredential) {
		a.dummy.Matches(secret)
		return Credential{}, a.refuse(ctx, ev, ReasonUnknownUser)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("signature: load credential %q: %w", ev.UserID, err)
	}
	ok := cred.Hash.Matches(secret)
	var locked, lockedNow bool
	cred, err = a.cfg.Store.Update(ctx, ev.UserID, func(c *Credential) error {
		locked = c.Locked
		switch {
		case c.Locked:
		case ok:
			c.Failures = 0
		default:
			c.Failures++
			if c.Failures >= a.cfg.MaxFailures {
				c.Locked, lockedNow = true, true
			}
		}
		return nil
	})
	if err != nil {
		return Credential{}, fmt.Errorf("signature: update credential %q: %w", ev.UserID, err)
	}
	ev.Failures = cred.Failures
	switch {
	case locked:
		a.endSessionsOf(ev.UserID)
		return Credential{}, a.refuse(ctx, ev, ReasonLockedOut)
	case !ok:
		err := a.refuse(ctx, ev, ReasonWrongSecret)
		if lockedNow {
			a.endSessionsOf(ev.UserID)
			lev := ev
			lev.Kind, lev.Reason, lev.Components = EventLockedOut, "", 0
			if oerr := a.observe(ctx, lev); oerr != nil {
				err = errors.Join(err, oerr)
			}
		}
		return Credential{}, err
	}
	return cred, nil
}

func (a *PasswordAuthenticator) refuse(ctx context.Context, ev Event, r Reason) error {
	return refuse(ctx, a.cfg.Observer, ev, r)
}

func (a *PasswordAuthenticator) observe(ctx context.Context, ev Event) error {
	return observe(ctx, a.cfg.Observer, ev)
}

// refuse reports a failed attempt to o and returns its error, joined with
// the observer's if that failed.
func refuse(ctx context.Context, o Observer, ev Event, r Reason) error {
	ev.Kind, ev.Reason = EventFailed, r
	err := error(&AuthError{UserID: ev.UserID, Session: ev.Session, Reason: r})
	if oerr := observe(ctx, o, ev); oerr != nil {
		return errors.Join(err, oerr)
	}
	return err
}

// observe reports ev to o; an observer's failure is a *NotRecordedError.
func observe(ctx context.Context, o Observer, ev Event) error {
	if err := o.Observe(ctx, ev); err != nil {
		return &NotRecordedError{Event: ev, Err: err}
	}
	return nil
}

func (a *PasswordAuthenticator) endSessionsOf(userID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, s := range a.sessions {
		if s.userID == userID {
			delete(a.sessions, id)
		}
	}
}

// EndSession implements Authenticator. Ending a live session is reported as
// EventSessionEnded; the session ends even if the Observer fails, since
// ending is the safe direction, and the error says it was not recorded.
func (a *PasswordAuthenticator) EndSession(ctx context.Context, id SessionID) error {
	a.mu.Lock()
	s, ok := a.sessions[id]
	delete(a.sessions, id)
	a.mu.Unlock()
	if !ok {
		return nil
	}
	return a.observe(ctx, Event{Kind: EventSessionEnded, Time: a.cfg.Clock(), UserID: s.userID, Session: id})
}

// SetCredential creates the credential of userID, or resets its secret and
// printed name, on behalf of the administrator by (21 CFR 11.300(b),(c)).
// The lockout state is kept: lifting it is Unlock's job. It reports
// EventCredentialSet before storing; if the Observer fails nothing is stored
// and errors.Is(err, ErrNotRecorded) is true.
func (a *PasswordAuthenticator) SetCredential(ctx context.Context, by, userID, printedName string, secret Secret) error {
	if by == "" {
		return errors.New("signature: set credential: no administrator given")
	}
	if err := validateIdentity(userID, printedName); err != nil {
		return fmt.Errorf("signature: set credential: %w", err)
	}
	h, err := a.hashNew(secret)
	if err != nil {
		return fmt.Errorf("signature: set credential %q: %w", userID, err)
	}
	_, err = a.cfg.Store.Load(ctx, userID)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNoCredential) {
		return fmt.Errorf("signature: set credential %q: %w", userID, err)
	}
	if err := a.observe(ctx, Event{Kind: EventCredentialSet, Time: a.cfg.Clock(), UserID: userID, By: by}); err != nil {
		return err
	}
	if !exists {
		err = a.cfg.Store.Create(ctx, Credential{UserID: userID, PrintedName: printedName, Hash: h})
	} else {
		_, err = a.cfg.Store.Update(ctx, userID, func(c *Credential) error {
			c.PrintedName, c.Hash = printedName, h
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("signature: set credential %q: %w", userID, err)
	}
	a.endSessionsOf(userID)
	return nil
}

// ChangeSecret lets a user replace their own secret, presenting both
// components (11.300(b)). A refused challenge counts and is reported as for
// Authenticate. On success it reports EventAuthenticated, then
// EventCredentialChanged, then stores; the user's sessions end.
func (a *PasswordAuthenticator) ChangeSecret(ctx context.Context, userID string, old, secret Secret) error {
	h, err := a.hashNew(secret)
	if err != nil {
		return fmt.Errorf("signature: change secret of %q: %w", userID, err)
	}
	now := a.cfg.Clock()
	ev := Event{Time: now, UserID: userID, Components: 2}
	if userID == "" || old.IsZero() {
		ev.Components = 0
		return a.refuse(ctx, ev, ReasonIncomplete)
	}
	if _, err := a.check(ctx, ev, old); err != nil {
		return err
	}
	ev.Kind = EventAuthenticated
	if err := a.observe(ctx, ev); err != nil {
		return fmt.Errorf("%w: %w", ErrNotAuthenticated, err)
	}
	if err := a.observe(ctx, Event{Kind: EventCredentialChanged, Time: now, UserID: userID}); err != nil {
		return err
	}
	_, err = a.cfg.Store.Update(ctx, userID, func(c *Credential) error {
		if c.Locked {
			return &AuthError{UserID: userID, Reason: ReasonLockedOut}
		}
		c.Hash = h
		return nil
	})
	if err != nil {
		return fmt.Errorf("signature: change secret of %q: %w", userID, err)
	}
	a.endSessionsOf(userID)
	return nil
}

// Unlock lifts the lockout of userID and clears its failure count, on behalf
// of the administrator by. It reports EventUnlocked first; if the Observer
// fails the user stays locked and errors.Is(err, ErrNotRecorded) is true.
func (a *PasswordAuthenticator) Unlock(ctx context.Context, by, userID string) error {
	if by == "" {
		return errors.New("signature: unlock: no administrator given")
	}
	cred, err := a.cfg.Store.Load(ctx, userID)
	if err != nil {
		return fmt.Errorf("signature: unlock %q: %w", userID, err)
	}
	ev := Event{Kind: EventUnlocked, Time: a.cfg.Clock(), UserID: userID, Failures: cred.Failures, By: by}
	if err := a.observe(ctx, ev); err != nil {
		return err
	}
	_, err = a.cfg.Store.Update(ctx, userID, func(c *Credential) error {
		c.Locked, c.Failures = false, 0
		return nil
	})
	if err != nil {
		return fmt.Errorf("signature: unlock %q: %w", userID, err)
	}
	return nil
}

func (a *PasswordAuthenticator) hashNew(secret Secret) (PasswordHash, error) {
	switch n := secret.Len(); {
	case n < a.cfg.MinSecretLength:
		return PasswordHash{}, fmt.Errorf("secret has %d bytes, want at least %d", n, a.cfg.MinSecretLength)
	case n > MaxSecretLength:
		return PasswordHash{}, fmt.Errorf("secret has %d bytes, want at most %d", n, MaxSecretLength)
	}
	return NewPasswordHash(secret, a.cfg.Hash)
}

func validateIdentity(userID, printedName string) error {
	if userID == "" {
		return errors.New("empty user id")
	}
	if err := checkText("user id", userID, MaxIDLength, false); err != nil {
		return err
	}
	if printedName == "" {
		return errors.New("empty printed name")
	}
	return checkText("printed name", printedName, MaxNameLength, false)
}
