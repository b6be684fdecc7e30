package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"pgregory.net/rapid"
)

// specMAC is the attestation MAC as its format defines it, written
// plainly: HMAC-SHA256 by key over the domain, then stream, version,
// type, actor, payload (as "{" and rest), evidence (null when empty) and
// the links, every string and byte field prefixed by its length as a
// big-endian uint64, the links by their count; the first 16 bytes kept.
func specMAC(key []byte, ev *AttestedEvent, rest []byte) [attestMAC]byte {
	var b []byte
	str := func(s []byte) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, attestDomain...)
	str([]byte(ev.Stream))
	b = binary.BigEndian.AppendUint64(b, uint64(ev.Version))
	str([]byte(ev.Type))
	str([]byte(ev.Actor))
	str(append([]byte{'{'}, rest...))
	evidence := ev.Evidence
	if len(evidence) == 0 {
		evidence = []byte("null")
	}
	str(evidence)
	b = binary.BigEndian.AppendUint64(b, uint64(len(ev.Links)))
	for _, l := range ev.Links {
		str([]byte(l.From))
		str([]byte(l.To))
		str([]byte(l.Kind))
	}
	h := hmac.New(sha256.New, key)
	h.Write(b)
	var out [attestMAC]byte
	copy(out[:], h.Sum(nil))
	return out
}

// TestMACMatchesSpec holds the MAC, which writes its input to the hash in
// pieces and reuses pooled state, to the format written plainly, on
// random events (long ones too, past the pooled buffer's first size, and
// concurrently, as engines and verifiers call it).
func TestMACMatchesSpec(t *testing.T) {
	t.Parallel()
	a := mustAttester(t, "engine-2026", attestKeyA)
	rapid.Check(t, func(rt *rapid.T) {
		str := func(label string) string {
			return rapid.StringN(0, 40, -1).Draw(rt, label)
		}
		ev := &AttestedEvent{
			Stream:   str("stream"),
			Version:  rapid.Int64().Draw(rt, "version"),
			Type:     str("type"),
			Actor:    str("actor"),
			Evidence: rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(rt, "evidence"),
		}
		for range rapid.IntRange(0, 4).Draw(rt, "links") {
			ev.Links = append(ev.Links, Link{From: str("from"), To: str("to"), Kind: str("kind")})
		}
		rest := rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(rt, "rest")
		want := specMAC(attestKeyA, ev, rest)
		done := make(chan [attestMAC]byte)
		go func() { done <- a.mac(ev, rest) }()
		if got := a.mac(ev, rest); got != want {
			rt.Fatalf("mac = %x, want %x", got, want)
		}
		if got := <-done; got != want {
			rt.Fatalf("concurrent mac = %x, want %x", got, want)
		}
	})
}
