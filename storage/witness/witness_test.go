package witness_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/witness"
)

var (
	key   = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	other = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	at    = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
)

func keys(t *testing.T, pubs ...ed25519.PrivateKey) *audit.Keys {
	t.Helper()
	var ps []ed25519.PublicKey
	for _, p := range pubs {
		ps = append(ps, p.Public().(ed25519.PublicKey))
	}
	k, err := audit.NewKeys(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func appendOne(t *testing.T, s storage.Store, stream string, expected int64) {
	t.Helper()
	_, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: expected,
		Events: []storage.Event{{Type: "lot.received", Actor: "op-1"}}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFileOutlivesTheStore: the store's own checkpoints are deleted (as
// an attacker with database access could), and the witness still holds
// the newest one, against which verification finds the truncation.
func TestFileOutlivesTheStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	w, err := witness.NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := memory.New(&memory.Config{Clock: func() time.Time { return at }})
	appendOne(t, s, "lot-1", 0)
	appendOne(t, s, "lot-1", 1)
	cp, err := storage.Checkpoint(ctx, s, key, at, w)
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Latest(keys(t, key))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cp, got); diff != "" {
		t.Errorf("witnessed checkpoint (-signed +read):\n%s", diff)
	}
	// A store rebuilt with lot-1 cut short, and no checkpoint: alone it
	// verifies, against the witness it does not.
	rebuilt := memory.New(&memory.Config{Clock: func() time.Time { return at }})
	appendOne(t, rebuilt, "lot-1", 0)
	if _, err := storage.Verify(ctx, rebuilt, nil, nil); err != nil {
		t.Fatalf("rebuilt store alone: %v", err)
	}
	_, err = storage.Verify(ctx, rebuilt, got, keys(t, key))
	var be *audit.BreakError
	if !errors.As(err, &be) || be.Stream != "lot-1" || be.Kind != audit.BreakTruncated {
		t.Errorf("Verify against the witness: %v, want lot-1 truncated", err)
	}
}

func TestFileRefusesRollback(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.jsonl")
	w, _ := witness.NewFile(path)
	s := memory.New(nil)
	appendOne(t, s, "lot-1", 0)
	cp1, err := storage.Checkpoint(ctx, s, key, at)
	if err != nil {
		t.Fatal(err)
	}
	appendOne(t, s, "lot-1", 1)
	cp2, err := storage.Checkpoint(ctx, s, key, at.Add(time.Hour), w)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Witness(ctx, cp2); err != nil {
		t.Errorf("the same checkpoint again: %v", err)
	}
	if err := w.Witness(ctx, cp1); !errors.Is(err, witness.ErrOlder) {
		t.Errorf("an older checkpoint: error = %v, want ErrOlder", err)
	}
	// A new File on the same path knows what the old one wrote.
	w2, _ := witness.NewFile(path)
	if err := w2.Witness(ctx, cp1); !errors.Is(err, witness.ErrOlder) {
		t.Errorf("an older checkpoint, reopened: error = %v, want ErrOlder", err)
	}
	// Signed by a key nobody trusts: kept, but never the latest.
	appendOne(t, s, "lot-1", 2)
	forged, err := storage.Checkpoint(ctx, s, other, at.Add(2*time.Hour), w2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w2.Latest(keys(t, key)); err != nil || got.Position != cp2.Position {
		t.Errorf("Latest(trusted) = %v, %v; want position %d", got, err, cp2.Position)
	}
	if got, err := w2.Latest(keys(t, key, other)); err != nil || got.Position != forged.Position {
		t.Errorf("Latest(both keys) = %v, %v; want position %d", got, err, forged.Position)
	}
	if _, err := w2.Latest(nil); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("Latest(nil): %v, want ErrInvalid", err)
	}
	if err := w2.Witness(ctx, &audit.Checkpoint{Position: 99}); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("unsigned checkpoint: %v, want ErrInvalid", err)
	}
}

func TestFileEditedIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.jsonl")
	if err := os.WriteFile(path, []byte("{\"position\":2}\n{\"position\":1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, _ := witness.NewFile(path)
	if _, err := w.Latest(keys(t, key)); err == nil {
		t.Error("positions out of order: no error")
	}
	if err := os.WriteFile(path, []byte("{\"position\":2,\"extra\":1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Latest(keys(t, key)); err == nil {
		t.Error("unknown field: no error")
	}
	if _, err := witness.NewFile(""); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("NewFile(\"\"): %v, want ErrInvalid", err)
	}
}

// FuzzFile reads arbitrary files: never a panic, and a file that parses
// yields a checkpoint only if it verifies.
func FuzzFile(f *testing.F) {
	f.Add([]byte("{\"position\":1,\"time\":\"2026-11-25T08:00:00Z\",\"heads\":[],\"key_id\":\"x\",\"signature\":\"AA==\"}\n"))
	f.Add([]byte("\n\n{"))
	k, err := audit.NewKeys(key.Public().(ed25519.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "w.jsonl")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		w, _ := witness.NewFile(path)
		cp, err := w.Latest(k)
		if err == nil {
			if verr := k.Verify(cp); verr != nil {
				t.Fatalf("Latest returned a checkpoint that does not verify: %v", verr)
			}
		}
	})
}
