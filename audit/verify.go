package audit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrBroken is matched (errors.Is) by every *BreakError.
var ErrBroken = errors.New("audit chain broken")

// BreakKind names how a chain is broken.
type BreakKind string

// The kinds of break a Verifier reports.
const (
	// BreakContentChanged: the record's content no longer hashes to its
	// stored hash; someone edited it after it was written.
	BreakContentChanged BreakKind = "content-changed"
	// BreakMissing: a version is absent; the record after it arrived instead.
	BreakMissing BreakKind = "missing"
	// BreakReordered: a record arrived after one that should follow it (a
	// lower or repeated version, or a global position that went backwards).
	BreakReordered BreakKind = "reordered"
	// BreakHashMismatch: the record is self-consistent but does not chain to
	// what precedes it, or its hash differs from the one a trusted checkpoint
	// holds; the stream was rewritten with recomputed hashes.
	BreakHashMismatch BreakKind = "hash-mismatch"
	// BreakTruncated: the stream ends before the version a trusted
	// checkpoint holds.
	BreakTruncated BreakKind = "truncated"
	// BreakStreamDeleted: a stream a trusted checkpoint holds has no records.
	BreakStreamDeleted BreakKind = "stream-deleted"
	// BreakBackdated: a record sits at or below a trusted checkpoint's
	// position but the checkpoint does not hold it (its stream is not in
	// the checkpoint, or its version is past the checkpoint's head): it was
	// slipped in behind the checkpoint. A record the checkpoint holds that
	// now sits above its position was moved, and is reported so too.
	BreakBackdated BreakKind = "back-dated"
	// BreakUnread: the store reports a stream head that reading the records
	// in global order never reached: a record planted outside the range the
	// store's global read covers, which its stream reads (and so the
	// engine) would use unverified. On Postgres a record held back by a
	// transaction that stays open past the read's wait is reported so too;
	// verifying again once it has ended tells the two apart.
	BreakUnread BreakKind = "unread"
	// BreakUnattested: the record is sound in its chain but carries no
	// valid attestation by a trusted engine key (see Attested): it was
	// written around the engine, or by an engine with another key. Only a
	// verifier given attestation keys (Verifier.Attestation) reports it.
	BreakUnattested BreakKind = "unattested"
)

// BreakError is the evidence of a broken chain: which stream, which version,
// what kind of break, and what was expected against what was found.
type BreakError struct {
	Stream   string
	Version  int64 // the version at which the break shows
	Position int64 // global position of the offending record; 0 if there is none
	Kind     BreakKind
	Want     string // what the chain or checkpoint requires (a hash or version)
	Got      string // what the records hold
}

func (e *BreakError) Error() string {
	return fmt.Sprintf("audit: stream %q version %d: %s (want %s, got %s)", e.Stream, e.Version, e.Kind, e.Want, e.Got)
}

// Unwrap makes errors.Is(err, ErrBroken) true.
func (e *BreakError) Unwrap() error { return ErrBroken }

type streamState struct {
	version int64 // last version seen
	hash    Hash  // hash of the last record seen
}

// Verifier checks records fed to it in global order. It is not safe for
// concurrent use. The zero value is not usable; call NewVerifier.
type Verifier struct {
	streams    map[string]*streamState
	checkpoint map[string]Head // heads of a trusted checkpoint, if any
	cpPosition int64           // its position; -1 without one
	position   int64
	count      int64
	buf        []byte
	attest     *Attested       // when set, every record must be attested
	expected   map[string]Head // heads the store reported, checked by Finish
	reached    map[string]Hash // the hash read at each expected head's version
}

// NewVerifier returns a verifier that starts from empty streams. When cp is
// not nil, the records are also checked against its heads; cp's signature
// must have been checked by the caller (Checkpoint.Verify).
func NewVerifier(cp *Checkpoint) *Verifier {
	v := &Verifier{streams: make(map[string]*streamState), buf: make([]byte, 0, 512), cpPosition: -1}
	if cp != nil {
		v.cpPosition = cp.Position
		v.checkpoint = make(map[string]Head, len(cp.Heads))
		for _, h := range cp.Heads {
			v.checkpoint[h.Stream] = h
		}
	}
	return v
}

