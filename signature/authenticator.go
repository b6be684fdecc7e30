package signature

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Authenticator re-authenticates a person at the moment of signing
// (21 CFR 11.200(a)). It is the seam between signing and identity:
// PasswordAuthenticator is one implementation; a directory-backed one can be
// another.
//
// A signature credential has two components, a user id and a secret. Within
// one continuous session the first signing presents both and starts a
// Session; later signings present the session id and the secret alone, and
// the user id is the session's (11.200(a)(1)(i)). A session ends after an
// idle timeout or EndSession; after that both components are needed again.
// Signing outside a session always presents both (11.200(a)(1)(ii)).
type Authenticator interface {
	// Authenticate checks c and returns the authenticated Session: a new
	// one for a full challenge, the continued one for a session challenge.
	// A refused challenge returns an error for which
	// errors.Is(err, ErrNotAuthenticated) is true, together with the
	// sentinel of its Reason (ErrWrongSecret, ErrLockedOut, …); when the
	// attempt could not be recorded it is refused as well, and
	// errors.Is(err, ErrNotRecorded) is true.
	Authenticate(ctx context.Context, c Challenge) (Session, error)
	// EndSession ends a session at once, so the next signing needs both
	// components. Ending an unknown or already ended session does nothing.
	EndSession(ctx context.Context, id SessionID) error
}

// Challenge is what a person presents to sign. A full challenge has UserID
// and Secret and no Session; a session challenge has Session and Secret, and
// UserID either empty or the session's own.
type Challenge struct {
	UserID  string
	Secret  Secret
	Session SessionID
}

// SessionID names a continuous signing session. It is random and
// unguessable, but it is not a credential: the secret is always required.
type SessionID string

// Session is the outcome of a successful authentication.
type Session struct {
	ID            SessionID
	UserID        string
	PrintedName   string    // the name printed on this user's signatures
	Started       time.Time // when the full authentication that began the session happened
	Authenticated time.Time // when this authentication happened
	Components    int       // credential components presented this time: 2 (full) or 1 (within a session)
}

// Reason says why an authentication was refused. It is recorded with the
// attempt.
type Reason string

// The reasons for a refused authentication.
const (
	ReasonUnknownUser     Reason = "unknown_user"         // no credential has this user id
	ReasonWrongSecret     Reason = "wrong_secret"         // the secret does not match
	ReasonLockedOut       Reason = "locked_out"           // the user is locked out
	ReasonSessionExpired  Reason = "session_expired"      // the session timed out, ended or never existed
	ReasonSessionMismatch Reason = "session_mismatch"     // the user id is not the session's
	ReasonIncomplete      Reason = "incomplete_challenge" // a component is missing
)

// Errors of Authenticate. Every refusal matches ErrNotAuthenticated and
// exactly one of the others.
var (
	ErrNotAuthenticated = errors.New("signature: not authenticated")
	ErrUnknownUser      = errors.New("signature: unknown user")
	ErrWrongSecret      = errors.New("signature: wrong secret")
	ErrLockedOut        = errors.New("signature: user locked out")
	ErrSessionExpired   = errors.New("signature: session expired")
	ErrSessionMismatch  = errors.New("signature: user id is not the session's")
	ErrIncomplete       = errors.New("signature: challenge incomplete")
)

var reasonErrors = map[Reason]error{
	ReasonUnknownUser:     ErrUnknownUser,
	ReasonWrongSecret:     ErrWrongSecret,
	ReasonLockedOut:       ErrLockedOut,
	ReasonSessionExpired:  ErrSessionExpired,
	ReasonSessionMismatch: ErrSessionMismatch,
	ReasonIncomplete:      ErrIncomplete,
}

// AuthError is a refused authentication. A user interface should show
// ReasonUnknownUser and ReasonWrongSecret alike, so as not to tell an
// attacker which user ids exist.
type AuthError struct {
	UserID  string    // as presented, or the session's
	Session SessionID // the session presented, if any
	Reason  Reason
}

// Error names the user, the session if any, and the reason.
func (e *AuthError) Error() string {
	if e.Session != "" {
		return fmt.Sprintf("signature: user %q in session %s not authenticated: %s", e.UserID, e.Session, e.Reason)
	}
	return fmt.Sprintf("signature: user %q not authenticated: %s", e.UserID, e.Reason)
}

// Unwrap returns ErrNotAuthenticated and the sentinel of the reason.
func (e *AuthError) Unwrap() []error {
	return []error{ErrNotAuthenticated, reasonErrors[e.Reason]}
}
