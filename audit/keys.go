package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrUntrustedKey is returned when a checkpoint names a key that is not in
// the set of trusted keys it is checked against. Such an error also matches
// ErrBadSignature: a checkpoint signed by a key nobody trusts proves nothing.
var ErrUntrustedKey = errors.New("audit: checkpoint key is not trusted")

// KeyID names a checkpoint public key: the hex of the first 8 bytes of its
// SHA-256. A checkpoint carries the id of the key that signed it, so that a
// verifier holding several trusted keys (an old and a new one while keys
// rotate) knows which to use.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Keys is a set of trusted checkpoint public keys, found by KeyID. Rotating
// a key means signing new checkpoints with the new key while verifiers
// trust both; a key is dropped from the set once no checkpoint that must
// still verify was signed by it. A Keys is not changed after NewKeys, so it
// is safe for concurrent use.
type Keys struct {
	byID map[string]ed25519.PublicKey
}

// NewKeys returns the set of pubs. It is an error for a key to have the
// wrong size or for the set to be empty.
func NewKeys(pubs ...ed25519.PublicKey) (*Keys, error) {
	if len(pubs) == 0 {
		return nil, errors.New("audit: no trusted keys")
	}
	k := &Keys{byID: make(map[string]ed25519.PublicKey, len(pubs))}
	for i, pub := range pubs {
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("audit: trusted key %d has %d bytes, want %d", i, len(pub), ed25519.PublicKeySize)
		}
		k.byID[KeyID(pub)] = append(ed25519.PublicKey(nil), pub...)
	}
	return k, nil
}

// IDs returns the ids of the trusted keys, in no particular order.
func (k *Keys) IDs() []string {
	out := make([]string, 0, len(k.byID))
	for id := range k.byID {
		out = append(out, id)
	}
	return out
}

// Verify checks that cp is signed by the trusted key its KeyID names. The
// error matches ErrBadSignature when it is not, and also ErrUntrustedKey
// when the key is not in the set. A nil k trusts no key.
func (k *Keys) Verify(cp *Checkpoint) error {
	if cp == nil {
		return errors.New("audit: no checkpoint to verify")
	}
	var pub ed25519.PublicKey
	if k != nil {
		pub = k.byID[cp.KeyID]
	}
	if pub == nil {
		return fmt.Errorf("%w: %w: key id %q", ErrBadSignature, ErrUntrustedKey, cp.KeyID)
	}
	return cp.Verify(pub)
}
