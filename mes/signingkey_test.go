package mes_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// TestSigningKeyRotationOnTheTrail: the signing key in force is recorded
// once, however often the service starts, and each rotation adds one
// record, attested, listing the keys in order.
func TestSigningKeyRotationOnTheTrail(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		keys := mestest.Attestation()
		trail := mestest.Must[*mes.AuthTrail](t)(mes.NewAuthTrail(s, keys))
		first := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		second := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		for i, c := range []struct {
			pub  ed25519.PublicKey
			want bool
		}{{first, true}, {first, false}, {second, true}, {second, false}} {
			got, err := trail.RecordSigningKey(ctx, c.pub, "admin")
			if err != nil || got != c.want {
				t.Fatalf("start %d: recorded %v, %v; want %v", i, got, err, c.want)
			}
		}
		recorded, err := mes.SigningKeys(ctx, s, keys)
		if err != nil || len(recorded) != 2 || !bytes.Equal(recorded[0].Public, first) || !bytes.Equal(recorded[1].Public, second) ||
			recorded[1].By != "admin" {
			t.Fatalf("keys %+v, %v; want first then second", recorded, err)
		}
		if rep, err := storage.VerifyWith(ctx, s, storage.VerifyConfig{Attestation: keys}); err != nil || rep.Unattested != 0 {
			t.Errorf("the key records are not attested: %v", err)
		}
		if _, err := trail.RecordSigningKey(ctx, first[:5], "admin"); err == nil {
			t.Error("a short key: no error")
		}
		// A key planted around the engine is not a key.
		planted := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		_, err = s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: event.SigningKeyStream, ExpectedVersion: 2,
			Events: []storage.Event{{Type: event.SigningKeySet, Actor: "mallory",
				Payload: []byte(`{"key_id":"` + audit.KeyID(planted) + `","public":"` + hex.EncodeToString(planted) + `"}`)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		var ue *mes.UnprovenError
		if _, err := mes.SigningKeys(ctx, s, keys); !errors.As(err, &ue) || ue.Version != 3 {
			t.Errorf("a planted key record: %v; want an *UnprovenError at v3", err)
		}
	})
}

// anyone is an Authenticator that lets everyone sign: the test below is
// about keys, not people.
type anyone struct{}

func (anyone) Authenticate(_ context.Context, c signature.Challenge) (signature.Session, error) {
	return signature.Session{UserID: c.UserID, PrintedName: "Person " + c.UserID, Components: 2}, nil
}
func (anyone) EndSession(context.Context, signature.SessionID) error { return nil }

// TestSignaturesVerifyUnderTheKeyInForce: after a rotation, a signature is
// checked under the key that was in force when it was made. One the
// retired key seals after the rotation (as with a leaked key) is refused,
// though that key alone would verify it; one dated before the first key
// has no key; one made at the instant of the rotation verifies.
func TestSignaturesVerifyUnderTheKeyInForce(t *testing.T) {
	t.Parallel()
	old := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	cur := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	pubOf := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	first, rotated := mestest.Now, mestest.Now.Add(time.Hour)
	keys := []mes.SigningKey{
		{KeyID: audit.KeyID(pubOf(old)), Public: pubOf(old), Since: first},
		{KeyID: audit.KeyID(pubOf(cur)), Public: pubOf(cur), Since: rotated.Add(300 * time.Nanosecond)}, // within the signatures' time precision
	}
	// signed returns a stream of a transition and its signature, sealed
	// with key at the instant at.
	signed := func(t *testing.T, key ed25519.PrivateKey, at time.Time) []audit.Record {
		t.Helper()
		payload := mestest.Must[[]byte](t)(json.Marshal(event.Transition{CommandID: "c1", Model: "m", ModelVersion: 1, Command: "verify"}))
		signer := mestest.Must[*signature.Signer](t)(signature.NewSigner(&signature.SignerConfig{Authenticator: anyone{}, Key: key,
			Clock: func() time.Time { return at }}))
		sig, _, err := signer.Sign(context.Background(), signature.Request{Challenge: signature.Challenge{UserID: "qa-3"},
			Meaning: signature.Verified, Content: payload, Record: signature.RecordRef{Stream: "batch/B1", Version: 1, Key: "c1"}})
		if err != nil {
			t.Fatal(err)
		}
		sp := mestest.Must[[]byte](t)(json.Marshal(event.Signature{CommandID: "c1", Signs: 1, Signature: sig}))
		return []audit.Record{{Stream: "batch/B1", Version: 1, Type: "step.verified", Payload: payload},
			{Stream: "batch/B1", Version: 2, Type: event.SignatureApplied, Payload: sp}}
	}
	for _, c := range []struct {
		name    string
		key     ed25519.PrivateKey
		at      time.Time
		wantKey string
		wantErr error
	}{
		{"the first key before the rotation", old, rotated.Add(-time.Minute), keys[0].KeyID, nil},
		{"the new key after it", cur, rotated.Add(time.Minute), keys[1].KeyID, nil},
		{"the retired key after it", old, rotated.Add(time.Minute), "", signature.ErrBadSeal},
		{"the new key before it", cur, rotated.Add(-time.Minute), "", signature.ErrBadSeal},
		{"before any key", old, first.Add(-time.Minute), "", mes.ErrNoKeyInForce},
		{"the old key at the rotation", old, rotated, keys[0].KeyID, nil},
		{"the new key at the rotation", cur, rotated, keys[1].KeyID, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			checks := mes.VerifySignaturesWith(signed(t, c.key, c.at), keys)
			if len(checks) != 1 {
				t.Fatalf("%d checks, want 1", len(checks))
			}
			if got := checks[0]; !errors.Is(got.Err, c.wantErr) || (c.wantErr == nil) != (got.Err == nil) || got.KeyID != c.wantKey {
				t.Errorf("verified by %q: %v; want %q, %v", got.KeyID, got.Err, c.wantKey, c.wantErr)
			}
		})
	}
	// The retired key alone verifies what it sealed after the rotation:
	// only the key in force tells it apart.
	if checks := mes.VerifySignatures(signed(t, old, rotated.Add(time.Minute)), pubOf(old)); len(checks) != 1 || checks[0].Err != nil {
		t.Fatalf("the retired key's late seal under that key alone: %+v", checks)
	}
}
