package storagetest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// testKey is a fixed signing key, so that failures reproduce.
var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// trusted trusts testKey alone.
var trusted = mustKeys(testKey.Public().(ed25519.PublicKey))

func mustKeys(pubs ...ed25519.PublicKey) *audit.Keys {
	k, err := audit.NewKeys(pubs...)
	if err != nil {
		panic(err)
	}
	return k
}

func testCheckpoint(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

	t.Run("SaveAndVerify", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.LatestCheckpoint(ctx, trusted); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("LatestCheckpoint of an empty store: error = %v, want ErrNotFound", err)
		}
		mustAppend(t, s, one("lot-1", 0, ev("lot.received", `{}`), ev("lot.released", `{}`)))
		mustAppend(t, s, one("batch-1", 0, ev("batch.created", `{}`)))
		cp, err := storage.Checkpoint(ctx, s, testKey, at)
		if err != nil {
			t.Fatalf("Checkpoint: %v", err)
		}
		heads, err := s.Heads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(heads, cp.Heads); diff != "" {
			t.Errorf("checkpoint heads (-store +checkpoint):\n%s", diff)
		}
		latest, err := s.LatestCheckpoint(ctx, trusted)
		if err != nil {
			t.Fatalf("LatestCheckpoint: %v", err)
		}
		if diff := cmp.Diff(cp, latest); diff != "" {
			t.Errorf("stored checkpoint (-made +loaded):\n%s", diff)
		}
		if err := latest.Verify(testKey.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("stored checkpoint does not verify: %v", err)
		}
		// Later appends do not break verification against the checkpoint.
		mustAppend(t, s, one("lot-1", 2, ev("lot.consumed", `{}`)))
		if _, err := storage.Verify(ctx, s, latest, trusted); err != nil {
			t.Errorf("Verify against the checkpoint: %v", err)
		}
		if err := s.SaveCheckpoint(ctx, cp); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("saving a checkpoint at a stored position: error = %v, want ErrConflict", err)
		}
		cp2, err := storage.Checkpoint(ctx, s, testKey, at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if latest, err := s.LatestCheckpoint(ctx, trusted); err != nil || latest.Position != cp2.Position {
			t.Errorf("LatestCheckpoint after a second one = %v, %v; want position %d", latest, err, cp2.Position)
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustAppend(t, s, one("lot-1", 0, ev("lot.received", `{}`)))
		cp, err := storage.Checkpoint(ctx, s, testKey, at)
		if err != nil {
			t.Fatal(err)
		}
		other := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 1))
		if _, err := storage.Verify(ctx, s, cp, mustKeys(other.Public().(ed25519.PublicKey))); !errors.Is(err, audit.ErrBadSignature) {
			t.Errorf("Verify with another key: error = %v, want ErrBadSignature", err)
		}
	})

	t.Run("Untrusted", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustAppend(t, s, one("lot-1", 0, ev("lot.received", `{}`)))
		cp, err := storage.Checkpoint(ctx, s, testKey, at)
		if err != nil {
			t.Fatal(err)
		}
		// Anyone who can write checkpoints can store one at a higher
		// position, signed by a key of their own.
		mustAppend(t, s, one("lot-1", 1, ev("lot.released", `{}`)))
		other := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 2))
		forged, err := storage.Checkpoint(ctx, s, other, at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if forged.Position <= cp.Position || forged.KeyID == cp.KeyID {
			t.Fatalf("forged checkpoint at %d by %s, trusted one at %d by %s", forged.Position, forged.KeyID, cp.Position, cp.KeyID)
		}
		latest, err := s.LatestCheckpoint(ctx, trusted)
		if err != nil || latest.Position != cp.Position {
			t.Errorf("LatestCheckpoint(trusted) = %v, %v; want the trusted one at %d", latest, err, cp.Position)
		}
		if _, err := storage.Verify(ctx, s, forged, trusted); !errors.Is(err, audit.ErrUntrustedKey) || !errors.Is(err, audit.ErrBadSignature) {
			t.Errorf("Verify against the forged checkpoint: error = %v, want ErrUntrustedKey and ErrBadSignature", err)
		}
		// Rotation: a verifier that trusts both keys takes the newer.
		both := mustKeys(testKey.Public().(ed25519.PublicKey), other.Public().(ed25519.PublicKey))
		if latest, err := s.LatestCheckpoint(ctx, both); err != nil || latest.Position != forged.Position {
			t.Errorf("LatestCheckpoint(both keys) = %v, %v; want position %d", latest, err, forged.Position)
		}
		if _, err := s.LatestCheckpoint(ctx, nil); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("LatestCheckpoint(nil keys): error = %v, want ErrInvalid", err)
		}
		if _, err := s.LatestCheckpoint(ctx, mustKeys(make(ed25519.PublicKey, ed25519.PublicKeySize))); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("LatestCheckpoint(a key that signed nothing): error = %v, want ErrNotFound", err)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		unsigned, err := audit.NewCheckpoint(0, at, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range []*audit.Checkpoint{nil, unsigned} {
			if err := s.SaveCheckpoint(ctx, cp); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("SaveCheckpoint(%v): error = %v, want ErrInvalid", cp, err)
			}
		}
	})
}
