package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

// Clock returns the current system time. Signatures and authentication
// attempts are stamped with it, never with a time the caller supplies, so
// that nobody can backdate a signature (21 CFR 11.50(a)(2)).
type Clock = interlock.Clock

// TimePrecision is the resolution of a signature's time: the same as the
// audit trail's, so that the time survives a round trip through Postgres.
const TimePrecision = time.Microsecond

// timeLayout fixes the time text: UTC, always six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Limits on the text a signature carries, in bytes.
const (
	MaxIDLength     = 256  // SignerID, RecordRef.Stream, RecordRef.Key
	MaxNameLength   = 256  // PrintedName
	MaxReasonLength = 2048 // Reason
)

// Digest is the SHA-256 digest of the exact bytes a signature covers.
type Digest [sha256.Size]byte

// DigestOf returns the digest of content.
func DigestOf(content []byte) Digest { return sha256.Sum256(content) }

// String returns the digest in lower-case hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// RecordRef names the record a signature belongs to: a stream and the
// version of the record in it, an opaque key, or both. Two references are the
// same record only when all three fields are equal.
type RecordRef struct {
	Stream  string // the stream holding the record, e.g. "batch/B-2026-001"
	Version int64  // the record's version in Stream; 0 when the reference has no version
	Key     string // an opaque key, e.g. a step id, or the whole reference when Stream is empty
}

// String returns a short human form such as "batch/B-1@7#weigh".
func (r RecordRef) String() string {
	s := r.Stream
	if r.Version != 0 {
		s += "@" + strconv.FormatInt(r.Version, 10)
	}
	if r.Key != "" {
		s += "#" + r.Key
	}
	return s
}

// Validate reports whether r names a record: Stream or Key set, a Version
// only with a Stream and never negative, and both strings printable UTF-8 of
// at most MaxIDLength bytes.
func (r RecordRef) Validate() error {
	switch {
	case r.Stream == "" && r.Key == "":
		return errors.New("signature: record reference has neither Stream nor Key")
	case r.Version < 0:
		return fmt.Errorf("signature: record reference Version %d is negative", r.Version)
	case r.Version > 0 && r.Stream == "":
		return errors.New("signature: record reference has a Version but no Stream")
	}
	if err := checkText("record Stream", r.Stream, MaxIDLength, false); err != nil {
		return err
	}
	return checkText("record Key", r.Key, MaxIDLength, false)
}

// Manifestation is what a signature shows a reader (21 CFR 11.50): who
// signed, under which printed name, when, and what the signature means.
type Manifestation struct {
	SignerID    string    // the unique user id (11.100(a)) that authenticated
	PrintedName string    // the signer's full printed name, from the credential store
	Time        time.Time // system time of signing, UTC, at TimePrecision
	Meaning     Meaning   // what the signature attests
	Reason      string    // optional comment, e.g. why a value was accepted
}

// Validate reports whether every field of m is present and well formed.
func (m Manifestation) Validate() error {
	if m.SignerID == "" {
		return errors.New("signature: manifestation has no SignerID")
	}
	if err := checkText("SignerID", m.SignerID, MaxIDLength, false); err != nil {
		return err
	}
	if m.PrintedName == "" {
		return errors.New("signature: manifestation has no PrintedName")
	}
	if err := checkText("PrintedName", m.PrintedName, MaxNameLength, false); err != nil {
		return err
	}
	if m.Time.IsZero() {
		return errors.New("signature: manifestation has no Time")
	}
	if y := m.Time.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("signature: manifestation Time year %d is outside 1..9999", y)
	}
	if err := m.Meaning.Validate(); err != nil {
		return err
	}
	return checkText("Reason", m.Reason, MaxReasonLength, true)
}

// checkText rejects invalid UTF-8, over-long text, control characters and
// bidirectional overrides, any of which could make a displayed name or
// reference read differently from what was signed. Multi-line text allows
// tab and newline.
func checkText(field, s string, max int, multiline bool) error {
	if len(s) > max {
		return fmt.Errorf("signature: %s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("signature: %s is not valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 && !(multiline && (r == '\n' || r == '\t')) || r >= 0x7f && r <= 0x9f ||
			r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return fmt.Errorf("signature: %s contains control character %U", field, r)
		}
	}
	return nil
}

// Signature is an electronic signature bound to one record and to the exact
// content of that record. The Seal, made with the system's ed25519 key over
// SealedBytes, makes every other field tamper-evident: change the name, the
// meaning, the time, the digest or the record and Verify fails.
type Signature struct {
	Manifestation Manifestation
	Content       Digest    // SHA-256 of the signed content
	Record        RecordRef // the record the signature belongs to
	Seal          []byte    // ed25519 signature over SealedBytes
}

// sealDomain separates signature seals from any other use of the same key
// (audit checkpoints, for instance).
const sealDomain = "interlock/signature/v1\n"

// SealedBytes returns the bytes the seal covers: a domain string, then the
// canonical JSON
//
//	{"content":"<hex>","manifestation":{"meaning":…,"name":…,"reason":…,
//	 "signer":…,"time":"2006-01-02T15:04:05.000000Z"},
//	 "record":{"key":…,"stream":…,"version":N}}
//
// It returns an error only for text that is not valid UTF-8.
func (s *Signature) SealedBytes() ([]byte, error) {
	b := make([]byte, 0, 256+len(s.Manifestation.Reason))
	b = append(b, sealDomain...)
	return s.appendBody(b, false)
}

