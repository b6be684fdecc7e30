package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/witness"
)

// attestationKey returns an attestation key set with one random key, and
// its id:hexkey text.
func attestationKey(t *testing.T, id string) (*audit.Attested, string) {
	t.Helper()
	key := make([]byte, audit.MinAttestKey)
	rand.Read(key)
	a, err := audit.NewAttester(id, key)
	if err != nil {
		t.Fatal(err)
	}
	set, err := audit.NewAttested(a)
	if err != nil {
		t.Fatal(err)
	}
	return set, id + ":" + hex.EncodeToString(key)
}

// TestVerify writes a plant through an attesting engine, signs a
// checkpoint into a witness file, and verifies: intact (0) under the right
// keys; broken (1) under an attestation key the engine did not use; and,
// after one row is edited in SQL behind the triggers, broken (1) naming
// the row's stream and version.
func TestVerify(t *testing.T) {
	t.Parallel()
	store, pool, schema := storeOn(t)
	attested, entry := attestationKey(t, "ops-1")
	clock := mestest.NewClock(mestest.Now)
	plant(t, mestest.NewOn(t, store, clock, &mes.Config{Attestation: attested}))

	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wpath := filepath.Join(dir, "witness.jsonl")
	w, err := witness.NewFile(wpath)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := storage.Checkpoint(t.Context(), store, priv, mestest.Now, w)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "attestation.keys")
	if err := os.WriteFile(keyFile, []byte("# the engine's key\n"+entry+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"verify", "-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait, "-witness", wpath, "-trusted-key", hex.EncodeToString(pub)}

	r := interlock(t, append(base, "-attestation-key-file", keyFile)...)
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, "intact:") || strings.Contains(r.stdout, "BROKEN") {
		t.Errorf("an intact record is not reported intact:\n%s", r.stdout)
	}
	if want := "checkpoint at position " + itoa(cp.Position); !strings.Contains(r.stdout, want) {
		t.Errorf("the report does not name the witnessed checkpoint (%q):\n%s", want, r.stdout)
	}

	// The same keys from an environment variable.
	withEnv(t, map[string]string{"OPS_KEYS": entry}, append(base, "-attestation-key-env", "OPS_KEYS")...).want(t, exitOK)

	// Every record is attested by ops-1, so a verifier that trusts only
	// another key finds every one unattested.
	_, other := attestationKey(t, "ops-2")
	r = interlock(t, append(base, "-attestation-key", other)...)
	r.want(t, exitBroken)
	if !strings.Contains(r.stdout, string(audit.BreakUnattested)) {
		t.Errorf("records attested by another key are not reported %s:\n%s", audit.BreakUnattested, r.stdout)
	}

	// A DBA edits who did something, behind the append-only trigger.
	tamper(t, pool, schema, `UPDATE {s}.events SET actor = 'someone-else' WHERE stream = 'batch/B-1' AND version = 1`)
	r = interlock(t, append(base, "-attestation-key-file", keyFile)...)
	r.want(t, exitBroken)
	if want := `BROKEN stream "batch/B-1" version 1 `; !strings.Contains(r.stdout, want) {
		t.Errorf("the report does not name the edited row (%q):\n%s", want, r.stdout)
	}
	if !strings.Contains(r.stdout, string(audit.BreakContentChanged)) {
		t.Errorf("the edit is not reported as %s:\n%s", audit.BreakContentChanged, r.stdout)
	}
	if strings.Count(r.stdout, "BROKEN stream") != 1 {
		t.Errorf("one edited row, but the report names another:\n%s", r.stdout)
	}
}

// TestVerifyNeedsTrustedCheckpoint: a witness that holds no checkpoint a
// trusted key signed is not verified against, it is an error (2), and so
// is a schema that was never migrated.
func TestVerifyNeedsTrustedCheckpoint(t *testing.T) {
	t.Parallel()
	store, pool, schema := storeOn(t)
	plant(t, mestest.NewOn(t, store, mestest.NewClock(mestest.Now), nil))
	_, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	wpath := filepath.Join(t.TempDir(), "witness.jsonl")
	w, _ := witness.NewFile(wpath)
	if _, err := storage.Checkpoint(t.Context(), store, priv, mestest.Now, w); err != nil {
		t.Fatal(err)
	}
	r := interlock(t, "verify", "-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait, "-witness", wpath, "-trusted-key", hex.EncodeToString(otherPub))
	r.want(t, exitError)
	if !strings.Contains(r.stderr, "no checkpoint signed by a trusted key") {
		t.Errorf("stderr does not say why:\n%s", r.stderr)
	}

	empty := filepath.Join(t.TempDir(), "none.jsonl")
	r = interlock(t, "verify", "-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait, "-witness", empty, "-trusted-key", hex.EncodeToString(otherPub))
	r.want(t, exitError)

	pub := priv.Public().(ed25519.PublicKey)
	bare := schemaIn(t, pool)
	r = interlock(t, "verify", "-database-url", testURL(t), "-schema", bare, "-witness", wpath, "-trusted-key", hex.EncodeToString(pub))
	r.want(t, exitError)
	if !strings.Contains(r.stderr, "not migrated") {
		t.Errorf("a schema that was never migrated is not named so:\n%s", r.stderr)
	}
}

// TestCheckpointThenVerify: checkpoint signs the record into a witness file
// with a key from a file and prints the trusted key; verify with that key
// finds the record intact; a bad key is a usage error that does not repeat
// the key.
func TestCheckpointThenVerify(t *testing.T) {
	t.Parallel()
	store, _, schema := storeOn(t)
	plant(t, mestest.NewOn(t, store, mestest.NewClock(mestest.Now), nil))
	dir := t.TempDir()
	wpath := filepath.Join(dir, "witness.jsonl")
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	keyFile := filepath.Join(dir, "checkpoint.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := []string{"-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait}
	r := interlock(t, append(append([]string{"checkpoint"}, db...), "-witness", wpath, "-key-file", keyFile)...)
	r.want(t, exitOK)
	pub := hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	if !strings.Contains(r.stdout, "trusted key: "+pub) {
		t.Fatalf("checkpoint does not print the trusted key %s:\n%s", pub, r.stdout)
	}
	interlock(t, append(append([]string{"verify"}, db...), "-witness", wpath, "-trusted-key", pub)...).want(t, exitOK)
	// The key from the environment, over one more record (a checkpoint
	// is saved once per position), and keys that are not one.
	if _, err := store.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "note/1",
		Events: []storage.Event{{Type: "note.added", Actor: "ops", Payload: []byte(`{}`)}}}}}); err != nil {
		t.Fatal(err)
	}
	withEnv(t, map[string]string{"CP_KEY": hex.EncodeToString(seed)}, append(append([]string{"checkpoint"}, db...), "-witness", wpath, "-key-env", "CP_KEY")...).want(t, exitOK)
	for _, bad := range []string{"zz-not-hex-zz", hex.EncodeToString(seed[:5])} {
		withEnv(t, map[string]string{"CP_KEY": bad}, append(append([]string{"checkpoint"}, db...), "-witness", wpath, "-key-env", "CP_KEY")...).want(t, exitError)
	}
	r = withEnv(t, map[string]string{"CP_KEY": "zz-not-hex-zz"}, append(append([]string{"checkpoint"}, db...), "-witness", wpath, "-key-env", "CP_KEY")...)
	if strings.Contains(r.stderr, "zz-not-hex-zz") {
		t.Errorf("a bad key is repeated in the error:\n%s", r.stderr)
	}
	interlock(t, append(append([]string{"checkpoint"}, db...), "-witness", wpath)...).want(t, exitError)
}
