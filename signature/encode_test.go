package signature

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	want := sealedSignature(t)
	b, err := want.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !canonjson.IsCanonical(b) {
		t.Errorf("Encode is not canonical JSON: %s", b)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode(Encode(s)) (-want +got):\n%s", diff)
	}
	if err := Verify(got, testContent, testRecord, testKey(1).Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("decoded signature does not verify: %v", err)
	}
}

func TestSignatureInsideJSONPayload(t *testing.T) {
	t.Parallel()
	type payload struct {
		Step      string     `json:"step"`
		Signature *Signature `json:"signature"`
	}
	want := payload{Step: "weigh-1", Signature: sealedSignature(t)}
	b, err := json.MarshalIndent(want, "", "  ") // white space must not matter
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payload round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	good, err := sealedSignature(t).Encode()
	if err != nil {
		t.Fatal(err)
	}
	enc := string(good)
	seal := enc[strings.Index(enc, `"seal":"`)+8 : len(enc)-2]
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"not json", "signature"},
		{"array", "[]"},
		{"null", "null"},
		{"trailing data", enc + "{}"},
		{"unknown member", strings.Replace(enc, `{"content"`, `{"extra":1,"content"`, 1)},
		{"missing seal", strings.Replace(enc, `,"seal":"`+seal+`"`, "", 1)},
		{"missing reason", strings.Replace(enc, `"reason":"weighed after re-tare",`, "", 1)},
		{"missing version", strings.Replace(enc, `,"version":7`, "", 1)},
		{"short seal", strings.Replace(enc, seal, seal[:126], 1)},
		{"upper-case seal", strings.Replace(enc, seal, strings.ToUpper(seal), 1)},
		{"short digest", strings.Replace(enc, DigestOf(testContent).String(), "abcd", 1)},
		{"non-hex digest", strings.Replace(enc, DigestOf(testContent).String(), strings.Repeat("g", 64), 1)},
		{"other time format", strings.Replace(enc, "2026-03-14T09:26:53.589793Z", "2026-03-14T09:26:53.589793+00:00", 1)},
		{"time without micros", strings.Replace(enc, "2026-03-14T09:26:53.589793Z", "2026-03-14T09:26:53Z", 1)},
		{"fractional version", strings.Replace(enc, `"version":7`, `"version":7.5`, 1)},
		{"string version", strings.Replace(enc, `"version":7`, `"version":"7"`, 1)},
		{"negative version", strings.Replace(enc, `"version":7`, `"version":-7`, 1)},
		{"invalid meaning", strings.Replace(enc, `"performed"`, `"Performed"`, 1)},
		{"empty signer", strings.Replace(enc, `"signer":"alice"`, `"signer":""`, 1)},
		{"member in other case", strings.Replace(enc, `"seal"`, `"Seal"`, 1)},
		{"duplicate member", strings.Replace(enc, `{"content"`, `{"seal":"00","content"`, 1)},
		{"null member", strings.Replace(enc, `"signer":"alice"`, `"signer":null`, 1)},
	}
	for _, tt := range tests {
		if _, err := Decode([]byte(tt.in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode = %v, want ErrMalformed", tt.name, err)
		}
	}
}

func FuzzDecodeSignature(f *testing.F) {
	s := &Signature{
		Manifestation: Manifestation{SignerID: "alice", PrintedName: "Alice Analyst", Time: t0.Truncate(TimePrecision), Meaning: Approved, Reason: "ok"},
		Content:       DigestOf([]byte("content")),
		Record:        RecordRef{Stream: "batch/1", Version: 2, Key: "k"},
	}
	if err := s.seal(testKey(1), testKey(1).Public().(ed25519.PublicKey)); err != nil {
		f.Fatal(err)
	}
	b, err := s.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	s.Record, s.Manifestation.Reason = RecordRef{Key: "only-key"}, "line\n\"quoted\" \u00e9"
	if b, err = s.Encode(); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"content":"","manifestation":{},"record":{},"seal":""}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Decode(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode error %v does not match ErrMalformed", err)
			}
			return
		}
		out, err := s.Encode()
		if err != nil {
			t.Fatalf("Encode of decoded signature: %v", err)
		}
		canon, err := canonjson.Canonicalize(in)
		if err != nil {
			t.Fatalf("Decode accepted non-JSON: %v", err)
		}
		if !bytes.Equal(out, canon) {
			t.Fatalf("Encode(Decode(in)) = %s, want the canonical input %s", out, canon)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode(s)): %v", err)
		}
		if diff := cmp.Diff(s, again); diff != "" {
			t.Fatalf("second round trip (-first +second):\n%s", diff)
		}
	})
}
