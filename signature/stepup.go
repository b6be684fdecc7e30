package signature

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"
)

// IdentityProvider is an external identity provider's step-up
// authentication: the person re-authenticates at the provider for this
// signing (for OpenID Connect, an authorization request with
// prompt=login and max_age=0) and presents what the provider returned (an
// ID token) as the challenge's secret. Implement it over the site's
// provider; StepUpAuthenticator turns it into an Authenticator.
type IdentityProvider interface {
	// VerifyAssertion checks assertion as the provider's protocol requires
	// (for an ID token: its signature, issuer, audience, expiry and nonce)
	// and returns what it asserts. An assertion that does not verify is an
	// error; an unreachable provider too.
	VerifyAssertion(ctx context.Context, assertion Secret) (Assertion, error)
}

// Assertion is what a verified assertion says about an authentication at
// the provider.
type Assertion struct {
	Subject     string    // the provider's id of the person (OIDC "sub")
	PrintedName string    // the person's full name (OIDC "name")
	AuthTime    time.Time // when the person authenticated at the provider (OIDC "auth_time")
	ID          string    // unique per assertion (OIDC "jti" or the nonce), so that a replay is refused
	Expires     time.Time // after this the assertion is not accepted (OIDC "exp")
	Methods     []string  // how the person authenticated (OIDC "amr"), for the record
}

// StepUpConfig configures a StepUpAuthenticator. Provider, Observer,
// Clock and MaxAge are required.
type StepUpConfig struct {
	Provider IdentityProvider
	// MaxAge is how long before a signing the person may have
	// authenticated at the provider. Keep it short (a minute or two): the
	// authentication is the signing's.
	MaxAge time.Duration
	// UserID maps an assertion's subject to the user id signatures carry;
	// nil uses the subject as it is.
	UserID func(subject string) (string, error)
	// Observer is told of every attempt, as for PasswordAuthenticator.
	Observer Observer
	Clock    Clock
}

// Reasons and errors of StepUpAuthenticator's refusals, beside
// ReasonIncomplete and ReasonSessionExpired.
const (
	ReasonAssertionInvalid Reason = "assertion_invalid" // the provider did not verify the assertion
	ReasonStale            Reason = "stale_authentication"
	ReasonReplayed         Reason = "assertion_replayed"
	ReasonSubjectMismatch  Reason = "subject_mismatch" // the assertion is another person's
)

// Errors of the step-up reasons; each also matches ErrNotAuthenticated.
var (
	ErrAssertionInvalid = errors.New("signature: identity assertion does not verify")
	ErrStale            = errors.New("signature: authentication at the provider is too old for this signing")
	ErrReplayed         = errors.New("signature: identity assertion already used")
	ErrSubjectMismatch  = errors.New("signature: identity assertion is another person's")
)

func init() {
	reasonErrors[ReasonAssertionInvalid] = ErrAssertionInvalid
	reasonErrors[ReasonStale] = ErrStale
	reasonErrors[ReasonReplayed] = ErrReplayed
	reasonErrors[ReasonSubjectMismatch] = ErrSubjectMismatch
}

// maxClockSkew is how far in the future an assertion's authentication
// time may lie, for the provider's clock.
const maxClockSkew = 5 * time.Second

// StepUpAuthenticator is an Authenticator over an external identity
// provider. Every signing steps up: the challenge's Secret is a fresh
// assertion from the provider and its UserID the person signing, so both
// components are presented each time (21 CFR 11.200(a)(1)(ii)) and there
// are no continuous sessions; a session challenge is refused with
// ReasonSessionExpired. An assertion is accepted once, only within its
// expiry, only if the person authenticated at most MaxAge before, and
// only for the user it names. Lockout after failures is the provider's
// business. It is safe for concurrent use.
type StepUpAuthenticator struct {
	cfg  StepUpConfig
	mu   sync.Mutex
	used map[string]time.Time // assertion id → its expiry, until then
}

var _ Authenticator = (*StepUpAuthenticator)(nil)

