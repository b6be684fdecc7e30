package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 11, 25, 8, 30, 0, 123456000, time.UTC)

// buildChain makes a valid interleaving of n records over the given streams,
// as a store would write them.
func buildChain(t testing.TB, n int, streams ...string) []Record {
	t.Helper()
	heads := map[string]*Record{}
	out := make([]Record, 0, n)
	for i := range n {
		s := streams[i%len(streams)]
		r := Record{
			Stream:   s,
			Position: int64(i + 1),
			Type:     "step.completed",
			Actor:    fmt.Sprintf("op-%d", i%3),
			Time:     t0.Add(time.Duration(i) * time.Second),
			Payload:  json.RawMessage(fmt.Sprintf(`{"i":%d,"qty":"12.50"}`, i)),
			Evidence: json.RawMessage(`null`),
			Links:    []Link{{From: "lot-1", To: s, Kind: "consumed"}},
			PrevHash: Genesis(s),
			Version:  1,
		}
		if h := heads[s]; h != nil {
			r.PrevHash, r.Version = h.Hash, h.Version+1
		}
		var err error
		r.Hash, _, err = ComputeHash(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		heads[s] = &out[len(out)-1]
	}
	return out
}

func TestEncodeIsFixed(t *testing.T) {
	t.Parallel()
	r := Record{
		Stream: "batch-1", Version: 3, Position: 99, Type: "weighed", Actor: "op \"7\"",
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600)),
		Payload: json.RawMessage(`{"qty":"1.5"}`),
		Links:   []Link{{From: "a", To: "b", Kind: "k"}},
	}
	got, err := Encode(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"actor":"op \"7\"","evidence":null,"links":[{"from":"a","kind":"k","to":"b"}],"payload":{"qty":"1.5"},"stream":"batch-1","time":"2026-01-02T02:04:05.000006Z","type":"weighed","version":3}`
	if string(got) != want {
		t.Errorf("Encode =\n%s\nwant\n%s", got, want)
	}
	// The position is not content; the time zone of the value is not either.
	r2 := r
	r2.Position, r2.Time = 1, r.Time.UTC()
	got2, _ := Encode(nil, &r2)
	if !bytes.Equal(got, got2) {
		t.Errorf("encoding depends on position or zone:\n%s\n%s", got, got2)
	}
	if _, err := Encode(nil, &Record{Stream: "\xff"}); err == nil {
		t.Error("Encode accepted a stream id that is not UTF-8")
	}
}

func TestComputeHashMatchesDefinition(t *testing.T) {
	t.Parallel()
	r := buildChain(t, 1, "s")[0]
	enc, _ := Encode(nil, &r)
	g := Genesis("s")
	want := sha256.Sum256(append(g[:], enc...))
	if r.Hash != want {
		t.Errorf("hash = %s, want SHA-256(genesis || canonical) = %x", r.Hash, want)
	}
	if ChainHash(r.PrevHash, enc) != want {
		t.Error("ChainHash disagrees with ComputeHash")
	}
	if Genesis("s") == Genesis("t") {
		t.Error("genesis values of two streams are equal")
	}
}

func TestVerifierAcceptsValidChain(t *testing.T) {
	t.Parallel()
	recs := buildChain(t, 50, "a", "b", "c")
	v := NewVerifier(nil)
	for i := range recs {
		if err := v.Add(&recs[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if v.Count() != 50 || v.Position() != 50 || len(v.Heads()) != 3 {
		t.Errorf("count %d position %d heads %d; want 50, 50, 3", v.Count(), v.Position(), len(v.Heads()))
	}
}

func TestBreakErrorIsMatchable(t *testing.T) {
	t.Parallel()
	recs := buildChain(t, 3, "a")
	recs[1].Actor = "mallory"
	err := VerifyStream(recs)
	var be *BreakError
	if !errors.As(err, &be) || !errors.Is(err, ErrBroken) {
		t.Fatalf("error %v: want a *BreakError matching ErrBroken", err)
	}
	if be.Stream != "a" || be.Version != 2 || be.Kind != BreakContentChanged || be.Position != 2 {
		t.Errorf("break = %+v, want stream a version 2 position 2 content-changed", be)
	}
}

func TestParseHash(t *testing.T) {
	t.Parallel()
	h := Genesis("x")
	got, err := ParseHash(h.String())
	if err != nil || got != h {
		t.Errorf("ParseHash(String()) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "zz", h.String()[:62], h.String() + "00"} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
	b, _ := json.Marshal(Head{Stream: "s", Version: 1, Hash: h})
	var back Head
	if err := json.Unmarshal(b, &back); err != nil || back.Hash != h {
		t.Errorf("head JSON round trip: %s → %+v, %v", b, back, err)
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add(Genesis("x").String())
	f.Add("00")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			return
		}
		if back, err := ParseHash(h.String()); err != nil || back != h {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}

func BenchmarkComputeHash(b *testing.B) {
	r := buildChain(b, 1, "batch-2026-0042")[0]
	r.Payload = json.RawMessage(`{"batch":"B-2026-0042","lot":"LOT-2026-0042","operator":"op-17","quantity":"12.500","scale":"SC-01","stable":true,"step":"weigh-api","unit":"kg"}`)
	buf := make([]byte, 0, 512)
	enc, _ := Encode(nil, &r)
	b.Logf("record encodes to %d bytes", len(enc))
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		_, buf, _ = ComputeHash(buf, &r)
	}
}

// BenchmarkVerify measures the verifier alone on records of about 300 bytes.
func BenchmarkVerify(b *testing.B) {
	recs := buildChain(b, 10_000, "batch-2026-0001", "batch-2026-0002", "lot-2026-0042", "eq-SC-01")
	for i := range recs {
		recs[i].Payload = json.RawMessage(fmt.Sprintf(`{"batch":"B-2026-0042","lot":"LOT-2026-0042","operator":"op-17","quantity":"12.%03d","scale":"SC-01","stable":true,"step":"weigh-api","unit":"kg"}`, i%1000))
		if i >= 4 {
			recs[i].PrevHash = recs[i-4].Hash
		}
		recs[i].Hash, _, _ = ComputeHash(nil, &recs[i])
	}
	enc, _ := Encode(nil, &recs[0])
	b.Logf("records encode to about %d bytes", len(enc))
	b.ReportAllocs()
	for b.Loop() {
		v := NewVerifier(nil)
		for i := range recs {
			if err := v.Add(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestAppendTimeMatchesFormat checks the fast time writer against the
// standard formatter over a wide range of instants.
func TestAppendTimeMatchesFormat(t *testing.T) {
	t.Parallel()
	check := func(tm time.Time) {
		t.Helper()
		if got, want := string(appendTime(nil, tm)), tm.UTC().Format(timeLayout); got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
	for _, tm := range []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 1000, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 6, 7, 8, 9, 10, 0, time.UTC),
	} {
		check(tm)
	}
	rapid.Check(t, func(rt *rapid.T) {
		sec := rapid.Int64Range(-62135596800, 253402300799).Draw(rt, "sec")
		ns := rapid.Int64Range(0, 999_999_999).Draw(rt, "ns")
		check(time.Unix(sec, ns))
	})
}
