package audit

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// verifyAll runs the verifier over records in the given order and returns
// every break, the end-of-records ones included.
func verifyAll(recs []Record, cp *Checkpoint) []*BreakError {
	v := NewVerifier(cp)
	var out []*BreakError
	for i := range recs {
		var be *BreakError
		if errors.As(v.Add(&recs[i]), &be) {
			out = append(out, be)
		}
	}
	return append(out, v.Finish()...)
}

type want struct {
	stream  string
	version int64
	kind    BreakKind
}

func first(t *testing.T, breaks []*BreakError) want {
	t.Helper()
	if len(breaks) == 0 {
		t.Fatal("tampering went undetected")
	}
	return want{breaks[0].Stream, breaks[0].Version, breaks[0].Kind}
}

// signedCheckpoint commits to the heads of recs.
func signedCheckpoint(t *testing.T, recs []Record) (*Checkpoint, ed25519.PublicKey) {
	t.Helper()
	v := NewVerifier(nil)
	for i := range recs {
		if err := v.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := NewCheckpoint(v.Position(), t0, v.Heads())
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	if err := cp.Sign(key); err != nil {
		t.Fatal(err)
	}
	return cp, pub
}

// TestTamperEveryPosition tampers with each record of a chain in every way
// and checks that verification names that stream, that version and the kind
// of break.
func TestTamperEveryPosition(t *testing.T) {
	t.Parallel()
	const n = 24
	base := buildChain(t, n, "batch-1", "lot-7", "eq-3")
	cp, pub := signedCheckpoint(t, base)
	if err := cp.Verify(pub); err != nil {
		t.Fatal(err)
	}
	// next[i] is the index of the next record of the same stream, or -1.
	next := make([]int, n)
	for i := range base {
		next[i] = -1
		for j := i + 1; j < n; j++ {
			if base[j].Stream == base[i].Stream {
				next[i] = j
				break
			}
		}
	}
	fields := map[string]func(r *Record){
		"payload":  func(r *Record) { r.Payload = json.RawMessage(string(r.Payload[:len(r.Payload)-2]) + `1}`) },
		"type":     func(r *Record) { r.Type += "x" },
		"actor":    func(r *Record) { r.Actor = "mallory" },
		"time":     func(r *Record) { r.Time = r.Time.Add(-TimePrecision) },
		"links":    func(r *Record) { r.Links = nil },
		"evidence": func(r *Record) { r.Evidence = json.RawMessage(`{"source":"manual"}`) },
	}
	for i := range base {
		r := base[i]
		for name, change := range fields {
			t.Run(fmt.Sprintf("%d/edit-%s", i, name), func(t *testing.T) {
				recs := slices.Clone(base)
				change(&recs[i])
				if got, w := first(t, verifyAll(recs, nil)), (want{r.Stream, r.Version, BreakContentChanged}); got != w {
					t.Errorf("break = %+v, want %+v", got, w)
				}
			})
		}
		t.Run(fmt.Sprintf("%d/delete", i), func(t *testing.T) {
			recs := slices.Delete(slices.Clone(base), i, i+1)
			got := first(t, verifyAll(recs, cp))
			w := want{r.Stream, r.Version, BreakMissing}
			if next[i] < 0 {
				// The last record of a stream leaves no gap: only the
				// checkpoint shows it.
				w.kind = BreakTruncated
			}
			if got != w {
				t.Errorf("break = %+v, want %+v", got, w)
			}
		})
		if j := next[i]; j >= 0 {
			t.Run(fmt.Sprintf("%d/swap-with-next", i), func(t *testing.T) {
				recs := slices.Clone(base)
				recs[i], recs[j] = recs[j], recs[i]
				// Swapping positions too keeps global order increasing, so
				// only the versions show the reordering.
				recs[i].Position, recs[j].Position = recs[j].Position, recs[i].Position
				got := first(t, verifyAll(recs, nil))
				if w := (want{r.Stream, r.Version, BreakMissing}); got != w {
					t.Errorf("break = %+v, want %+v", got, w)
				}
				breaks := verifyAll(recs, nil)
				if last := breaks[len(breaks)-1]; last.Kind != BreakReordered || last.Version != r.Version {
					t.Errorf("last break = %+v, want version %d reordered", last, r.Version)
				}
			})
		}
		t.Run(fmt.Sprintf("%d/duplicate", i), func(t *testing.T) {
			recs := slices.Insert(slices.Clone(base), i+1, base[i])
			recs[i+1].Position = base[i].Position // repeated position
			if got, w := first(t, verifyAll(recs, nil)), (want{r.Stream, r.Version, BreakReordered}); got != w {
				t.Errorf("break = %+v, want %+v", got, w)
			}
		})
		t.Run(fmt.Sprintf("%d/rewrite-with-recomputed-hashes", i), func(t *testing.T) {
			recs := slices.Clone(base)
			recs[i].Payload = json.RawMessage(`{"forged":true}`)
			rehash(t, recs, r.Stream, r.Version)
			if breaks := verifyAll(recs, nil); len(breaks) != 0 {
				t.Fatalf("a consistent rewrite shows without a checkpoint: %v", breaks[0])
			}
			head := cp.Heads[slices.IndexFunc(cp.Heads, func(h Head) bool { return h.Stream == r.Stream })]
			if got, w := first(t, verifyAll(recs, cp)), (want{r.Stream, head.Version, BreakHashMismatch}); got != w {
				t.Errorf("break = %+v, want %+v", got, w)
			}
		})
	}
	for _, s := range []string{"batch-1", "lot-7", "eq-3"} {
		t.Run("delete-stream-"+s, func(t *testing.T) {
			recs := slices.DeleteFunc(slices.Clone(base), func(r Record) bool { return r.Stream == s })
			if got, w := first(t, verifyAll(recs, cp)), (want{s, 1, BreakStreamDeleted}); got != w {
				t.Errorf("break = %+v, want %+v", got, w)
			}
		})
	}
}

// rehash recomputes the hashes of stream from version on, as a forger with
// write access to the database would.
func rehash(t *testing.T, recs []Record, stream string, from int64) {
	t.Helper()
	var prev *Record
	for i := range recs {
		r := &recs[i]
		if r.Stream != stream {
			continue
		}
		if r.Version >= from {
			if prev != nil {
				r.PrevHash = prev.Hash
			}
			var err error
			if r.Hash, _, err = ComputeHash(nil, r); err != nil {
				t.Fatal(err)
			}
		}
		prev = r
	}
}

func TestCheckpointSignature(t *testing.T) {
	t.Parallel()
	recs := buildChain(t, 6, "a", "b")
	cp, pub := signedCheckpoint(t, recs)
	if err := cp.Verify(pub); err != nil {
		t.Fatalf("fresh checkpoint: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if err := cp.Verify(otherPub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other key: error = %v, want ErrBadSignature", err)
	}
	for name, change := range map[string]func(c *Checkpoint){
		"position": func(c *Checkpoint) { c.Position-- },
		"head":     func(c *Checkpoint) { c.Heads[0].Version-- },
		"drop":     func(c *Checkpoint) { c.Heads = c.Heads[1:] },
		"hash":     func(c *Checkpoint) { c.Heads[1].Hash[0] ^= 1 },
		"time":     func(c *Checkpoint) { c.Time = c.Time.Add(TimePrecision) },
	} {
		c := *cp
		c.Heads = slices.Clone(cp.Heads)
		change(&c)
		if err := c.Verify(pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("changed %s: error = %v, want ErrBadSignature", name, err)
		}
	}
	if _, err := NewCheckpoint(1, t0, []Head{{Stream: "a", Version: 1}, {Stream: "a", Version: 2}}); err == nil {
		t.Error("NewCheckpoint accepted a stream twice")
	}
	if err := cp.Verify(pub[:5]); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("short key: error = %v, want a key-size error", err)
	}
}

