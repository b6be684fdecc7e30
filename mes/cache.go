package mes

import (
	"maps"
	"slices"
	"sync"

	"github.com/interlock-mes/interlock/audit"
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
	mu    sync.Mutex
	facts map[factKey]factEntry
	folds map[foldKey]foldEntry
}

// factEntry is a fact folded from the first version records of its stream.
type factEntry struct {
	version  int64
	lot      gate.Lot
	eq       gate.Equipment
	person   gate.Person
}

type foldKey struct {
	subject, model, step string
	version              int
}

type foldEntry struct {
	n     int // records folded
	state State
}

func newCache() *cache {
	return &cache{facts: map[factKey]factEntry{}, folds: map[foldKey]foldEntry{}}
}

func (c *cache) fact(k factKey) (factEntry, bool) {
	c.mu.Lock()
	e, ok := c.facts[k]
	c.mu.Unlock()
	return e, ok
}

// putFact stores e unless a newer version is there already.
func (c *cache) putFact(k factKey, e factEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.facts[k]; ok && old.version >= e.version {
		return
	}
	if len(c.facts) >= maxFactEntries {
		for k := range c.facts {
			delete(c.facts, k)
			break
		}
	}
	c.facts[k] = e
}

func (c *cache) dropFact(k factKey) {
	c.mu.Lock()
	delete(c.facts, k)
	c.mu.Unlock()
}

func (c *cache) fold(k foldKey) (foldEntry, bool) {
	c.mu.Lock()
	e, ok := c.folds[k]
	c.mu.Unlock()
	return e, ok
}

func (c *cache) putFold(k foldKey, e foldEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.folds[k]; ok && old.n >= e.n {
		return
	}
	if len(c.folds) >= maxFoldEntries {
		for k := range c.folds {
			delete(c.folds, k)
			break
		}
	}
	c.folds[k] = e
}

// clonePerson copies what a Person shares, so that a cached fact is never
// changed through a value handed to a gate.
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
	e.person = clonePerson(e.person)
	for i := range recs {
		if err := e.apply(k.kind, &recs[i]); err != nil {
			c.dropFact(k)
			return
		}
	}
	e.version = recs[len(recs)-1].Version
	c.putFact(k, e)
}
