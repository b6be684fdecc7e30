package storagetest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// An Attacker changes a store's records behind its back, as whoever holds
// the database (or the process's memory) could: every change keeps the
// record's fields as given, its hash included, so that an attacker who
// recomputes hashes is played too.
type Attacker interface {
	// Replace overwrites the record at r.Stream and r.Version with r
	// (payload, position, hashes as given).
	Replace(tb testing.TB, r audit.Record)
	// Delete removes the record at stream and version.
	Delete(tb testing.TB, stream string, version int64)
	// Plant adds r as given. beyondRead plants it where the store's global
	// read (ReadAll, Scan) does not reach but its stream read (Load,
	// Heads) does; r.Position is then the attacker's to choose.
	Plant(tb testing.TB, r audit.Record, beyondRead bool)
	// Reader is what a verifier reads from the attacked store.
	Reader() storage.Reader
}

// NewAttacked returns a fresh, empty store and an Attacker of it. The
// attacker acts on what the store holds when it is called.
type NewAttacked func(tb testing.TB) (storage.Store, func() Attacker)

// attestKey is the suite's engine key: records it writes are attested as
// the engine attests them.
var attestKey = func() *audit.Attested {
	a, err := audit.NewAttester("suite", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	k, err := audit.NewAttested(a)
	if err != nil {
		panic(err)
	}
	return k
}()

// RunAttacks is the attack suite: it writes a small record (three
// streams, attested as the engine attests, a trusted checkpoint over it
// and one record after the checkpoint), then, on a fresh store each time,
// attacks every record in every way (flip a byte of it, delete it,
// rewrite its stream from it with recomputed hashes, swap it with the next
// record of its stream), and the whole record in the ways that need no
// position (truncate a stream's tail, back-date a record behind the
// checkpoint, plant one beyond the global read, append around the engine,
// forge a checkpoint). Each attack must be found by verification and named
// by the stream and version it touched, or refused; the one exception,
// asserted as such, is deleting the record written after the newest
// checkpoint, which nothing but a newer checkpoint can reveal.
func RunAttacks(t *testing.T, newAttacked NewAttacked) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	key := testKey
	setup := func(tb testing.TB) (storage.Store, []audit.Record, *audit.Checkpoint, func() Attacker) {
		s, attacker := newAttacked(tb)
		for i := range 9 {
			stream := []string{"batch-1", "lot-7", "eq-3"}[i%3]
			payload, err := attestKey.Current().Attest(nil, &audit.AttestedEvent{Stream: stream, Version: int64(i/3 + 1),
				Type: "step.completed", Actor: "op-7", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)), Evidence: []byte("null")})
			if err != nil {
				tb.Fatal(err)
			}
			mustAppend(tb, s, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: int64(i / 3),
				Events: []storage.Event{{Type: "step.completed", Actor: "op-7", Payload: payload}}}}})
		}
		recs := readAll(tb, s)
		cp, err := storage.Checkpoint(context.Background(), s, key, at)
		if err != nil {
			tb.Fatal(err)
		}
		// One record after the checkpoint, so that not every stream
		// ends at it.
		payload, _ := attestKey.Current().Attest(nil, &audit.AttestedEvent{Stream: "batch-1", Version: 4,
			Type: "step.completed", Actor: "op-7", Payload: []byte(`{"n":9}`), Evidence: []byte("null")})
		recs = append(recs, mustAppend(tb, s, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-1", ExpectedVersion: 3,
			Events: []storage.Event{{Type: "step.completed", Actor: "op-7", Payload: payload}}}}})...)
		return s, recs, cp, attacker
	}
	trusted := mustKeys(key.Public().(ed25519.PublicKey))
	verify := func(tb testing.TB, a Attacker, cp *audit.Checkpoint) []*audit.BreakError {
		tb.Helper()
		rep, err := storage.VerifyWith(context.Background(), a.Reader(), storage.VerifyConfig{Checkpoint: cp, Keys: trusted, Attestation: attestKey})
		if err != nil && !errors.Is(err, audit.ErrBroken) {
			tb.Fatalf("Verify: %v", err)
		}
		if rep == nil {
			tb.Fatal("Verify gave no report")
		}
		return rep.Breaks
	}
	named := func(tb testing.TB, breaks []*audit.BreakError, stream string, version int64) {
		tb.Helper()
		for _, b := range breaks {
			if b.Stream == stream && b.Version == version {
				return
			}
		}
		tb.Errorf("no break names %s v%d; breaks: %v", stream, version, breaks)
	}
	// rechain recomputes the hashes of recs' stream from index i on.
	rechain := func(tb testing.TB, recs []audit.Record, from int) []audit.Record {
		out := slices.Clone(recs)
		prev := out[from].PrevHash
		for k := from; k < len(out); k++ {
			if out[k].Stream != out[from].Stream {
				continue
			}
			out[k].PrevHash = prev
			var err error
			if out[k].Hash, _, err = audit.ComputeHash(nil, &out[k]); err != nil {
				tb.Fatal(err)
			}
			prev = out[k].Hash
		}
		return out
	}

	t.Run("Untouched", func(t *testing.T) {
		t.Parallel()
		_, _, cp, attacker := setup(t)
		if b := verify(t, attacker(), cp); len(b) != 0 {
			t.Fatalf("an untouched store has breaks: %v", b)
		}
	})
	for i := range 10 {
		t.Run(fmt.Sprintf("record-%d", i), func(t *testing.T) {
			t.Parallel()
			t.Run("flip", func(t *testing.T) {
				t.Parallel()
				_, recs, cp, attacker := setup(t)
				r := recs[i]
				r.Payload = bytes.Replace(r.Payload, []byte(`"n":`), []byte(`"m":`), 1)
				a := attacker()
				a.Replace(t, r)
				named(t, verify(t, a, cp), r.Stream, r.Version)
			})
			t.Run("delete", func(t *testing.T) {
				t.Parallel()
				_, recs, cp, attacker := setup(t)
				a := attacker()
				a.Delete(t, recs[i].Stream, recs[i].Version)
				if i == 9 {
					// The limit of what a chain and a checkpoint prove:
					// the last records of a stream written after the
					// newest checkpoint can be cut off unseen. Only a
					// newer checkpoint, kept by a Witness, covers them.
					if b := verify(t, a, cp); len(b) != 0 {
						t.Errorf("breaks %v: the tail past the checkpoint should be the one thing not found", b)
					}
					return
				}
				named(t, verify(t, a, cp), recs[i].Stream, recs[i].Version)
			})
			t.Run("rewrite", func(t *testing.T) {
				t.Parallel()
				_, recs, cp, attacker := setup(t)
				// Change the record and recompute every hash of its
				// stream from it: the chain holds, the checkpoint and the
				// attestation do not.
				changed := slices.Clone(recs)
				changed[i].Payload = bytes.Replace(changed[i].Payload, []byte(`"n":`), []byte(`"m":`), 1)
				changed = rechain(t, changed, i)
				a := attacker()
				for k := i; k < len(changed); k++ {
					if changed[k].Stream == recs[i].Stream {
						a.Replace(t, changed[k])
					}
				}
				named(t, verify(t, a, cp), recs[i].Stream, recs[i].Version)
			})
			// batch-1 holds records 0, 3, 6 and 9, lot-7 1, 4 and 7,
			// eq-3 2, 5 and 8.
			if hasNext := i < 6 || i == 6; !hasNext {
				return
			}
			t.Run("reorder", func(t *testing.T) {
				t.Parallel()
				_, recs, cp, attacker := setup(t)
				next := -1
				for k := i + 1; k < len(recs); k++ {
					if recs[k].Stream == recs[i].Stream {
						next = k
						break
					}
				}
				a, b := recs[i], recs[next]
				a.Position, b.Position = b.Position, a.Position
				atk := attacker()
				atk.Delete(t, a.Stream, a.Version)
				atk.Delete(t, b.Stream, b.Version)
				atk.Plant(t, a, false)
				atk.Plant(t, b, false)
				named(t, verify(t, atk, cp), recs[i].Stream, recs[i].Version)
			})
		})
	}
	t.Run("truncate", func(t *testing.T) {
		t.Parallel()
		_, _, cp, attacker := setup(t)
		a := attacker()
		a.Delete(t, "eq-3", 3)
		a.Delete(t, "eq-3", 2)
		named(t, verify(t, a, cp), "eq-3", 2)
	})
	t.Run("back-date", func(t *testing.T) {
		t.Parallel()
		_, recs, cp, attacker := setup(t)
		r := forged(t, "batch-9", 1, audit.Genesis("batch-9"), recs[0].Position+1)
		a := attacker()
		a.Plant(t, r, false)
		named(t, verify(t, a, cp), "batch-9", 1)
	})
	t.Run("plant-beyond-read", func(t *testing.T) {
		t.Parallel()
		_, recs, cp, attacker := setup(t)
		last := recs[len(recs)-1]
		r := forged(t, last.Stream, last.Version+1, last.Hash, last.Position*1000)
		a := attacker()
		a.Plant(t, r, true)
		named(t, verify(t, a, cp), r.Stream, r.Version)
	})
	t.Run("append-around-engine", func(t *testing.T) {
		t.Parallel()
		s, _, cp, attacker := setup(t)
		// Through the store's own API: a writer that skips the engine
		// gets it written, and verification names it.
		res := mustAppend(t, s, one("lot-7", 3, ev("lot.released", `{"n":99}`)))
		named(t, verify(t, attacker(), cp), "lot-7", res[0].Version)
	})
	t.Run("forge-checkpoint", func(t *testing.T) {
		t.Parallel()
		s, _, cp, attacker := setup(t)
		other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
		heads, err := s.Heads(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fake, err := audit.NewCheckpoint(cp.Position+1_000_000, at, heads)
		if err != nil {
			t.Fatal(err)
		}
		if err := fake.Sign(other); err != nil {
			t.Fatal(err)
		}
		fake.KeyID = cp.KeyID // claim the trusted key
		if err := s.SaveCheckpoint(context.Background(), fake); err != nil {
			t.Fatal(err)
		}
		if got, err := attacker().Reader().LatestCheckpoint(context.Background(), trusted); err != nil || got.Position != cp.Position {
			t.Errorf("LatestCheckpoint = %v, %v; want the trusted one at %d", got, err, cp.Position)
		}
		if _, err := storage.Verify(context.Background(), s, fake, trusted); !errors.Is(err, audit.ErrBadSignature) {
			t.Errorf("Verify against the forged checkpoint: %v, want ErrBadSignature", err)
		}
	})
}

