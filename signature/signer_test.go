package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newTestSigner(t *testing.T, f *fixture) *Signer {
	t.Helper()
	s, err := NewSigner(&SignerConfig{Authenticator: f.auth, Key: testKey(1), Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSignerConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	inconsistent := testKey(1)
	copy(inconsistent[32:], testKey(2)[32:]) // seed of one key, public half of another
	tests := []struct {
		name    string
		cfg     *SignerConfig
		wantErr string
	}{
		{"nil", nil, "Authenticator and Key"},
		{"no authenticator", &SignerConfig{Key: testKey(1)}, "Authenticator"},
		{"no key", &SignerConfig{Authenticator: f.auth}, "Key"},
		{"short key", &SignerConfig{Authenticator: f.auth, Key: testKey(1)[:32]}, "Key"},
		{"inconsistent key", &SignerConfig{Authenticator: f.auth, Key: inconsistent}, "Key"},
	}
	for _, tt := range tests {
		_, err := NewSigner(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: NewSigner = %v, want an error naming %s", tt.name, err, tt.wantErr)
		}
	}
	s, err := NewSigner(&SignerConfig{Authenticator: f.auth, Key: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	if !s.PublicKey().Equal(testKey(1).Public()) {
		t.Error("PublicKey is not the key's public half")
	}
}

func TestSignInASession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	signer := newTestSigner(t, f)
	ctx := t.Context()
	pub := signer.PublicKey()
	alice := NewSecret(aliceSecret)

	first, sess, err := signer.Sign(ctx, Request{
		Challenge: Challenge{UserID: "alice", Secret: alice},
		Meaning:   Performed,
		Content:   testContent,
		Record:    testRecord,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Manifestation{SignerID: "alice", PrintedName: "Alice Analyst", Time: t0.Truncate(TimePrecision), Meaning: Performed}
	if diff := cmp.Diff(want, first.Manifestation); diff != "" {
		t.Errorf("first manifestation (-want +got):\n%s", diff)
	}
	if err := Verify(first, testContent, testRecord, pub); err != nil {
		t.Errorf("first signature: %v", err)
	}

	// The second signing in the session presents the secret alone.
	f.clock.Advance(2 * time.Minute)
	next := RecordRef{Stream: testRecord.Stream, Version: 8, Key: "check-1"}
	second, sess2, err := signer.Sign(ctx, Request{
		Challenge: Challenge{Session: sess.ID, Secret: alice},
		Meaning:   Reviewed,
		Reason:    "label matches lot",
		Content:   []byte("second record"),
		Record:    next,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sess2.ID != sess.ID || sess2.Components != 1 {
		t.Errorf("second session = %+v, want session %s with one component", sess2, sess.ID)
	}
	want = Manifestation{SignerID: "alice", PrintedName: "Alice Analyst", Time: t0.Add(2 * time.Minute).Truncate(TimePrecision), Meaning: Reviewed, Reason: "label matches lot"}
	if diff := cmp.Diff(want, second.Manifestation); diff != "" {
		t.Errorf("second manifestation (-want +got):\n%s", diff)
	}
	if err := Verify(second, []byte("second record"), next, pub); err != nil {
		t.Errorf("second signature: %v", err)
	}

	// Neither signature can stand in for the other.
	if err := Verify(first, []byte("second record"), next, pub); !errors.Is(err, ErrWrongRecord) {
		t.Errorf("first signature on the second record: %v, want ErrWrongRecord", err)
	}
	moved := *first
	moved.Record, moved.Content = next, DigestOf([]byte("second record"))
	if err := Verify(&moved, []byte("second record"), next, pub); !errors.Is(err, ErrBadSeal) {
		t.Errorf("first signature rewritten onto the second record: %v, want ErrBadSeal", err)
	}
	if err := Verify(first, append(testContent, ' '), testRecord, pub); !errors.Is(err, ErrContentMismatch) {
		t.Errorf("first signature on altered content: %v, want ErrContentMismatch", err)
	}
}

func TestSignRefuses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	alice := NewSecret(aliceSecret)
	good := func(c Challenge) Request {
		return Request{Challenge: c, Meaning: Approved, Content: testContent, Record: testRecord}
	}

	t.Run("expired session", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		signer := newTestSigner(t, f)
		_, sess, err := signer.Sign(ctx, good(Challenge{UserID: "alice", Secret: alice}))
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(10 * time.Minute)
		if sig, _, err := signer.Sign(ctx, good(Challenge{Session: sess.ID, Secret: alice})); !errors.Is(err, ErrSessionExpired) || sig != nil {
			t.Errorf("Sign = %v, %v; want ErrSessionExpired and no signature", sig, err)
		}
	})
	t.Run("locked user", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, func(c *Config) { c.MaxFailures = 1 })
		signer := newTestSigner(t, f)
		if _, _, err := signer.Sign(ctx, good(Challenge{UserID: "alice", Secret: NewSecret("wrong-wrong")})); !errors.Is(err, ErrWrongSecret) {
			t.Fatalf("Sign = %v, want ErrWrongSecret", err)
		}
		if sig, _, err := signer.Sign(ctx, good(Challenge{UserID: "alice", Secret: alice})); !errors.Is(err, ErrLockedOut) || sig != nil {
			t.Errorf("Sign = %v, %v; want ErrLockedOut and no signature", sig, err)
		}
	})
	t.Run("malformed request costs no attempt", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		signer := newTestSigner(t, f)
		bad := []Request{
			{Challenge: Challenge{UserID: "alice", Secret: alice}, Meaning: "OK", Content: testContent, Record: testRecord},
			{Challenge: Challenge{UserID: "alice", Secret: alice}, Meaning: Approved, Content: testContent},
			{Challenge: Challenge{UserID: "alice", Secret: alice}, Meaning: Approved, Reason: "\x00", Content: testContent, Record: testRecord},
		}
		for i, r := range bad {
			if _, _, err := signer.Sign(ctx, r); err == nil || errors.Is(err, ErrNotAuthenticated) {
				t.Errorf("request %d: Sign = %v, want a request error", i, err)
			}
		}
		if ev := f.rec.take(); len(ev) != 0 {
			t.Errorf("malformed requests reached the authenticator: %+v", ev)
		}
	})
	t.Run("authenticator answering for someone else", func(t *testing.T) {
		t.Parallel()
		impostor := authFunc(func(context.Context, Challenge) (Session, error) {
			return Session{ID: "s", UserID: "bob", PrintedName: "Bob Builder"}, nil
		})
		signer, err := NewSigner(&SignerConfig{Authenticator: impostor, Key: testKey(1)})
		if err != nil {
			t.Fatal(err)
		}
		if sig, _, err := signer.Sign(ctx, good(Challenge{UserID: "alice", Secret: alice})); err == nil {
			t.Errorf("Sign = %+v, want an error", sig)
		}
	})
}

// authFunc is an Authenticator from a function, for the one test that needs
// a misbehaving one.
type authFunc func(context.Context, Challenge) (Session, error)

func (f authFunc) Authenticate(ctx context.Context, c Challenge) (Session, error) { return f(ctx, c) }
func (authFunc) EndSession(context.Context, SessionID) error                      { return nil }

// kmsKey is a signing key behind crypto.Signer only, as a KMS or HSM client
// gives one: the private key never leaves it.
type kmsKey struct {
	priv  ed25519.PrivateKey
	calls int
	wrong bool // sign with another key, as a misconfigured KMS might
}

func (k *kmsKey) Public() crypto.PublicKey { return k.priv.Public() }

func (k *kmsKey) Sign(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.calls++
	if opts.HashFunc() != 0 {
		return nil, errors.New("kms: ed25519 signs the message itself")
	}
	if k.wrong {
		return ed25519.Sign(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)), msg), nil
	}
	return k.priv.Sign(r, msg, opts)
}

// TestSignerWithACryptoSigner: the sealing key may be any crypto.Signer
// with an ed25519 public key; its seals verify, and a seal that does not
// verify under its own public key is refused rather than recorded.
func TestSignerWithACryptoSigner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	auth := newFixture(t, nil).auth
	key := &kmsKey{priv: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))}
	s, err := NewSigner(&SignerConfig{Authenticator: auth, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Challenge: Challenge{UserID: "alice", Secret: NewSecret(aliceSecret)}, Meaning: Approved,
		Content: []byte("content"), Record: RecordRef{Stream: "batch/1", Version: 2, Key: "k"}}
	sig, _, err := s.Sign(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(sig, []byte("content"), req.Record, s.PublicKey()); err != nil || key.calls != 1 {
		t.Errorf("a KMS-sealed signature: %v after %d calls", err, key.calls)
	}
	key.wrong = true
	if _, _, err := s.Sign(ctx, req); !errors.Is(err, ErrBadSeal) {
		t.Errorf("a seal by another key: %v, want ErrBadSeal", err)
	}
	if _, err := NewSigner(&SignerConfig{Authenticator: auth, Key: nil}); err == nil {
		t.Error("nil key: no error")
	}
}
