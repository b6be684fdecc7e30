package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// AuthTrail is a signature.Observer that appends every event it is told of
// to the audit trail, in the user's AuthStream. Give it to
// signature.NewPasswordAuthenticator (Config.Observer): an attempt that
// cannot be recorded is then refused, so no signing happens off the record.
// It is safe for concurrent use.
type AuthTrail struct {
	store  storage.Store
	attest *audit.Attested
	engine *Engine // once Gate is called: runs the credential commands
	person *Model
	mu     sync.Mutex
	heads  map[string]int64 // last version seen per stream; a guess, checked by the append
}

// NewAuthTrail returns an AuthTrail over store. With attestation keys
// (give the engine's, Config.Attestation), its records are attested as the
// engine's are; attest may be nil.
func NewAuthTrail(store storage.Store, attest *audit.Attested) (*AuthTrail, error) {
	if store == nil {
		return nil, errors.New("mes: NewAuthTrail: store is nil")
	}
	return &AuthTrail{store: store, attest: attest, heads: map[string]int64{}}, nil
}

// Gate makes every credential change the authenticator reports from now
// on a gated command of person (the site's PersonModel, with its role
// gates) run on e before the change is recorded:
// signature.EventCredentialSet runs CmdSetCredential and
// signature.EventUnlocked CmdUnlockCredential by the administrator,
// signature.EventCredentialChanged CmdChangeSecret by the person. A denied
// command is on the person's record and refuses the change (the
// authenticator then stores nothing, and the error matches ErrDenied); an
// allowed one is what Credentials requires to make the change. e must
// write to the AuthTrail's store. Gate is a method, not an option of
// NewAuthTrail, because the engine's signer needs the authenticator, which
// needs this trail; it may be called once.
func (a *AuthTrail) Gate(e *Engine, person *Model) error {
	if e == nil || person == nil {
		return errors.New("mes: AuthTrail.Gate: engine or person model is nil")
	}
	for _, c := range []Command{CmdSetCredential, CmdUnlockCredential, CmdChangeSecret} {
		if _, err := person.Transition(PersonActive, c); err != nil {
			return fmt.Errorf("mes: AuthTrail.Gate: model %s has no %s from %s: %w", person.Name(), c, PersonActive, err)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.engine != nil {
		return errors.New("mes: AuthTrail.Gate: already gated")
	}
	a.engine, a.person = e, person
	return nil
}

// gate runs the credential command that e reports, if it is one, and
// returns its error.
func (a *AuthTrail) gate(ctx context.Context, e signature.Event) error {
	a.mu.Lock()
	engine, person := a.engine, a.person
	a.mu.Unlock()
	if engine == nil {
		return nil
	}
	var cmd Command
	actor := e.By
	switch e.Kind {
	case signature.EventCredentialSet:
		cmd = CmdSetCredential
	case signature.EventUnlocked:
		cmd = CmdUnlockCredential
	case signature.EventCredentialChanged:
		cmd, actor = CmdChangeSecret, e.UserID
	default:
		return nil
	}
	_, err := engine.Execute(ctx, Request{ID: "credential/" + e.UserID + "/" + uuid.NewString(), Model: person,
		Subject: event.PersonStream(e.UserID), Command: cmd, Actor: actor})
	if err != nil {
		return fmt.Errorf("mes: %s of %s by %s: %w", cmd, e.UserID, actor, err)
	}
	return nil
}

// authEvent is the payload of an authentication event. It never holds a
// secret: signature.Event has none.
type authEvent struct {
	Kind       signature.EventKind `json:"kind"`
	Time       time.Time           `json:"time"`
	UserID     string              `json:"user"`
	Session    signature.SessionID `json:"session,omitempty"`
	Components int                 `json:"components,omitempty"`
	Reason     signature.Reason    `json:"reason,omitempty"`
	Failures   int                 `json:"failures,omitempty"`
	By         string              `json:"by,omitempty"`
}

// Observe implements signature.Observer. The record's actor is the
// administrator for administrative events and the user id otherwise.
//
// Once Gate is called, a credential change is first run as its gated
// command, and a denied one returns that denial without recording the
// event.
func (a *AuthTrail) Observe(ctx context.Context, e signature.Event) error {
	if err := a.gate(ctx, e); err != nil {
		return err
	}
	user := e.UserID
	if user == "" {
		user = "-" // an incomplete challenge named nobody
	}
	actor := user
	if e.By != "" {
		actor = e.By
	}
	payload, err := json.Marshal(authEvent{Kind: e.Kind, Time: e.Time.UTC(), UserID: e.UserID, Session: e.Session,
		Components: e.Components, Reason: e.Reason, Failures: e.Failures, By: e.By})
	if err != nil {
		return fmt.Errorf("mes: encode %s event: %w", e.Kind, err)
	}
	stream := event.AuthStream(user)
	a.mu.Lock()
	head := a.heads[stream]
	a.mu.Unlock()
	for attempt := 0; attempt < 20; attempt++ {
		// Read only what was appended since the last version seen.
		recs, err := a.store.Load(ctx, stream, head+1)
		if err != nil {
			return fmt.Errorf("mes: record %s of %s: %w", e.Kind, user, err)
		}
		if n := len(recs); n > 0 {
			head = recs[n-1].Version
		}
		req := storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: stream, ExpectedVersion: head,
			Events: []storage.Event{{Type: event.AuthPrefix + string(e.Kind), Actor: actor, Payload: payload}},
		}}}
		if err := attestAll(a.attest, &req); err != nil {
			return err
		}
		_, err = a.store.Append(ctx, req)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mes: record %s of %s: %w", e.Kind, user, err)
		}
		a.mu.Lock()
		if a.heads[stream] < head+1 {
			a.heads[stream] = head + 1
		}
		a.mu.Unlock()
		return nil
	}
	return fmt.Errorf("mes: record %s of %s: stream %s kept moving", e.Kind, user, stream)
}
