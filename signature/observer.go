package signature

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Observer is told of every authentication attempt and every change to a
// credential, so that the engine can append them to the audit trail
// (21 CFR 11.300(d), EU GMP Annex 11 §12.4). It is called before the change
// takes effect; if it returns an error the operation fails closed: a refused
// attempt stays refused, a successful one is refused, and an administrative
// change is not made.
type Observer interface {
	Observe(ctx context.Context, e Event) error
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e Event) error

var _ Observer = ObserverFunc(nil)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, e Event) error { return f(ctx, e) }

// EventKind names what happened.
type EventKind string

// The kinds of Event.
const (
	EventAuthenticated     EventKind = "authenticated"         // a challenge succeeded
	EventFailed            EventKind = "authentication_failed" // a challenge was refused; see Reason
	EventLockedOut         EventKind = "locked_out"            // failures reached the limit; follows an EventFailed
	EventUnlocked          EventKind = "unlocked"              // an administrator lifted a lockout
	EventCredentialSet     EventKind = "credential_set"        // an administrator created or reset a credential
	EventCredentialChanged EventKind = "credential_changed"    // the user changed their own secret
	EventSessionEnded      EventKind = "session_ended"         // a session was ended explicitly
)

// Event is one observed fact. It never holds a secret.
type Event struct {
	Kind       EventKind
	Time       time.Time // system time of the attempt or change
	UserID     string    // the user concerned, as presented for an unknown user
	Session    SessionID // the session concerned, if any
	Components int       // for an attempt: credential components presented, 1 or 2; 0 if incomplete
	Reason     Reason    // for EventFailed
	Failures   int       // consecutive failures after this event (EventFailed, EventLockedOut); the count cleared (EventUnlocked)
	By         string    // the administrator who acted, for EventUnlocked and EventCredentialSet
}

// ErrNotRecorded is matched by the error of an operation refused because its
// Observer failed.
var ErrNotRecorded = errors.New("signature: event not recorded")

// NotRecordedError is an Observer failure. It matches ErrNotRecorded and the
// observer's own error.
type NotRecordedError struct {
	Event Event
	Err   error
}

// Error names the event kind, the user and the observer's error.
func (e *NotRecordedError) Error() string {
	return fmt.Sprintf("signature: %s event for user %q not recorded: %v", e.Event.Kind, e.Event.UserID, e.Err)
}

// Unwrap returns ErrNotRecorded and the observer's error.
func (e *NotRecordedError) Unwrap() []error { return []error{ErrNotRecorded, e.Err} }
