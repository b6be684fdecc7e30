package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// Attestation: proof, inside a record, that the engine wrote it after its
// gates passed. The engine holds a secret key the database does not; each
// record it writes carries a MAC, by that key, over the record's stream,
// version, type, actor, payload (with the transition's verdict: model,
// version, command, from and to states, gate reasons), evidence and links.
// A record written around the engine (straight through a store, or by SQL
// with the database's own rights) cannot carry a valid one.
//
// The MAC sits in the payload, a JSON object, as its first member (canonical
// order puts "attest" before any member the engine writes):
//
//	{"attest":"v1:<key id>:<base64url of 16 bytes>", …the payload…}
//
// so it is hashed into the chain with the rest, and stores need nothing to
// keep it. Verification strips the member and recomputes the MAC.
//
// A MAC is symmetric: whoever can verify attestations can also make them.
// Keep the key with the engine and the verifier, never in the database.

// Errors of Attested.Check, matched with errors.Is.
var (
	// ErrUnattested: the record carries no attestation.
	ErrUnattested = errors.New("audit: record carries no attestation")
	// ErrAttestationKey: the attestation names a key that is not trusted.
	ErrAttestationKey = errors.New("audit: attestation key is not trusted")
	// ErrAttestationInvalid: the attestation does not verify: the record
	// was changed after it was attested, or it was made without the key.
	ErrAttestationInvalid = errors.New("audit: attestation does not verify")
)

const (
	attestDomain = "interlock/attest/v1\n"
	attestPrefix = `{"attest":"v1:`
	attestMAC    = 16 // bytes of HMAC-SHA256 kept
	// MaxAttestKeyID bounds an attestation key id.
	MaxAttestKeyID = 32
	// MinAttestKey is the shortest attestation key accepted, in bytes.
	MinAttestKey = 32
)

// An Attester makes and checks attestations with one secret key, named by
// an id that records carry. It is safe for concurrent use.
type Attester struct {
	id   string
	pool sync.Pool // of *macState (HMAC-SHA256 with the key)
}

// NewAttester returns an attester with key (at least MinAttestKey bytes of
// secret randomness; it is copied) named id (1 to MaxAttestKeyID letters,
// digits, '-' or '_').
func NewAttester(id string, key []byte) (*Attester, error) {
	if id == "" || len(id) > MaxAttestKeyID {
		return nil, fmt.Errorf("audit: attestation key id %q: want 1 to %d characters", id, MaxAttestKeyID)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("audit: attestation key id %q: only letters, digits, '-' and '_'", id)
		}
	}
	if len(key) < MinAttestKey {
		return nil, fmt.Errorf("audit: attestation key %q has %d bytes, want at least %d", id, len(key), MinAttestKey)
	}
	k := bytes.Clone(key)
	a := &Attester{id: id}
	a.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, k), buf: make([]byte, 0, 1024), sum: make([]byte, 0, sha256.Size)}
	}
	return a, nil
}

// ID returns the key's id.
func (a *Attester) ID() string { return a.id }

// AttestedEvent is what an attestation covers: everything of a record the
// writer decides. Time, position and hashes are the store's.
type AttestedEvent struct {
	Stream   string
	Version  int64
	Type     string
	Actor    string
	Payload  []byte // a canonical JSON object, without an attestation
	Evidence []byte // canonical JSON; empty is null
	Links    []Link
}

// Attest appends to dst the payload of ev with its attestation as first
// member and returns it. ev.Payload must be a JSON object ("{…}") that
// carries no attestation yet.
func (a *Attester) Attest(dst []byte, ev *AttestedEvent) ([]byte, error) {
	p := ev.Payload
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, fmt.Errorf("audit: attest %s v%d: payload is not a JSON object", ev.Stream, ev.Version)
	}
	if bytes.HasPrefix(p, []byte(`{"attest":`)) {
		return nil, fmt.Errorf("audit: attest %s v%d: payload is already attested", ev.Stream, ev.Version)
	}
	sum := a.mac(ev, p[1:])
	dst = append(dst, attestPrefix...)
	dst = append(dst, a.id...)
	dst = append(dst, ':')
	dst = base64.RawURLEncoding.AppendEncode(dst, sum[:])
	dst = append(dst, '"')
	if len(p) > 2 {
		dst = append(dst, ',')
	}
	return append(dst, p[1:]...), nil
}

// macState is what one MAC computation needs: the keyed hash and a buffer
// for its input, so that it is written in one call without allocating.
type macState struct {
	h   hash.Hash
	buf []byte
	sum []byte // cap sha256.Size
}

