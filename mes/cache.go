package mes

import (
	"maps"
	"slices"
	"sync"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

// Bounds of the engine's caches, in entries. When one is full an arbitrary
// entry makes room: a miss costs a read, never a wrong answer.
const (
	maxFactEntries = 1 << 16
	maxFoldEntries = 1 << 14
)

// cache keeps what the engine derived from the record, so that a command
// does not decode the same events again:
//
//   - facts (lot, equipment, person) folded from their streams, with the
//     version they were folded at. A command trusts them without reading
//     the store: the append asserts that version, so a fact that moved makes
//     the append conflict, and the retry reads the streams again.
//   - the state of each (subject, model, step) with the number of records
//     it was folded from; the subject is read on every command (from that
//     number on), so its state is never stale.
//
// The store stays the only source of truth: the cache holds nothing that a
// conflict would not correct.
type cache struct {
	facts bounded[factKey, factEntry]
	folds bounded[foldKey, foldEntry]
}

// factEntry is a fact folded from the first version records of its stream.
//
// The values are shared and never changed: applying a record replaces the
// value with a changed copy (see factEntry.apply).
type factEntry struct {
	stream  string // the fact's stream, named once
	version int64
	lot     *gate.Lot
	eq      *gate.Equipment
	eqPlace *event.Place // where the equipment was registered, if it says
	person  *gate.Person
}

type foldKey struct {
	subject, model, step string
	version              int
}

type foldEntry struct {
	n     int // records folded
	state State
	bound boundContext // of a step; its refs are shared and never changed
}

func newCache() *cache {
	return &cache{
		facts: bounded[factKey, factEntry]{max: maxFactEntries, m: map[factKey]factEntry{}, newer: func(a, b factEntry) bool { return a.version > b.version }},
		folds: bounded[foldKey, foldEntry]{max: maxFoldEntries, m: map[foldKey]foldEntry{}, newer: func(a, b foldEntry) bool { return a.n > b.n }},
	}
}

func (c *cache) fact(k factKey) (factEntry, bool) { return c.facts.get(k) }
func (c *cache) putFact(k factKey, e factEntry)   { c.facts.put(k, e) }
func (c *cache) dropFact(k factKey)               { c.facts.drop(k) }
func (c *cache) fold(k foldKey) (foldEntry, bool) { return c.folds.get(k) }
func (c *cache) putFold(k foldKey, e foldEntry)   { c.folds.put(k, e) }

// bounded is a map safe for concurrent use that holds at most max entries
// and keeps the newer of two values for a key.
type bounded[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	m     map[K]V
	newer func(a, b V) bool
}

func (b *bounded[K, V]) get(k K) (V, bool) {
	b.mu.Lock()
	v, ok := b.m[k]
	b.mu.Unlock()
	return v, ok
}

// put stores v unless a newer value is there already; when the map is full
// an arbitrary entry makes room.
func (b *bounded[K, V]) put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.m[k]; ok && !b.newer(v, old) {
		return
	}
	if len(b.m) >= b.max {
		for old := range b.m {
			delete(b.m, old)
			break
		}
	}
	b.m[k] = v
}

func (b *bounded[K, V]) drop(k K) {
	b.mu.Lock()
	delete(b.m, k)
	b.mu.Unlock()
}

// clonePerson copies what a Person shares.
func clonePerson(p gate.Person) gate.Person {
	p.Roles = slices.Clone(p.Roles)
	p.Training = maps.Clone(p.Training)
	return p
}

// observe brings the cached facts of the streams in recs up to date after
// an append of this engine: a cached fact one version behind applies the
// new records; any other is dropped.
func (c *cache) observe(recs []audit.Record) {
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].Stream == recs[i].Stream {
			j++
		}
		c.observeStream(recs[i:j])
		i = j
	}
}

func (c *cache) observeStream(recs []audit.Record) {
	k, ok := factKeyOf(recs[0].Stream)
	if !ok {
		return
	}
	e, ok := c.fact(k)
	if !ok {
		return
	}
	if e.version != recs[0].Version-1 {
		c.dropFact(k)
		return
	}
	for i := range recs {
		if err := e.apply(k.kind, &recs[i]); err != nil {
			c.dropFact(k)
			return
		}
	}
	e.version = recs[len(recs)-1].Version
	c.putFact(k, e)
}