// TestVerifierMatchesReference drives random tampering and checks that the
// verifier finds the same first break as the naive reference verifier.
func TestVerifierMatchesReference(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(rt, "n")
		recs := buildChain(t, n, "a", "b", "c")
		recs = tamper(rt, recs, 3, false)
		var got *BreakError
		v := NewVerifier(nil)
		for i := range recs {
			if err := v.Add(&recs[i]); err != nil {
				got = err.(*BreakError)
				break
			}
		}
		w := referenceVerify(recs)
		switch {
		case got == nil && w == nil:
		case got == nil || w == nil:
			rt.Fatalf("verifier: %v, reference: %v", got, w)
		case got.Stream != w.Stream || got.Version != w.Version || got.Kind != w.Kind:
			rt.Fatalf("verifier: %v, reference: %v", got, w)
		}
	})
}

// TestBackdated slips records in behind a checkpoint: at every position
// at or below it, a record of a new stream, and one past a stream's head,
// are named as back-dated; a record the checkpoint holds that moved above
// its position is too.
func TestBackdated(t *testing.T) {
	t.Parallel()
	base := buildChain(t, 12, "batch-1", "lot-7")
	cp, _ := signedCheckpoint(t, base[:8])
	for i := range 8 {
		at := base[i].Position
		// Positions are 1, 2, …; make room below base[i].
		shift := func() []Record {
			recs := slices.Clone(base)
			for k := range recs {
				recs[k].Position *= 10
			}
			return recs
		}
		t.Run(fmt.Sprintf("new-stream-before-%d", i), func(t *testing.T) {
			recs := shift()
			intruder := Record{Stream: "batch-9", Version: 1, Position: at*10 - 5, Type: "batch.released", Actor: "mallory",
				Time: t0, Payload: json.RawMessage(`{}`), Evidence: json.RawMessage(`null`), PrevHash: Genesis("batch-9")}
			var err error
			if intruder.Hash, _, err = ComputeHash(nil, &intruder); err != nil {
				t.Fatal(err)
			}
			recs = slices.Insert(recs, i, intruder)
			c := *cp
			c.Position *= 10
			c.Heads = slices.Clone(cp.Heads)
			if got, w := first(t, verifyAll(recs, &c)), (want{"batch-9", 1, BreakBackdated}); got != w {
				t.Errorf("break = %+v, want %+v", got, w)
			}
		})
	}
	t.Run("past-head-below-position", func(t *testing.T) {
		// The checkpoint claims fewer records of batch-1 than stand below
		// its position: one was appended behind it.
		c := *cp
		c.Position = base[9].Position
		if got := first(t, verifyAll(base, &c)); got.kind != BreakBackdated {
			t.Errorf("break = %+v, want back-dated", got)
		}
	})
	t.Run("moved-above", func(t *testing.T) {
		c := *cp
		c.Position = base[6].Position
		got := first(t, verifyAll(base, &c))
		if got.kind != BreakBackdated || got.version > 8 {
			t.Errorf("break = %+v, want a back-dated record the checkpoint holds", got)
		}
	})
}

