package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"
)

// SignerConfig configures a Signer. Authenticator and Key are required.
type SignerConfig struct {
	// Authenticator re-authenticates the signer at every signing.
	Authenticator Authenticator
	// Key is the system's ed25519 signing key, as a crypto.Signer so that
	// it may live in a KMS or an HSM (an ed25519.PrivateKey is one): its
	// Public must be an ed25519.PublicKey, and it is asked to sign with
	// crypto.Hash(0), as ed25519 signs the message itself. Keep it outside
	// the database that stores the signatures, so that whoever can write
	// the database cannot forge one.
	Key crypto.Signer
	// Clock gives the signature's time. Default time.Now.
	Clock Clock
}

// Signer makes signatures: it re-authenticates the person, stamps the
// manifestation with the system time, binds it to the content's digest and
// the record reference, and seals the whole with the system key. It is safe
// for concurrent use if its Authenticator is.
type Signer struct {
	auth  Authenticator
	key   crypto.Signer
	pub   ed25519.PublicKey
	clock Clock
}

// NewSigner returns a Signer configured by cfg, or an error naming the first
// invalid field.
func NewSigner(cfg *SignerConfig) (*Signer, error) {
	switch {
	case cfg == nil:
		return nil, errors.New("signature: nil SignerConfig: Authenticator and Key are required")
	case cfg.Authenticator == nil:
		return nil, errors.New("signature: SignerConfig.Authenticator is nil")
	case cfg.Key == nil:
		return nil, errors.New("signature: SignerConfig.Key is nil")
	}
	key := cfg.Key
	if priv, ok := key.(ed25519.PrivateKey); ok {
		if len(priv) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("signature: SignerConfig.Key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
		}
		// A key whose public half does not match its seed would seal
		// signatures that nobody can verify.
		if !bytes.Equal(ed25519.NewKeyFromSeed(priv.Seed()), priv) {
			return nil, errors.New("signature: SignerConfig.Key is inconsistent: its public half does not match its seed")
		}
		key = ed25519.PrivateKey(bytes.Clone(priv))
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("signature: SignerConfig.Key's public key is a %T, want an ed25519.PublicKey", key.Public())
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	return &Signer{auth: cfg.Authenticator, key: key, pub: bytes.Clone(pub), clock: clock}, nil
}

// PublicKey returns the key that verifies this Signer's signatures.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return bytes.Clone(s.pub)
}

// Request is one signing.
type Request struct {
	Challenge Challenge // the signer's credential: full, or secret within a session
	Meaning   Meaning
	Reason    string    // optional comment shown with the signature
	Content   []byte    // the exact bytes signed, e.g. the record's canonical payload
	Record    RecordRef // the record the signature belongs to
}

// Sign authenticates r.Challenge and returns the sealed signature together
// with the session, whose ID the caller presents for the next signing in the
// same continuous session. The request is checked before authenticating, so
// a malformed request does not cost the person an attempt. Authentication
// failures are returned as the Authenticator reports them: an expired
// session gives errors.Is(err, ErrSessionExpired), a locked-out user
// errors.Is(err, ErrLockedOut), and every refusal
// errors.Is(err, ErrNotAuthenticated).
func (s *Signer) Sign(ctx context.Context, r Request) (*Signature, Session, error) {
	if err := r.Meaning.Validate(); err != nil {
		return nil, Session{}, err
	}
	if err := r.Record.Validate(); err != nil {
		return nil, Session{}, err
	}
	if err := checkText("Reason", r.Reason, MaxReasonLength, true); err != nil {
		return nil, Session{}, err
	}
	sess, err := s.auth.Authenticate(ctx, r.Challenge)
	if err != nil {
		return nil, Session{}, err
	}
	if r.Challenge.UserID != "" && sess.UserID != r.Challenge.UserID {
		return nil, Session{}, fmt.Errorf("signature: authenticator returned user %q for challenge of %q", sess.UserID, r.Challenge.UserID)
	}
	sig := &Signature{
		Manifestation: Manifestation{
			SignerID:    sess.UserID,
			PrintedName: sess.PrintedName,
			Time:        s.clock().UTC().Truncate(TimePrecision),
			Meaning:     r.Meaning,
			Reason:      r.Reason,
		},
		Content: DigestOf(r.Content),
		Record:  r.Record,
	}
	if err := sig.Manifestation.Validate(); err != nil {
		return nil, Session{}, err
	}
	if err := sig.seal(s.key, s.pub); err != nil {
		return nil, Session{}, err
	}
	return sig, sess, nil
}
