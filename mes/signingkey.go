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
	"github.com/interlock-mes/interlock/signature"
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
		keys, err := SigningKeys(ctx, a.store, a.attest)
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
// the keys that verify the signatures sealed in their time. With
// attestation keys (give the engine's), a key record the engine did not
// attest is an *UnprovenError: a key planted in the database could
// otherwise make forged signatures verify.
func SigningKeys(ctx context.Context, r storage.Reader, attest *audit.Attested) ([]SigningKey, error) {
	recs, err := r.Load(ctx, event.SigningKeyStream, 1)
	if err != nil {
		return nil, fmt.Errorf("mes: load signing keys: %w", err)
	}
	out := make([]SigningKey, 0, len(recs))
	for i := range recs {
		rec := &recs[i]
		if attest != nil {
			if err := attest.Check(rec); err != nil {
				return nil, &UnprovenError{Stream: rec.Stream, Version: rec.Version, Model: "signing key", Reason: err.Error()}
			}
		}
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

// ErrNoKeyInForce: a signature is dated before the first signing key the
// trail records, so no key may verify it.
var ErrNoKeyInForce = errors.New("mes: no signing key was in force when the signature was made")

// keysAt returns the keys of keys (oldest first) that may have sealed a
// signature made at t: the key in force at t and, when t is at a rotation
// within the signature's time precision, the key before it.
func keysAt(keys []SigningKey, t time.Time) []SigningKey {
	var out []SigningKey
	for i, k := range keys {
		from := k.Since.Truncate(signature.TimePrecision)
		if t.Before(from) {
			continue
		}
		if i+1 < len(keys) && t.After(keys[i+1].Since) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// VerifySignaturesWith checks every signature in recs as VerifySignatures
// does, each under the signing key that was in force when it was made
// (keys as SigningKeys returns them): after a rotation, a signature dated
// later that only an old key verifies is refused (signature.ErrBadSeal),
// so a retired key that leaked cannot sign anew; one dated before the
// first key gets ErrNoKeyInForce. A signature made at the instant of a
// rotation, within signature.TimePrecision, may verify under either key.
func VerifySignaturesWith(recs []audit.Record, keys []SigningKey) []SignatureCheck {
	return verifySignatures(recs, func(sig *signature.Signature) ([]SigningKey, error) {
		if sig == nil {
			return nil, fmt.Errorf("%w: no signature", signature.ErrBadSeal)
		}
		at := sig.Manifestation.Time
		cands := keysAt(keys, at)
		if len(cands) == 0 {
			return nil, fmt.Errorf("%w: signed at %s", ErrNoKeyInForce, at.Format(time.RFC3339Nano))
		}
		return cands, nil
	})
}
