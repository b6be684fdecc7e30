package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

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
func (a *AuthTrail) Observe(ctx context.Context, e signature.Event) error {
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