// TestExpectedHeads checks that a head the store reports but the records
// never reach is named, with its stream and version, and one reached with
// another hash too.
func TestExpectedHeads(t *testing.T) {
	t.Parallel()
	base := buildChain(t, 6, "batch-1", "lot-7")
	v := NewVerifier(nil)
	heads := lastHeads(base)
	unread := Head{Stream: "batch-1", Version: heads["batch-1"].Version + 1, Hash: Hash{1}}
	rewritten := heads["lot-7"]
	rewritten.Hash[0] ^= 1
	v.Expect(unread)
	v.Expect(rewritten)
	v.Expect(Head{Stream: "eq-4", Version: 1, Hash: Hash{2}})
	for i := range base {
		if err := v.Add(&base[i]); err != nil {
			t.Fatal(err)
		}
	}
	var got []want
	for _, b := range v.Finish() {
		got = append(got, want{b.Stream, b.Version, b.Kind})
	}
	w := []want{{"batch-1", unread.Version, BreakUnread}, {"eq-4", 1, BreakUnread}, {"lot-7", rewritten.Version, BreakHashMismatch}}
	if !slices.Equal(got, w) {
		t.Errorf("Finish = %+v, want %+v", got, w)
	}
	// Heads that were read are not reported.
	v = NewVerifier(nil)
	for _, h := range heads {
		v.Expect(h)
	}
	for i := range base {
		v.Add(&base[i])
	}
	if b := v.Finish(); len(b) != 0 {
		t.Errorf("Finish with every head read = %v", b)
	}
}

func lastHeads(recs []Record) map[string]Head {
	out := map[string]Head{}
	for _, r := range recs {
		out[r.Stream] = Head{Stream: r.Stream, Version: r.Version, Hash: r.Hash}
	}
	return out
}

// tamper changes recs at random, at most ops times: an edited actor, a
// deletion, a swap, a duplicate, a broken link to the previous record,
// and, with payloads, an edited payload.
func tamper(rt *rapid.T, recs []Record, ops int, payloads bool) []Record {
	kinds := 4
	if payloads {
		kinds = 5
	}
	for range rapid.IntRange(0, ops).Draw(rt, "ops") {
		if len(recs) == 0 {
			break
		}
		i := rapid.IntRange(0, len(recs)-1).Draw(rt, "i")
		switch rapid.IntRange(0, kinds).Draw(rt, "op") {
		case 0:
			recs[i].Actor += "!"
		case 1:
			recs = slices.Delete(recs, i, i+1)
		case 2:
			j := rapid.IntRange(0, len(recs)-1).Draw(rt, "j")
			recs[i], recs[j] = recs[j], recs[i]
		case 3:
			recs = slices.Insert(recs, i, recs[i])
		case 4:
			recs[i].PrevHash[rapid.IntRange(0, 31).Draw(rt, "byte")] ^= 0x80
		case 5:
			p := slices.Clone(recs[i].Payload)
			p[len(p)-2] ^= 1
			recs[i].Payload = p
		}
	}
	return recs
}
