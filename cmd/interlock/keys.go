package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/interlock-mes/interlock/audit"
)

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// secretFlag is a repeatable flag whose values are secrets: it never
// prints them, not even in the help's default.
type secretFlag []string

func (l *secretFlag) String() string { return "" }

func (l *secretFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// trustedKeys parses hex ed25519 public keys.
func trustedKeys(hexKeys []string) (*audit.Keys, error) {
	pubs := make([]ed25519.PublicKey, 0, len(hexKeys))
	for _, h := range hexKeys {
		b, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil {
			return nil, fmt.Errorf("%q is not hex", h)
		}
		if len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%q is %d bytes; an ed25519 public key is %d", h, len(b), ed25519.PublicKeySize)
		}
		pubs = append(pubs, ed25519.PublicKey(b))
	}
	return audit.NewKeys(pubs...)
}

// attestationEntry is one "id:hexkey" with where it came from, so that an
// error can name the place without printing the key.
type attestationEntry struct {
	from, value string
}

// attestationKeys parses "id:hexkey" entries into the engine's attestation
// keys; the first is the current one, which for verification changes
// nothing. Errors name the entry's place, never its key.
func attestationKeys(entries []attestationEntry) (*audit.Attested, error) {
	var all []*audit.Attester
	for _, e := range entries {
		id, hexKey, ok := strings.Cut(strings.TrimSpace(e.value), ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("%s: want id:hexkey", e.from)
		}
		if !validKeyID(id) {
			// Not echoed: a key given as hexkey:id would put the
			// secret in the id's place.
			return nil, fmt.Errorf("%s: the id before the colon must be 1 to %d letters, digits, '-' or '_'", e.from, audit.MaxAttestKeyID)
		}
		key, err := hex.DecodeString(hexKey)
		if err != nil {
			return nil, fmt.Errorf("%s (key %s): the key is not hex", e.from, id)
		}
		a, err := audit.NewAttester(id, key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("%s (key %s): %w", e.from, id, err)
		}
		all = append(all, a)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return audit.NewAttested(all[0], all[1:]...)
}

// attestationFile reads the entries of a key file: one id:hexkey a line;
// blank lines and lines starting with # are skipped.
func attestationFile(path string) ([]attestationEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	var out []attestationEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, attestationEntry{from: fmt.Sprintf("%s line %d", path, n), value: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, errors.New(path + " holds no key")
	}
	return out, nil
}

// attestationEnv reads the entries of an environment variable: id:hexkey
// entries separated by commas or white space.
func attestationEnv(name, value string) ([]attestationEntry, error) {
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("$%s is empty or not set", name)
	}
	var out []attestationEntry
	for i, f := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		out = append(out, attestationEntry{from: fmt.Sprintf("$%s entry %d", name, i+1), value: f})
	}
	return out, nil
}

// validKeyID reports whether id is an attestation key id audit accepts.
func validKeyID(id string) bool {
	if id == "" || len(id) > audit.MaxAttestKeyID {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
