package signature

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	testContent = []byte(`{"lot":"L-7","net":"12.345","unit":"kg"}`)
	testRecord  = RecordRef{Stream: "batch/B-2026-001", Version: 7, Key: "weigh-1"}
)

// sealedSignature returns a signature of testContent on testRecord sealed
// with testKey(1).
func sealedSignature(t *testing.T) *Signature {
	t.Helper()
	s := &Signature{
		Manifestation: Manifestation{
			SignerID:    "alice",
			PrintedName: "Alice Analyst",
			Time:        t0.Truncate(TimePrecision),
			Meaning:     Performed,
			Reason:      "weighed after re-tare",
		},
		Content: DigestOf(testContent),
		Record:  testRecord,
	}
	if err := s.seal(testKey(1), testKey(1).Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealedBytesAreFixed(t *testing.T) {
	t.Parallel()
	got, err := sealedSignature(t).SealedBytes()
	if err != nil {
		t.Fatal(err)
	}
	want := "interlock/signature/v1\n" +
		`{"content":"` + DigestOf(testContent).String() + `",` +
		`"manifestation":{"meaning":"performed","name":"Alice Analyst","reason":"weighed after re-tare",` +
		`"signer":"alice","time":"2026-03-14T09:26:53.589793Z"},` +
		`"record":{"key":"weigh-1","stream":"batch/B-2026-001","version":7}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("SealedBytes (-want +got):\n%s", diff)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	pub := testKey(1).Public().(ed25519.PublicKey)
	otherRecord := RecordRef{Stream: "batch/B-2026-002", Version: 7, Key: "weigh-1"}
	altered := bytes.Replace(testContent, []byte("12.345"), []byte("12.346"), 1)

	tests := []struct {
		name    string
		edit    func(s *Signature) // forge the signature
		content []byte
		rec     RecordRef
		pub     ed25519.PublicKey
		want    error
	}{
		{name: "authentic", want: nil},
		{name: "altered content", content: altered, want: ErrContentMismatch},
		{name: "empty content", content: []byte{}, want: ErrContentMismatch},
		{name: "copied onto another stream", rec: otherRecord, want: ErrWrongRecord},
		{name: "copied onto another version", rec: RecordRef{Stream: testRecord.Stream, Version: 8, Key: "weigh-1"}, want: ErrWrongRecord},
		{name: "copied onto another key", rec: RecordRef{Stream: testRecord.Stream, Version: 7, Key: "weigh-2"}, want: ErrWrongRecord},
		{name: "copied with its record field rewritten", rec: otherRecord,
			edit: func(s *Signature) { s.Record = otherRecord }, want: ErrBadSeal},
		{name: "content digest rewritten to altered content", content: altered,
			edit: func(s *Signature) { s.Content = DigestOf(altered) }, want: ErrBadSeal},
		{name: "printed name forged", edit: func(s *Signature) { s.Manifestation.PrintedName = "Bob Builder" }, want: ErrBadSeal},
		{name: "signer id forged", edit: func(s *Signature) { s.Manifestation.SignerID = "bob" }, want: ErrBadSeal},
		{name: "meaning forged", edit: func(s *Signature) { s.Manifestation.Meaning = Approved }, want: ErrBadSeal},
		{name: "time backdated", edit: func(s *Signature) { s.Manifestation.Time = s.Manifestation.Time.Add(-time.Hour) }, want: ErrBadSeal},
		{name: "time off by a nanosecond", edit: func(s *Signature) { s.Manifestation.Time = s.Manifestation.Time.Add(time.Nanosecond) }, want: ErrBadSeal},
		{name: "reason forged", edit: func(s *Signature) { s.Manifestation.Reason = "" }, want: ErrBadSeal},
		{name: "seal truncated", edit: func(s *Signature) { s.Seal = s.Seal[:63] }, want: ErrBadSeal},
		{name: "seal missing", edit: func(s *Signature) { s.Seal = nil }, want: ErrBadSeal},
		{name: "wrong key", pub: testKey(2).Public().(ed25519.PublicKey), want: ErrBadSeal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sealedSignature(t)
			if tt.edit != nil {
				tt.edit(s)
			}
			content, rec, key := testContent, testRecord, pub
			if tt.content != nil {
				content = tt.content
			}
			if tt.rec != (RecordRef{}) {
				rec = tt.rec
			}
			if tt.pub != nil {
				key = tt.pub
			}
			err := Verify(s, content, rec, key)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyErrorsCarryEvidence(t *testing.T) {
	t.Parallel()
	s := sealedSignature(t)
	pub := testKey(1).Public().(ed25519.PublicKey)
	other := RecordRef{Key: "elsewhere"}

	var wr *WrongRecordError
	if err := Verify(s, testContent, other, pub); !errors.As(err, &wr) {
		t.Fatalf("Verify on another record = %v, want *WrongRecordError", err)
	}
	if diff := cmp.Diff(&WrongRecordError{Signed: testRecord, Presented: other}, wr); diff != "" {
		t.Errorf("WrongRecordError (-want +got):\n%s", diff)
	}

	var cm *ContentMismatchError
	if err := Verify(s, []byte("x"), testRecord, pub); !errors.As(err, &cm) {
		t.Fatalf("Verify on other content = %v, want *ContentMismatchError", err)
	}
	if diff := cmp.Diff(&ContentMismatchError{Signed: DigestOf(testContent), Presented: DigestOf([]byte("x"))}, cm); diff != "" {
		t.Errorf("ContentMismatchError (-want +got):\n%s", diff)
	}
}

// A change to any byte of the seal must be caught; the bit flipped moves
// through the byte positions so all eight are exercised.
func TestVerifyEverySealByteFlip(t *testing.T) {
	t.Parallel()
	pub := testKey(1).Public().(ed25519.PublicKey)
	s := sealedSignature(t)
	for i := range sealSize {
		bit := byte(1) << (i % 8)
		s.Seal[i] ^= bit
		if err := Verify(s, testContent, testRecord, pub); !errors.Is(err, ErrBadSeal) {
			t.Fatalf("byte %d bit %d flipped: Verify = %v, want ErrBadSeal", i, i%8, err)
		}
		s.Seal[i] ^= bit
	}
	if err := Verify(s, testContent, testRecord, pub); err != nil {
		t.Fatalf("after restoring every byte, Verify = %v", err)
	}
}

func TestVerifyRejectsBadArguments(t *testing.T) {
	t.Parallel()
	pub := testKey(1).Public().(ed25519.PublicKey)
	if err := Verify(sealedSignature(t), testContent, testRecord, pub[:31]); err == nil || errors.Is(err, ErrBadSeal) {
		t.Errorf("short key: Verify = %v, want a key size error", err)
	}
	if err := Verify(nil, testContent, testRecord, pub); !errors.Is(err, ErrBadSeal) {
		t.Errorf("nil signature: Verify = %v, want ErrBadSeal", err)
	}
}

func TestRecordRefValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref RecordRef
		ok  bool
	}{
		{RecordRef{Stream: "batch/1", Version: 3}, true},
		{RecordRef{Stream: "batch/1"}, true},
		{RecordRef{Key: "opaque-key"}, true},
		{RecordRef{Stream: "batch/1", Version: 3, Key: "step"}, true},
		{RecordRef{}, false},
		{RecordRef{Version: 3, Key: "k"}, false},
		{RecordRef{Stream: "batch/1", Version: -1}, false},
		{RecordRef{Stream: "batch\n1"}, false},
		{RecordRef{Key: "\xff"}, false},
		{RecordRef{Key: strings.Repeat("k", MaxIDLength+1)}, false},
	}
	for _, tt := range tests {
		if err := tt.ref.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.ref, err, tt.ok)
		}
	}
}

func TestManifestationValidate(t *testing.T) {
	t.Parallel()
	good := sealedSignature(t).Manifestation
	tests := []struct {
		name string
		edit func(*Manifestation)
		ok   bool
	}{
		{"complete", func(*Manifestation) {}, true},
		{"no reason", func(m *Manifestation) { m.Reason = "" }, true},
		{"multi-line reason", func(m *Manifestation) { m.Reason = "line 1\n\tline 2" }, true},
		{"no signer", func(m *Manifestation) { m.SignerID = "" }, false},
		{"no printed name", func(m *Manifestation) { m.PrintedName = "" }, false},
		{"name with newline", func(m *Manifestation) { m.PrintedName = "Alice\nApproved by QA" }, false},
		{"no time", func(m *Manifestation) { m.Time = time.Time{} }, false},
		{"year 10000", func(m *Manifestation) { m.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
		{"bad meaning", func(m *Manifestation) { m.Meaning = "OK!" }, false},
		{"reason too long", func(m *Manifestation) { m.Reason = strings.Repeat("r", MaxReasonLength+1) }, false},
		{"reason with escape", func(m *Manifestation) { m.Reason = "\x1b[2J" }, false},
		{"name with bidi override", func(m *Manifestation) { m.PrintedName = "Alice \u202eBob" }, false},
		{"name with C1 control", func(m *Manifestation) { m.PrintedName = "Alice \u0085" }, false},
		{"accented name", func(m *Manifestation) { m.PrintedName = "Zoë Ångström-Øster" }, true},
	}
	for _, tt := range tests {
		m := good
		tt.edit(&m)
		if err := m.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestRecordRefString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref  RecordRef
		want string
	}{
		{testRecord, "batch/B-2026-001@7#weigh-1"},
		{RecordRef{Stream: "lot/L-1"}, "lot/L-1"},
		{RecordRef{Key: "k"}, "#k"},
	}
	for _, tt := range tests {
		if got := tt.ref.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.ref, got, tt.want)
		}
	}
}
