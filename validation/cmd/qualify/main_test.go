package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

func writeKeys(t *testing.T, dir string) (priv, pub string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, "q.key"), filepath.Join(dir, "q.pub")
	os.WriteFile(priv, []byte(hex.EncodeToString(sk.Seed())+"\n"), 0o600)
	der, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	return priv, pub
}

// TestQualifyAndVerify runs the command against a least-privilege
// installation: it writes a passing report and its signature, -verify
// accepts them, and refuses the report once a line is changed.
func TestQualifyAndVerify(t *testing.T) {
	l := pgtest.Roles(t)
	dir := t.TempDir()
	priv, pub := writeKeys(t, dir)
	report := filepath.Join(dir, "iqoq.txt")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-database-url", os.Getenv(pgtest.EnvURL), "-schema", l.Schema, "-app-role", l.AppRole,
		"-trusted-key", pub, "-key", priv, "-out", report}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "verdict: PASS") {
		t.Errorf("stdout lacks the verdict:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"-verify", report, "-public-key", pub}, &stdout, &stderr); code != 0 {
		t.Fatalf("verify: exit %d: %s", code, stderr.String())
	}
	b, _ := os.ReadFile(report)
	changed := bytes.Replace(b, []byte(", 0 failed)"), []byte(", 1 failed)"), 1)
	if bytes.Equal(b, changed) {
		t.Fatalf("the report has no verdict line to change:\n%s", b)
	}
	os.WriteFile(report, changed, 0o644)
	stderr.Reset()
	if code := run(t.Context(), []string{"-verify", report, "-public-key", pub}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "does not match") {
		t.Errorf("a changed report: exit %d, %s; want 1 and a mismatch", code, stderr.String())
	}
}