// Add checks the next record in global order and returns a *BreakError if it
// breaks its stream's chain. After a break the verifier continues from the
// offending record, so later calls report later, independent breaks.
func (v *Verifier) Add(r *Record) error {
	var p Prechecked
	p.sum, v.buf, p.encErr = ComputeHash(v.buf, r)
	if v.attest != nil {
		p.attestErr = v.attest.Check(r)
	}
	return v.add(r, &p)
}

// Prechecked is what Precheck found for one record: the part of Add's
// work that needs nothing but the record, so that it can be spread over
// cores.
type Prechecked struct {
	sum       Hash
	encErr    error // the record could not be encoded
	attestErr error // its attestation, when the verifier checks them
}

// Precheck does for r the part of Add that reads no other record: it
// hashes r's content and, when the verifier checks attestations, checks
// r's attestation. buf is scratch space, returned grown. Precheck reads
// nothing of the verifier but its attestation keys, so it may run
// concurrently with other Precheck calls and with AddPrechecked (not with
// Add, which shares a buffer, nor with Attestation); AddPrechecked then
// takes the records in global order with what Precheck found for each, and
// reports exactly what Add would.
func (v *Verifier) Precheck(buf []byte, r *Record) (Prechecked, []byte) {
	var p Prechecked
	p.sum, buf, p.encErr = ComputeHash(buf, r)
	if v.attest != nil {
		p.attestErr = v.attest.Check(r)
	}
	return p, buf
}

// AddPrechecked is Add for r, with p what Precheck found for r.
func (v *Verifier) AddPrechecked(r *Record, p *Prechecked) error {
	return v.add(r, p)
}

func (v *Verifier) add(r *Record, p *Prechecked) error {
	v.count++
	st := v.streams[r.Stream]
	if st == nil {
		st = &streamState{hash: Genesis(r.Stream)}
		v.streams[r.Stream] = st
	}
	err := v.check(st, r, p)
	if r.Position > v.position {
		v.position = r.Position
	}
	if r.Version > st.version {
		st.version, st.hash = r.Version, r.Hash
	}
	if v.expected != nil {
		if h, ok := v.expected[r.Stream]; ok && h.Version == r.Version {
			v.reached[r.Stream] = r.Hash
		}
	}
	return err
}

func (v *Verifier) check(st *streamState, r *Record, p *Prechecked) error {
	brk := func(kind BreakKind, want, got string) error {
		return &BreakError{Stream: r.Stream, Version: r.Version, Position: r.Position, Kind: kind, Want: want, Got: got}
	}
	if r.Position <= v.position {
		return brk(BreakReordered, fmt.Sprintf("position > %d", v.position), fmt.Sprint(r.Position))
	}
	switch want := st.version + 1; {
	case r.Version < want:
		return brk(BreakReordered, fmt.Sprintf("version %d", want), fmt.Sprintf("version %d", r.Version))
	case r.Version > want:
		return &BreakError{Stream: r.Stream, Version: want, Position: r.Position, Kind: BreakMissing,
			Want: fmt.Sprintf("version %d", want), Got: fmt.Sprintf("version %d", r.Version)}
	}
	if p.encErr != nil {
		return brk(BreakContentChanged, "encodable content", p.encErr.Error())
	}
	if p.sum != r.Hash {
		// Want is the hash the chain holds, Got the hash of the content as
		// it now stands.
		return brk(BreakContentChanged, r.Hash.String(), p.sum.String())
	}
	if r.PrevHash != st.hash {
		return brk(BreakHashMismatch, st.hash.String(), r.PrevHash.String())
	}
	if err := v.checkAgainstCheckpoint(r, brk); err != nil {
		return err
	}
	if v.attest != nil && p.attestErr != nil {
		return brk(BreakUnattested, "an attestation by a trusted engine key", p.attestErr.Error())
	}
	return nil
}

