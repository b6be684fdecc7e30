package memory

import (
	"math"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/audit"
)

// The store keeps its records in values without pointers, so that the
// garbage collector neither scans nor zeroes anything per record: the
// payload and evidence bytes live in large chunks, each record has a
// fixed-size index entry, and strings that repeat (streams, types, actors,
// link ends and kinds) are interned once and named by number. A caller gets
// audit.Record values built from them.

// chunkSize is the size of an arena chunk. Records whose bytes take more
// than a quarter of it get a chunk of their own, so that at most a quarter
// of a chunk is left unused when the next record does not fit.
const chunkSize = 64 << 10

// maxIndex bounds the entries, links and adjacency items the store numbers
// with uint32 (and counts with int).
const maxIndex = min(math.MaxUint32, math.MaxInt)

// arena holds bytes that never change once written.
type arena struct {
	chunks [][]byte
	cur    int // the chunk that small records fill; -1 before the first
	size   int // of a chunk: chunkSize, smaller in tests
}

func newArena() arena { return arena{cur: -1, size: chunkSize} }

// span locates bytes in an arena.
type span struct {
	chunk, off uint32
}

// alloc reserves n bytes and returns where they are and the slice to fill.
func (a *arena) alloc(n int) (span, []byte) {
	if n > a.size/4 {
		a.chunks = append(a.chunks, make([]byte, n))
		return span{chunk: uint32(len(a.chunks) - 1)}, a.chunks[len(a.chunks)-1]
	}
	if a.cur < 0 || cap(a.chunks[a.cur])-len(a.chunks[a.cur]) < n {
		a.chunks = append(a.chunks, make([]byte, 0, a.size))
		a.cur = len(a.chunks) - 1
	}
	c := a.chunks[a.cur]
	a.chunks[a.cur] = c[:len(c)+n]
	return span{chunk: uint32(a.cur), off: uint32(len(c))}, c[len(c) : len(c)+n : len(c)+n]
}

// bytes returns n bytes at sp. The caller must not change them.
func (a *arena) bytes(sp span, n uint32) []byte {
	return a.chunks[sp.chunk][sp.off : sp.off+n : sp.off+n]
}

// entryBits sets the number of entries in a block: 1024 entries of 80
// bytes fill 10 pages of 8 KiB exactly.
const entryBits = 10

// entries holds the index entries in blocks of fixed size, so that growing
// never copies the ones already written.
type entries struct {
	blocks []*[1 << entryBits]entry
	n      int
}

// at returns entry i, which must be below len.
func (es *entries) at(i int) *entry {
	return &es.blocks[i>>entryBits][i&(1<<entryBits-1)]
}

func (es *entries) len() int { return es.n }

func (es *entries) add(e entry) {
	if es.n>>entryBits == len(es.blocks) {
		es.blocks = append(es.blocks, new([1 << entryBits]entry))
	}
	*es.at(es.n) = e
	es.n++
}

// entry is the index entry of one stored record; its position is its number
// plus one.
type entry struct {
	hash     audit.Hash
	sec      int64  // time: seconds since the Unix epoch
	data     span   // payload, then evidence
	nsec     uint32 // time: nanoseconds within the second
	version  uint32 // no larger than the number of entries
	payload  uint32 // bytes of payload
	evidence uint32 // bytes of evidence
	stream   uint32 // index in Store.streams
	typ      uint32 // in Store.names
	actor    uint32 // in Store.names
	// links is the first link in Store.links; the next entry's first link
	// ends them.
	links uint32
}

func (e *entry) time() time.Time { return time.Unix(e.sec, int64(e.nsec)).UTC() }

// link is one stored link: node numbers and the kind's name number.
type link struct {
	from, to, kind uint32
}

// blockBits sets the number of values in a block of a blocks.
const blockBits = 8

// blocks is a list of values kept in blocks of fixed size, so that
// growing never copies the ones already there. The store grows its lists
// of streams and of idempotency keys on nearly every append when each
// append opens a stream (one per batch) and carries a key, as the engine's
// do; a slice would copy all of them at every doubling.
type blocks[T any] struct {
	blocks []*[1 << blockBits]T
	n      int
}

// at returns value i, which must be below len.
func (b *blocks[T]) at(i int64) *T {
	return &b.blocks[i>>blockBits][i&(1<<blockBits-1)]
}

func (b *blocks[T]) len() int { return b.n }

func (b *blocks[T]) add(v T) {
	if b.n>>blockBits == len(b.blocks) {
		b.blocks = append(b.blocks, new([1 << blockBits]T))
	}
	*b.at(int64(b.n)) = v
	b.n++
}

// stream is the state of one stream that has events.
type stream struct {
	name    string
	genesis audit.Hash
	entries []uint32 // the entry of each version, from version 1
}

// interner numbers strings. It keeps its own copy of each, so that a name
// does not pin the memory of the request it came from.
type interner struct {
	ids   map[string]uint32
	names []string
}

func newInterner() interner { return interner{ids: make(map[string]uint32)} }

func (in *interner) id(s string) uint32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	s = strings.Clone(s)
	id := uint32(len(in.names))
	in.names = append(in.names, s)
	in.ids[s] = id
	return id
}

// lastName remembers the last string an interner numbered at one place:
// appends tend to repeat their types and actors, and comparing with the
// last one is cheaper than a map lookup.
type lastName struct {
	name string
	id   uint32
	set  bool
}

func (in *interner) idAt(last *lastName, s string) uint32 {
	if last.set && last.name == s {
		return last.id
	}
	id := in.id(s)
	*last = lastName{name: in.names[id], id: id, set: true}
	return id
}

// list is a linked list of adjacency items, in the order they were added;
// head and tail are item numbers plus one, 0 when the list is empty.
type list struct {
	head, tail uint32
}

// adjacency is one record in the list of a node: the entry and the next item.
type adjacency struct {
	entry, next uint32
}

// nodeLists indexes the records whose links leave (out) or reach (in) a
// node.
type nodeLists struct {
	out, in list
}
