package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var (
	attestKeyA = bytes.Repeat([]byte{0xa1}, 32)
	attestKeyB = bytes.Repeat([]byte{0xb2}, 32)
)

func mustAttester(tb testing.TB, id string, key []byte) *Attester {
	tb.Helper()
	a, err := NewAttester(id, key)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// attested rewrites recs as an engine with a would have written them,
// re-chaining the hashes.
func attested(tb testing.TB, a *Attester, recs []Record) []Record {
	tb.Helper()
	out := make([]Record, len(recs))
	heads := map[string]Hash{}
	for i, r := range recs {
		p, err := a.Attest(nil, &AttestedEvent{Stream: r.Stream, Version: r.Version, Type: r.Type, Actor: r.Actor,
			Payload: r.Payload, Evidence: r.Evidence, Links: r.Links})
		if err != nil {
			tb.Fatal(err)
		}
		r.Payload = p
		if h, ok := heads[r.Stream]; ok {
			r.PrevHash = h
		}
		if r.Hash, _, err = ComputeHash(nil, &r); err != nil {
			tb.Fatal(err)
		}
		heads[r.Stream] = r.Hash
		out[i] = r
	}
	return out
}

func TestAttestationRoundTrip(t *testing.T) {
	t.Parallel()
	a := mustAttester(t, "engine-2026", attestKeyA)
	keys, err := NewAttested(a)
	if err != nil {
		t.Fatal(err)
	}
	recs := attested(t, a, buildChain(t, 12, "batch-1", "lot-7"))
	for i := range recs {
		if err := keys.Check(&recs[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !strings.HasPrefix(string(recs[i].Payload), `{"attest":"v1:engine-2026:`) {
			t.Fatalf("payload %s", recs[i].Payload)
		}
		if got := StripAttestation(recs[i].Payload); !json.Valid(got) || bytes.Contains(got, []byte("attest")) {
			t.Errorf("stripped payload %s", got)
		}
	}
	// An empty object attests as an object holding the attestation alone.
	p, err := a.Attest(nil, &AttestedEvent{Stream: "s", Version: 1, Type: "t", Actor: "a", Payload: []byte(`{}`)})
	if err != nil || !json.Valid(p) || string(StripAttestation(p)) != `{}` {
		t.Errorf("attest {}: %s, %v", p, err)
	}
	if err := keys.Check(&Record{Stream: "s", Version: 1, Type: "t", Actor: "a", Payload: p}); err != nil {
		t.Errorf("check {}: %v", err)
	}
	for _, bad := range []string{`null`, `[1]`, `"x"`, ``, `{"attest":"v1:x:y"}`} {
		if _, err := a.Attest(nil, &AttestedEvent{Payload: []byte(bad)}); err == nil {
			t.Errorf("attest %q: no error", bad)
		}
	}
}

// TestAttestationCoversEveryField changes each field of an attested record
// (without breaking its chain: the hash is recomputed, as an attacker with
// database access would) and checks that the attestation fails.
func TestAttestationCoversEveryField(t *testing.T) {
	t.Parallel()
	a := mustAttester(t, "k1", attestKeyA)
	keys, _ := NewAttested(a)
	base := attested(t, a, buildChain(t, 1, "batch-1"))[0]
	base.Evidence = json.RawMessage(`[{"name":"net-weight"}]`)
	base = attested(t, a, []Record{{Stream: base.Stream, Version: base.Version, Type: base.Type, Actor: base.Actor,
		Payload: StripAttestation(base.Payload), Evidence: base.Evidence, Links: base.Links, Time: base.Time, Position: 1, PrevHash: base.PrevHash}})[0]
	for name, change := range map[string]func(r *Record){
		"stream":   func(r *Record) { r.Stream = "batch-2" },
		"version":  func(r *Record) { r.Version++ },
		"type":     func(r *Record) { r.Type = "batch.released" },
		"actor":    func(r *Record) { r.Actor = "mallory" },
		"payload":  func(r *Record) { r.Payload = bytes.Replace(r.Payload, []byte(`"i":0`), []byte(`"i":1`), 1) },
		"evidence": func(r *Record) { r.Evidence = json.RawMessage(`null`) },
		"links":    func(r *Record) { r.Links = []Link{{From: "lot-9", To: "batch-1", Kind: "consumed"}} },
		"mac":      func(r *Record) { r.Payload = bytes.Replace(r.Payload, []byte(`:k1:`), []byte(`:k1:A`), 1) },
	} {
		r := base
		r.Links = append([]Link(nil), base.Links...)
		change(&r)
		if err := keys.Check(&r); !errors.Is(err, ErrAttestationInvalid) {
			t.Errorf("%s changed: %v, want ErrAttestationInvalid", name, err)
		}
	}
	if err := keys.Check(&base); err != nil {
		t.Fatal(err)
	}
	// Made with another key under the same id.
	forged := attested(t, mustAttester(t, "k1", attestKeyB), []Record{{Stream: "batch-1", Version: 1, Type: "t", Actor: "a", Payload: []byte(`{}`)}})[0]
	if err := keys.Check(&forged); !errors.Is(err, ErrAttestationInvalid) {
		t.Errorf("another key under the trusted id: %v", err)
	}
	other := attested(t, mustAttester(t, "k2", attestKeyB), []Record{{Stream: "batch-1", Version: 1, Type: "t", Actor: "a", Payload: []byte(`{}`)}})[0]
	if err := keys.Check(&other); !errors.Is(err, ErrAttestationKey) {
		t.Errorf("untrusted key: %v", err)
	}
	if err := keys.Check(&Record{Payload: []byte(`{"a":1}`)}); !errors.Is(err, ErrUnattested) {
		t.Errorf("no attestation: %v", err)
	}
	// Rotation: a set with k2 current and k1 older checks both.
	rotated, err := NewAttested(mustAttester(t, "k2", attestKeyB), a)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Check(&base) != nil || rotated.Check(&other) != nil {
		t.Error("rotated set refuses a record of either key")
	}
	if _, err := NewAttested(a, mustAttester(t, "k1", attestKeyB)); err == nil {
		t.Error("two keys with one id: no error")
	}
}

func TestNewAttesterRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		id  string
		key []byte
	}{{"", attestKeyA}, {"a:b", attestKeyA}, {strings.Repeat("x", 33), attestKeyA}, {"k", attestKeyA[:31]}, {"k\"", attestKeyA}} {
		if _, err := NewAttester(c.id, c.key); err == nil {
			t.Errorf("NewAttester(%q, %d bytes): no error", c.id, len(c.key))
		}
	}
}

// TestVerifierReportsUnattested: with attestation keys, a verifier names
// every record written around the engine.
func TestVerifierReportsUnattested(t *testing.T) {
	t.Parallel()
	a := mustAttester(t, "k1", attestKeyA)
	keys, _ := NewAttested(a)
	recs := attested(t, a, buildChain(t, 9, "batch-1", "lot-7", "eq-3"))
	// Record 4 (lot-7 v2) rewritten without the key, chain recomputed.
	recs[4].Payload = StripAttestation(recs[4].Payload)
	rehash(t, recs, "lot-7", 2)
	v := NewVerifier(nil)
	v.Attestation(keys)
	var got []string
	for i := range recs {
		if err := v.Add(&recs[i]); err != nil {
			var be *BreakError
			errors.As(err, &be)
			got = append(got, fmt.Sprintf("%s v%d %s", be.Stream, be.Version, be.Kind))
		}
	}
	if want := "lot-7 v2 unattested"; len(got) != 1 || got[0] != want {
		t.Errorf("breaks %v, want [%s]", got, want)
	}
}

func FuzzSplitAttestation(f *testing.F) {
	a := mustAttester(f, "k1", attestKeyA)
	p, _ := a.Attest(nil, &AttestedEvent{Stream: "s", Version: 1, Payload: []byte(`{"b":1}`)})
	f.Add(p)
	f.Add([]byte(`{"attest":"v1:k1:"}`))
	f.Add([]byte(`{"attest":"v1::x",}`))
	keys, _ := NewAttested(a)
	f.Fuzz(func(t *testing.T, payload []byte) {
		id, _, rest, ok := SplitAttestation(payload)
		if ok {
			if id == "" || len(rest) == 0 {
				t.Fatalf("split %q: id %q, rest %q", payload, id, rest)
			}
			if s := StripAttestation(payload); s[0] != '{' || len(s) != len(rest)+1 {
				t.Fatalf("stripped %q to %q", payload, s)
			}
		}
		r := Record{Stream: "s", Version: 1, Payload: payload}
		if keys.Check(&r) == nil && !bytes.Equal(payload, p) {
			t.Fatalf("a payload other than the attested one checks: %q", payload)
		}
	})
}

// BenchmarkAttest is the engine's cost per record.
func BenchmarkAttest(b *testing.B) {
	a := mustAttester(b, "engine-2026", attestKeyA)
	ev := &AttestedEvent{Stream: "batch-2026-0042", Version: 7, Type: "step.completed", Actor: "op-17",
		Payload:  []byte(`{"command":"complete","command_id":"cmd-000123","from":"in-progress","model":"weigh","model_version":1,"step":"S10","to":"complete"}`),
		Evidence: []byte(`[{"instrument":"SC-01","name":"net-weight","source":"device","stable":true,"unit":"kg","value":"12.500"}]`)}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = a.Attest(buf[:0], ev)
	}
}

// BenchmarkVerifyAttested is BenchmarkVerify with every record's
// attestation checked.
func BenchmarkVerifyAttested(b *testing.B) {
	a := mustAttester(b, "engine-2026", attestKeyA)
	keys, _ := NewAttested(a)
	recs := buildChain(b, 10_000, "batch-2026-0001", "batch-2026-0002", "lot-2026-0042", "eq-SC-01")
	for i := range recs {
		recs[i].Payload = json.RawMessage(fmt.Sprintf(`{"batch":"B-2026-0042","lot":"LOT-2026-0042","operator":"op-17","quantity":"12.%03d","scale":"SC-01","stable":true,"step":"weigh-api","unit":"kg"}`, i%1000))
	}
	recs = attested(b, a, recs)
	b.ReportAllocs()
	for b.Loop() {
		v := NewVerifier(nil)
		v.Attestation(keys)
		for i := range recs {
			if err := v.Add(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}