// forged is a record of the attacker's, chained after prev and correctly
// hashed, with an attestation made under the engine's key id but without
// its key.
func forged(tb testing.TB, stream string, version int64, prev audit.Hash, position int64) audit.Record {
	tb.Helper()
	bad, err := audit.NewAttester("suite", bytes.Repeat([]byte{8}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := bad.Attest(nil, &audit.AttestedEvent{Stream: stream, Version: version, Type: "step.completed", Actor: "mallory",
		Payload: []byte(`{"n":"forged"}`), Evidence: []byte("null")})
	if err != nil {
		tb.Fatal(err)
	}
	r := audit.Record{Stream: stream, Version: version, Position: position, Type: "step.completed", Actor: "mallory",
		Time: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), Payload: payload, Evidence: []byte("null"), PrevHash: prev}
	if r.Hash, _, err = audit.ComputeHash(nil, &r); err != nil {
		tb.Fatal(err)
	}
	return r
}

// SnapshotAttacker attacks a copy of everything s holds when it is called:
// its Reader serves the copy, changed as told. It plays an attacker on a
// store with no tables to edit (the memory store: whoever can write the
// process's memory), and is the reference the SQL attackers are held to.
func SnapshotAttacker(tb testing.TB, s storage.Store) Attacker {
	tb.Helper()
	return &snapshot{store: s, recs: readAll(tb, s)}
}

type snapshot struct {
	store  storage.Store
	recs   []audit.Record
	hidden []audit.Record // planted beyond the global read
}

func (a *snapshot) Replace(tb testing.TB, r audit.Record) {
	for i := range a.recs {
		if a.recs[i].Stream == r.Stream && a.recs[i].Version == r.Version {
			a.recs[i] = r
			a.sort()
			return
		}
	}
	tb.Fatalf("replace: no %s v%d", r.Stream, r.Version)
}

func (a *snapshot) Delete(tb testing.TB, stream string, version int64) {
	n := len(a.recs)
	a.recs = slices.DeleteFunc(a.recs, func(r audit.Record) bool { return r.Stream == stream && r.Version == version })
	if len(a.recs) == n {
		tb.Fatalf("delete: no %s v%d", stream, version)
	}
}

func (a *snapshot) Plant(_ testing.TB, r audit.Record, beyondRead bool) {
	if beyondRead {
		a.hidden = append(a.hidden, r)
		return
	}
	a.recs = append(a.recs, r)
	a.sort()
}

func (a *snapshot) sort() {
	slices.SortStableFunc(a.recs, func(x, y audit.Record) int { return cmp.Compare(x.Position, y.Position) })
}

func (a *snapshot) Reader() storage.Reader { return a }

func (a *snapshot) Load(_ context.Context, stream string, from int64) ([]audit.Record, error) {
	var out []audit.Record
	for _, r := range slices.Concat(a.recs, a.hidden) {
		if r.Stream == stream && r.Version >= from {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(x, y audit.Record) int { return cmp.Compare(x.Version, y.Version) })
	return out, nil
}

func (a *snapshot) ReadAll(_ context.Context, after int64, limit int) ([]audit.Record, error) {
	var out []audit.Record
	for _, r := range a.recs {
		if r.Position > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (a *snapshot) Heads(context.Context) ([]audit.Head, error) {
	byStream := map[string]audit.Head{}
	for _, r := range slices.Concat(a.recs, a.hidden) {
		if h, ok := byStream[r.Stream]; !ok || r.Version > h.Version {
			byStream[r.Stream] = audit.Head{Stream: r.Stream, Version: r.Version, Hash: r.Hash}
		}
	}
	out := make([]audit.Head, 0, len(byStream))
	for _, h := range byStream {
		out = append(out, h)
	}
	slices.SortFunc(out, func(x, y audit.Head) int { return strings.Compare(x.Stream, y.Stream) })
	return out, nil
}

func (a *snapshot) Traverse(context.Context, storage.TraverseRequest) ([]storage.Edge, error) {
	return nil, errors.New("storagetest: a snapshot does not traverse")
}

func (a *snapshot) LatestCheckpoint(ctx context.Context, keys *audit.Keys) (*audit.Checkpoint, error) {
	return a.store.LatestCheckpoint(ctx, keys)
}
