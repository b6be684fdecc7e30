package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/witness"
	"github.com/interlock-mes/interlock/validation/internal/keyfile"
)

// TestBackupCommand backs up a witnessed schema: exit 0, a record that
// says restorable, and a signature over it that verifies under the key's
// public half.
func TestBackupCommand(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	store, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch/B1",
		Events: []storage.Event{{Type: "test.recorded", Actor: "op-7"}}}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cpPub, cpKey, _ := ed25519.GenerateKey(rand.Reader)
	w, _ := witness.NewFile(filepath.Join(dir, "witness.jsonl"))
	if _, err := storage.Checkpoint(t.Context(), store, cpKey, time.Now(), w); err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(hex.EncodeToString(b)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out := filepath.Join(dir, "restore.txt")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-database-url", os.Getenv(pgtest.EnvURL), "-schema", schema, "-witness", filepath.Join(dir, "witness.jsonl"),
		"-trusted-key", write("cp.pub", cpPub), "-key", write("r.key", key.Seed()), "-out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	rec, _ := os.ReadFile(out)
	sig, err := keyfile.Hex(out + ".sig")
	if err != nil || !ed25519.Verify(pub, rec, sig) {
		t.Errorf("the record's signature does not verify (%v)", err)
	}
	if !strings.Contains(string(rec), "verified:    1 records in 1 streams") || !strings.Contains(string(rec), "RESTORABLE") {
		t.Errorf("record:\n%s", rec)
	}
}
