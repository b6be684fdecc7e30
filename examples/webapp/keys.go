package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// keys are the plant's secrets: the engine's attestation key (every
// record it writes carries a MAC by it, and it folds no record without
// one), the key that seals signatures, and the key that signs
// checkpoints. A site keeps them in a vault, apart from the database; the
// demo keeps them in a file, so that a restart on the same Postgres
// schema can read what the last run wrote.
type keys struct {
	Attest     []byte             `json:"attest"`
	Seal       ed25519.PrivateKey `json:"seal"`
	Checkpoint ed25519.PrivateKey `json:"checkpoint"`
}

func newKeys() (*keys, error) {
	k := &keys{Attest: make([]byte, 32)}
	if _, err := rand.Read(k.Attest); err != nil {
		return nil, err
	}
	var err error
	if _, k.Seal, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	if _, k.Checkpoint, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	return k, nil
}

// loadKeys reads the keys in path, or makes new ones and writes them there
// (readable by the owner only) when the file does not exist.
func loadKeys(path string) (*keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := newKeys()
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// O_EXCL: two starts racing for a new file never overwrite each
		// other's keys.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, fmt.Errorf("key file: %w", err)
		}
		return k, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	var k keys
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(k.Attest) < 32 || len(k.Seal) != ed25519.PrivateKeySize || len(k.Checkpoint) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("key file %s: a key is missing or has the wrong size", path)
	}
	return &k, nil
}
