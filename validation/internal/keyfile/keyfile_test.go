package keyfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// TestKeys: keys are read as hex seeds, hex private keys and PEM, and
// anything else is refused.
func TestKeys(t *testing.T) {
	dir := t.TempDir()
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(sk)
	for name, content := range map[string][]byte{
		"seed": []byte(hex.EncodeToString(sk.Seed())), "full": []byte(hex.EncodeToString(sk)),
		"pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, content, 0o600)
		k, err := Private(p)
		if err != nil || !k.Equal(sk) {
			t.Errorf("%s: %v", name, err)
		}
	}
	p := filepath.Join(dir, "short")
	os.WriteFile(p, []byte("abcd"), 0o600)
	if _, err := Private(p); err == nil {
		t.Error("a 2-byte key was accepted")
	}
	if _, err := Public(p); err == nil {
		t.Error("a 2-byte public key was accepted")
	}
}