// checkAgainstCheckpoint checks r against the trusted checkpoint, if any.
func (v *Verifier) checkAgainstCheckpoint(r *Record, brk func(kind BreakKind, want, got string) error) error {
	if v.checkpoint == nil {
		return nil
	}
	h, held := v.checkpoint[r.Stream]
	if held && h.Version == r.Version && h.Hash != r.Hash {
		return brk(BreakHashMismatch, h.Hash.String(), r.Hash.String())
	}
	switch {
	case r.Position <= v.cpPosition && !held:
		return brk(BreakBackdated, fmt.Sprintf("no record of the stream at or below checkpoint position %d", v.cpPosition),
			fmt.Sprintf("position %d", r.Position))
	case r.Position <= v.cpPosition && r.Version > h.Version:
		return brk(BreakBackdated, fmt.Sprintf("version <= %d at or below checkpoint position %d", h.Version, v.cpPosition),
			fmt.Sprintf("version %d at position %d", r.Version, r.Position))
	case r.Position > v.cpPosition && held && r.Version <= h.Version:
		return brk(BreakBackdated, fmt.Sprintf("position <= %d, as the checkpoint holds version %d", v.cpPosition, h.Version),
			fmt.Sprintf("position %d", r.Position))
	}
	return nil
}

// Attestation makes the verifier report every record that carries no valid
// attestation by one of keys (BreakUnattested). It must be called before
// the records are added.
func (v *Verifier) Attestation(keys *Attested) {
	v.attest = keys
}

// Expect checks at Finish that the records reached head: a stream head the
// store reports. Every head the store gave before the records were read
// must have been read; one that was not is reported as BreakUnread, and
// one read with another hash as BreakHashMismatch.
// Expect must be called before the records are added.
func (v *Verifier) Expect(head Head) {
	if v.expected == nil {
		v.expected = make(map[string]Head)
		v.reached = make(map[string]Hash)
	}
	v.expected[head.Stream] = head
}

// Finish reports what only the end of the records shows: streams of the
// trusted checkpoint that are missing or shorter than it holds, and heads
// given to Expect that the records never reached. It returns every such
// break, sorted by stream.
func (v *Verifier) Finish() []*BreakError {
	var out []*BreakError
	for _, h := range v.expected {
		got, ok := v.reached[h.Stream]
		switch {
		case !ok:
			read := "no records"
			if st := v.streams[h.Stream]; st != nil {
				read = fmt.Sprintf("version %d", st.version)
			}
			out = append(out, &BreakError{Stream: h.Stream, Version: h.Version, Kind: BreakUnread,
				Want: fmt.Sprintf("version %d, the store's head", h.Version), Got: read})
		case got != h.Hash:
			out = append(out, &BreakError{Stream: h.Stream, Version: h.Version, Kind: BreakHashMismatch,
				Want: h.Hash.String(), Got: got.String()})
		}
	}
	for _, h := range v.checkpoint {
		st := v.streams[h.Stream]
		switch {
		case st == nil:
			out = append(out, &BreakError{Stream: h.Stream, Version: 1, Kind: BreakStreamDeleted,
				Want: fmt.Sprintf("version %d", h.Version), Got: "no records"})
		case st.version < h.Version:
			out = append(out, &BreakError{Stream: h.Stream, Version: st.version + 1, Kind: BreakTruncated,
				Want: fmt.Sprintf("version %d", h.Version), Got: fmt.Sprintf("version %d", st.version)})
		}
	}
	slices.SortFunc(out, func(a, b *BreakError) int { return strings.Compare(a.Stream, b.Stream) })
	return out
}

// Heads returns the head of every stream seen, sorted by stream.
func (v *Verifier) Heads() []Head {
	out := make([]Head, 0, len(v.streams))
	for s, st := range v.streams {
		out = append(out, Head{Stream: s, Version: st.version, Hash: st.hash})
	}
	slices.SortFunc(out, func(a, b Head) int { return strings.Compare(a.Stream, b.Stream) })
	return out
}

// Position returns the highest global position seen.
func (v *Verifier) Position() int64 { return v.position }

// Count returns how many records were added.
func (v *Verifier) Count() int64 { return v.count }

// VerifyStream checks the records of one stream, given in version order from
// version 1, and returns the first break or nil.
func VerifyStream(records []Record) error {
	v := NewVerifier(nil)
	for i := range records {
		if err := v.Add(&records[i]); err != nil {
			return err
		}
	}
	return nil
}
