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

func testCheckpoint(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

	t.Run("SaveAndVerify", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.LatestCheckpoint(ctx); !errors.Is(err, storage.ErrNotFound) {
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
		latest, err := s.LatestCheckpoint(ctx)
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
		if _, err := storage.Verify(ctx, s, latest, testKey.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("Verify against the checkpoint: %v", err)
		}
		if err := s.SaveCheckpoint(ctx, cp); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("saving a checkpoint at a stored position: error = %v, want ErrConflict", err)
		}
		cp2, err := storage.Checkpoint(ctx, s, testKey, at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if latest, err := s.LatestCheckpoint(ctx); err != nil || latest.Position != cp2.Position {
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
		if _, err := storage.Verify(ctx, s, cp, other.Public().(ed25519.PublicKey)); !errors.Is(err, audit.ErrBadSignature) {
			t.Errorf("Verify with another key: error = %v, want ErrBadSignature", err)
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