// appendBody writes the canonical JSON object shared by SealedBytes and
// Encode; Encode adds the seal as the last member.
func (s *Signature) appendBody(b []byte, withSeal bool) ([]byte, error) {
	m := &s.Manifestation
	var err error
	b = append(b, `{"content":"`...)
	b = hex.AppendEncode(b, s.Content[:])
	b = append(b, `","manifestation":{"meaning":`...)
	if b, err = canonjson.AppendString(b, string(m.Meaning)); err != nil {
		return nil, fmt.Errorf("signature: meaning: %w", err)
	}
	b = append(b, `,"name":`...)
	if b, err = canonjson.AppendString(b, m.PrintedName); err != nil {
		return nil, fmt.Errorf("signature: printed name: %w", err)
	}
	b = append(b, `,"reason":`...)
	if b, err = canonjson.AppendString(b, m.Reason); err != nil {
		return nil, fmt.Errorf("signature: reason: %w", err)
	}
	b = append(b, `,"signer":`...)
	if b, err = canonjson.AppendString(b, m.SignerID); err != nil {
		return nil, fmt.Errorf("signature: signer id: %w", err)
	}
	b = append(b, `,"time":"`...)
	b = m.Time.UTC().AppendFormat(b, timeLayout)
	b = append(b, `"},"record":{"key":`...)
	if b, err = canonjson.AppendString(b, s.Record.Key); err != nil {
		return nil, fmt.Errorf("signature: record key: %w", err)
	}
	b = append(b, `,"stream":`...)
	if b, err = canonjson.AppendString(b, s.Record.Stream); err != nil {
		return nil, fmt.Errorf("signature: record stream: %w", err)
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, s.Record.Version, 10)
	b = append(b, '}')
	if withSeal {
		b = append(b, `,"seal":"`...)
		b = hex.AppendEncode(b, s.Seal)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// seal fills in s.Seal with key.
func (s *Signature) seal(key crypto.Signer, pub ed25519.PublicKey) error {
	msg, err := s.SealedBytes()
	if err != nil {
		return err
	}
	seal, err := key.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		return fmt.Errorf("signature: seal: %w", err)
	}
	// A remote signer's answer is checked before it goes on the record.
	if !ed25519.Verify(pub, msg, seal) {
		return fmt.Errorf("signature: seal: the key's signature does not verify under its public key: %w", ErrBadSeal)
	}
	s.Seal = seal
	return nil
}

// Errors of Verify. Each failure is one of these under errors.Is.
var (
	// ErrBadSeal: the signature was not sealed by the given key, or one of
	// its fields changed after sealing (a forged name, meaning or time).
	ErrBadSeal = errors.New("signature: seal does not verify")
	// ErrWrongRecord: an authentic signature presented for another record,
	// as when it is copied from one record to another (11.70).
	ErrWrongRecord = errors.New("signature: signature belongs to another record")
	// ErrContentMismatch: the content changed after it was signed.
	ErrContentMismatch = errors.New("signature: signed content changed")
)

// WrongRecordError carries the evidence of ErrWrongRecord.
type WrongRecordError struct {
	Signed    RecordRef // the record the signature was made for
	Presented RecordRef // the record it was presented with
}

// Error names both records.
func (e *WrongRecordError) Error() string {
	return fmt.Sprintf("signature: signed record %s, presented with %s", e.Signed, e.Presented)
}

// Unwrap returns ErrWrongRecord.
func (e *WrongRecordError) Unwrap() error { return ErrWrongRecord }

// ContentMismatchError carries the evidence of ErrContentMismatch.
type ContentMismatchError struct {
	Signed    Digest // digest of the content when it was signed
	Presented Digest // digest of the content presented now
}

// Error names both digests.
func (e *ContentMismatchError) Error() string {
	return fmt.Sprintf("signature: signed content %s, presented content %s", e.Signed, e.Presented)
}

// Unwrap returns ErrContentMismatch.
func (e *ContentMismatchError) Unwrap() error { return ErrContentMismatch }

// Verify checks that sig is an authentic signature, sealed with the private
// half of pub, for the record rec and the exact bytes content. The seal is
// checked first, so an error for which errors.Is(err, ErrBadSeal) is true
// means the signature itself is forged or altered (or pub is the wrong key);
// otherwise a *WrongRecordError (ErrWrongRecord) means the signature was
// moved onto another record, and a *ContentMismatchError
// (ErrContentMismatch) means the content changed after signing. A public key
// of the wrong size is an error of its own.
func Verify(sig *Signature, content []byte, rec RecordRef, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("signature: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if sig == nil {
		return fmt.Errorf("%w: no signature", ErrBadSeal)
	}
	msg, err := sig.SealedBytes()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSeal, err)
	}
	// Times finer than the sealed text would let a changed time verify.
	t := sig.Manifestation.Time
	if !t.Equal(t.Truncate(TimePrecision)) || len(sig.Seal) != sealSize ||
		!ed25519.Verify(pub, msg, sig.Seal) {
		return ErrBadSeal
	}
	if sig.Record != rec {
		return &WrongRecordError{Signed: sig.Record, Presented: rec}
	}
	if d := DigestOf(content); d != sig.Content {
		return &ContentMismatchError{Signed: sig.Content, Presented: d}
	}
	return nil
}

const sealSize = ed25519.SignatureSize