// NewStepUpAuthenticator returns a StepUpAuthenticator, or an error naming
// the missing or invalid field of cfg.
func NewStepUpAuthenticator(cfg *StepUpConfig) (*StepUpAuthenticator, error) {
	switch {
	case cfg == nil:
		return nil, errors.New("signature: NewStepUpAuthenticator: no config")
	case cfg.Provider == nil:
		return nil, errors.New("signature: StepUpConfig.Provider is nil")
	case cfg.Observer == nil:
		return nil, errors.New("signature: StepUpConfig.Observer is nil: every attempt must be recorded")
	case cfg.Clock == nil:
		return nil, errors.New("signature: StepUpConfig.Clock is nil")
	case cfg.MaxAge <= 0:
		return nil, fmt.Errorf("signature: StepUpConfig.MaxAge is %v, want a positive duration", cfg.MaxAge)
	}
	c := *cfg
	if c.UserID == nil {
		c.UserID = func(s string) (string, error) { return s, nil }
	}
	return &StepUpAuthenticator{cfg: c, used: map[string]time.Time{}}, nil
}

// Authenticate implements Authenticator: it verifies c.Secret with the
// provider and accepts it for c.UserID. Each attempt is reported to the
// Observer as EventAuthenticated or EventFailed; an error of the provider
// other than a refused assertion (such as an unreachable provider) is
// reported as ReasonAssertionInvalid too, since no one was authenticated.
func (a *StepUpAuthenticator) Authenticate(ctx context.Context, c Challenge) (Session, error) {
	now := a.cfg.Clock()
	ev := Event{Time: now, UserID: c.UserID, Session: c.Session, Components: 2}
	if c.Session != "" {
		ev.Components = 1
		return Session{}, a.refuse(ctx, ev, ReasonSessionExpired)
	}
	if c.UserID == "" || c.Secret.IsZero() {
		ev.Components = 0
		return Session{}, a.refuse(ctx, ev, ReasonIncomplete)
	}
	as, err := a.cfg.Provider.VerifyAssertion(ctx, c.Secret)
	if err != nil {
		return Session{}, errors.Join(a.refuse(ctx, ev, ReasonAssertionInvalid), err)
	}
	user, err := a.cfg.UserID(as.Subject)
	switch {
	case err != nil:
		return Session{}, errors.Join(a.refuse(ctx, ev, ReasonSubjectMismatch), err)
	case user != c.UserID:
		return Session{}, a.refuse(ctx, ev, ReasonSubjectMismatch)
	case as.ID == "" || as.PrintedName == "" || as.AuthTime.IsZero() || as.Expires.IsZero() || !now.Before(as.Expires):
		// An assertion without these cannot be judged: not accepted.
		return Session{}, a.refuse(ctx, ev, ReasonAssertionInvalid)
	case now.Sub(as.AuthTime) > a.cfg.MaxAge || as.AuthTime.Sub(now) > maxClockSkew:
		return Session{}, a.refuse(ctx, ev, ReasonStale)
	}
	if !a.claim(as.ID, as.Expires, now) {
		return Session{}, a.refuse(ctx, ev, ReasonReplayed)
	}
	ev.Kind = EventAuthenticated
	ev.Session = SessionID(rand.Text())
	if err := a.observe(ctx, ev); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNotAuthenticated, err)
	}
	return Session{ID: ev.Session, UserID: user, PrintedName: as.PrintedName, Started: as.AuthTime.UTC(),
		Authenticated: now, Components: 2}, nil
}

// claim marks assertion id used until its expiry, and reports whether it
// was unused. Expired ids are forgotten, since they are refused anyway.
func (a *StepUpAuthenticator) claim(id string, expires, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, exp := range a.used {
		if !now.Before(exp) {
			delete(a.used, k)
		}
	}
	if _, ok := a.used[id]; ok {
		return false
	}
	a.used[id] = expires
	return true
}

// EndSession implements Authenticator. There are no sessions to end:
// every signing steps up.
func (a *StepUpAuthenticator) EndSession(context.Context, SessionID) error { return nil }

func (a *StepUpAuthenticator) refuse(ctx context.Context, ev Event, r Reason) error {
	return refuse(ctx, a.cfg.Observer, ev, r)
}

func (a *StepUpAuthenticator) observe(ctx context.Context, ev Event) error {
	return observe(ctx, a.cfg.Observer, ev)
}
