package mes

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/storage"
)

// SigningKey is a key that sealed electronic signatures from Since on, as
// the trail records it (event.SigningKeyStream).
type SigningKey struct {
	KeyID   string            // audit.KeyID of Public
	Public  ed25519.PublicKey // verifies the signatures it sealed
	Since   time.Time         // the record's time
	By      string            // who put it in force
	Version int64             // the record's version
}

type signingKeyPayload struct {
	KeyID  string `json:"key_id"`
	Public string `json:"public"` // hex
}

// RecordSigningKey records pub as the key that seals signatures from now
// on, unless it is already the key in force: every rotation of the
// signing key is on the trail, once, whoever restarts the service how
// often. by is who put the key in force. It reports whether it recorded
// anything.
func (a *AuthTrail) RecordSigningKey(ctx context.Context, pub ed25519.PublicKey, by string) (bool, error) {
	if len(pub) != ed25519.PublicKeySize {
		return false, fmt.Errorf("mes: RecordSigningKey: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if by == "" {
		return false, errors.New("mes: RecordSigningKey: no one named as putting the key in force")
	}
	for range 20 {
		keys, err := SigningKeys(ctx, a.store)
		if err != nil {
			return false, err
		}
		if n := len(keys); n > 0 && bytes.Equal(keys[n-1].Public, pub) {
			return false, nil
		}
		payload, err := json.Marshal(signingKeyPayload{KeyID: audit.KeyID(pub), Public: hex.EncodeToString(pub)})
		if err != nil {
			return false, err
		}
		req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: event.SigningKeyStream, ExpectedVersion: int64(len(keys)),
			Events: []storage.Event{{Type: event.SigningKeySet, Actor: by, Payload: payload}}}}}
		if err := attestAll(a.attest, &req); err != nil {
			return false, err
		}
		_, err = a.store.Append(ctx, req)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("mes: record signing key: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("mes: record signing key: %s kept changing: %w", event.SigningKeyStream, storage.ErrConflict)
}

// SigningKeys returns every signing key the trail records, oldest first:
// the keys that verify the signatures sealed in their time.
func SigningKeys(ctx context.Context, r storage.Reader) ([]SigningKey, error) {
	recs, err := r.Load(ctx, event.SigningKeyStream, 1)
	if err != nil {
		return nil, fmt.Errorf("mes: load signing keys: %w", err)
	}
	out := make([]SigningKey, 0, len(recs))
	for i := range recs {
		rec := &recs[i]
		var p signingKeyPayload
		if err := json.Unmarshal(rec.Payload, &p); err != nil {
			return nil, fmt.Errorf("mes: %s v%d: %w", rec.Stream, rec.Version, err)
		}
		pub, err := hex.DecodeString(p.Public)
		if err != nil || len(pub) != ed25519.PublicKeySize || audit.KeyID(pub) != p.KeyID {
			return nil, fmt.Errorf("mes: %s v%d: not an ed25519 public key with its id", rec.Stream, rec.Version)
		}
		out = append(out, SigningKey{KeyID: p.KeyID, Public: pub, Since: rec.Time, By: rec.Actor, Version: rec.Version})
	}
	return out, nil
}