// mac returns the MAC of ev, whose payload is "{" followed by rest. The
// framing goes through the state's buffer; the payload's rest and the
// evidence, the bulk of the input, are written to the hash as they are,
// not copied first.
func (a *Attester) mac(ev *AttestedEvent, rest []byte) (out [attestMAC]byte) {
	st := a.pool.Get().(*macState)
	st.h.Reset()
	b := append(st.buf[:0], attestDomain...)
	str := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(ev.Stream)
	b = binary.BigEndian.AppendUint64(b, uint64(ev.Version))
	str(ev.Type)
	str(ev.Actor)
	b = binary.BigEndian.AppendUint64(b, uint64(1+len(rest)))
	b = append(b, '{')
	st.h.Write(b)
	st.h.Write(rest)
	evidence := ev.Evidence
	if len(evidence) == 0 {
		evidence = []byte("null")
	}
	b = binary.BigEndian.AppendUint64(b[:0], uint64(len(evidence)))
	st.h.Write(b)
	st.h.Write(evidence)
	b = binary.BigEndian.AppendUint64(b[:0], uint64(len(ev.Links)))
	for _, l := range ev.Links {
		str(l.From)
		str(l.To)
		str(l.Kind)
	}
	st.h.Write(b)
	st.sum = st.h.Sum(st.sum[:0])
	copy(out[:], st.sum)
	if cap(b) <= 64<<10 {
		st.buf = b
	}
	a.pool.Put(st)
	return out
}

// SplitAttestation returns the key id and MAC of an attested payload, and
// the payload as it was before it was attested, in two parts: "{" and
// rest. ok is false when payload carries no attestation of this format.
func SplitAttestation(payload []byte) (keyID string, mac []byte, rest []byte, ok bool) {
	id, mac, rest, ok := splitAttestation(payload)
	return string(id), mac, rest, ok
}

func splitAttestation(payload []byte) (keyID, mac, rest []byte, ok bool) {
	if !bytes.HasPrefix(payload, []byte(attestPrefix)) {
		return nil, nil, nil, false
	}
	tail := payload[len(attestPrefix):]
	end := bytes.IndexByte(tail, '"')
	if end < 0 {
		return nil, nil, nil, false
	}
	tag := tail[:end]
	colon := bytes.IndexByte(tag, ':')
	if colon < 1 {
		return nil, nil, nil, false
	}
	after := tail[end+1:]
	switch {
	case len(after) >= 2 && after[0] == ',':
		rest = after[1:]
	case len(after) == 1 && after[0] == '}':
		rest = after
	default:
		return nil, nil, nil, false
	}
	return tag[:colon], tag[colon+1:], rest, true
}

// StripAttestation returns payload without its attestation member, as it
// was before it was attested; a payload without one is returned as is.
func StripAttestation(payload []byte) []byte {
	_, _, rest, ok := splitAttestation(payload)
	if !ok {
		return payload
	}
	return append([]byte{'{'}, rest...)
}

// Attested is a set of attestation keys: the current one, which attests new
// records, and older ones that records written before a rotation still
// carry. It is safe for concurrent use.
type Attested struct {
	current *Attester
	byID    map[string]*Attester
}

// NewAttested returns the set of current and older. Ids must be distinct.
func NewAttested(current *Attester, older ...*Attester) (*Attested, error) {
	if current == nil {
		return nil, errors.New("audit: no current attestation key")
	}
	k := &Attested{current: current, byID: map[string]*Attester{current.id: current}}
	for i, a := range older {
		if a == nil {
			return nil, fmt.Errorf("audit: older attestation key %d is nil", i)
		}
		if _, dup := k.byID[a.id]; dup {
			return nil, fmt.Errorf("audit: attestation key id %q given twice", a.id)
		}
		k.byID[a.id] = a
	}
	return k, nil
}

// Current returns the key that attests new records.
func (k *Attested) Current() *Attester { return k.current }

// Check reports whether r carries a valid attestation by one of the keys:
// nil, or an error matching ErrUnattested, ErrAttestationKey or
// ErrAttestationInvalid.
func (k *Attested) Check(r *Record) error {
	id, mac, rest, ok := splitAttestation(r.Payload)
	if !ok {
		return ErrUnattested
	}
	a := k.byID[string(id)]
	if a == nil {
		return fmt.Errorf("%w: %q", ErrAttestationKey, id)
	}
	var want [attestMAC + 2]byte
	if len(mac) != base64.RawURLEncoding.EncodedLen(attestMAC) {
		return ErrAttestationInvalid
	}
	n, err := base64.RawURLEncoding.Decode(want[:], mac)
	if err != nil || n != attestMAC {
		return ErrAttestationInvalid
	}
	ev := AttestedEvent{Stream: r.Stream, Version: r.Version, Type: r.Type, Actor: r.Actor, Evidence: r.Evidence, Links: r.Links}
	sum := a.mac(&ev, rest)
	if !hmac.Equal(sum[:], want[:attestMAC]) {
		return ErrAttestationInvalid
	}
	return nil
}
