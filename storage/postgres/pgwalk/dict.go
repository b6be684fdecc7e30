package pgwalk

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/interlock-mes/interlock/audit"
)

// A dictionary is stored beside a closure (genealogy_closures.resolved)
// and holds what Traverse adds to the closure's edges: the names of their
// nodes, by id, and their proving events (stream, version, hash), by
// position. Node ids and names never change and events are never updated,
// so a stored dictionary is never stale, only incomplete: a reader looks up
// the entries it lacks (the nodes and events of edges written since) in the
// tables, and a reader that looked up enough of them stores the dictionary
// again with them added. Reading it costs one packed value instead of an
// index or heap lookup per node and per event.
//
// Packed little-endian, by column, so that decoding copies no string:
//
//	format byte (dictFormat)
//	nodes, events, strings, string bytes: uint32 each
//	ids       int32 × nodes, ascending
//	names     uint32 × nodes: index of each node's name in the strings
//	positions int64 × events, ascending
//	versions  int64 × events
//	streams   uint32 × events: index of each event's stream in the strings
//	hashes    32 bytes × events
//	ends      uint32 × strings: where each string ends in the bytes
//	bytes
//
// Names and streams share the strings (a batch's stream is often a node's
// name), each string once.

// dictFormat is the first byte of a packed dictionary.
const dictFormat = 1

// dictHeader is the size of the format byte and the four counts.
const dictHeader = 1 + 4*4

// maxDictBytes bounds a stored dictionary (bytea holds at most 1 GB).
const maxDictBytes = 1 << 29

// proof is a link's proving event.
type proof struct {
	stream  string
	version int64
	hash    audit.Hash
}

// dict is a decoded dictionary; its strings share one allocation.
type dict struct {
	ids       []int32
	names     []uint32
	positions []int64
	versions  []int64
	streams   []uint32
	hashes    []byte
	ends      []uint32
	strs      string
}

// str returns string i of d.
func (d *dict) str(i uint32) string {
	start := uint32(0)
	if i > 0 {
		start = d.ends[i-1]
	}
	return d.strs[start:d.ends[i]]
}

// hash returns the hash of event i of d.
func (d *dict) hash(i int) (h audit.Hash) {
	copy(h[:], d.hashes[i*len(h):])
	return h
}

// packDict packs d as its columns stand.
func packDict(d *dict) []byte {
	n := len(d.ids)
	m := len(d.positions)
	size := dictHeader + n*8 + m*(8+8+4+len(audit.Hash{})) + len(d.ends)*4 + len(d.strs)
	b := make([]byte, 0, size)
	b = append(b, dictFormat)
	for _, c := range []int{n, m, len(d.ends), len(d.strs)} {
		b = binary.LittleEndian.AppendUint32(b, uint32(c))
	}
	for _, v := range d.ids {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, v := range d.names {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for _, v := range d.positions {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range d.versions {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range d.streams {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = append(b, d.hashes...)
	for _, v := range d.ends {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return append(b, d.strs...)
}

// unpackDict reads what packDict wrote. An empty b is an empty dictionary
// (none stored). It returns an error for another format, counts that do
// not match the length, ids or positions not strictly ascending, a string
// index out of range, or string ends that go backward or past the bytes.
func unpackDict(b []byte) (*dict, error) {
	d := &dict{}
	if len(b) == 0 {
		return d, nil
	}
	if b[0] != dictFormat {
		return nil, fmt.Errorf("dictionary format %d, want %d", b[0], dictFormat)
	}
	if len(b) < dictHeader {
		return nil, fmt.Errorf("dictionary of %d bytes: shorter than its %d-byte header", len(b), dictHeader)
	}
	n := int64(binary.LittleEndian.Uint32(b[1:]))
	m := int64(binary.LittleEndian.Uint32(b[5:]))
	k := int64(binary.LittleEndian.Uint32(b[9:]))
	sb := int64(binary.LittleEndian.Uint32(b[13:]))
	if want := dictHeader + n*8 + m*(8+8+4+int64(len(audit.Hash{}))) + k*4 + sb; int64(len(b)) != want {
		return nil, fmt.Errorf("dictionary of %d bytes: its counts (%d nodes, %d events, %d strings of %d bytes) make %d", len(b), n, m, k, sb, want)
	}
	p := b[dictHeader:]
	u32 := func(c int64) []uint32 {
		out := make([]uint32, c)
		for i := range out {
			out[i] = binary.LittleEndian.Uint32(p[i*4:])
		}
		p = p[c*4:]
		return out
	}
	i64 := func(c int64) []int64 {
		out := make([]int64, c)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(p[i*8:]))
		}
		p = p[c*8:]
		return out
	}
	ids := u32(n)
	d.ids = make([]int32, n)
	for i, v := range ids {
		d.ids[i] = int32(v)
	}
	d.names = u32(n)
	d.positions = i64(m)
	d.versions = i64(m)
	d.streams = u32(m)
	d.hashes = p[:m*int64(len(audit.Hash{}))]
	p = p[len(d.hashes):]
	d.ends = u32(k)
	d.strs = string(p)
	for i := 1; i < len(d.ids); i++ {
		if d.ids[i] <= d.ids[i-1] {
			return nil, fmt.Errorf("dictionary node %d: id %d after %d", i, d.ids[i], d.ids[i-1])
		}
	}
	for i := 1; i < len(d.positions); i++ {
		if d.positions[i] <= d.positions[i-1] {
			return nil, fmt.Errorf("dictionary event %d: position %d after %d", i, d.positions[i], d.positions[i-1])
		}
	}
	for i, e := range d.ends {
		if int64(e) > sb || i > 0 && e < d.ends[i-1] {
			return nil, fmt.Errorf("dictionary string %d: ends at %d, before the string it follows or past the %d bytes", i, e, sb)
		}
	}
	for _, col := range [][]uint32{d.names, d.streams} {
		for i, s := range col {
			if int64(s) >= k {
				return nil, fmt.Errorf("dictionary entry %d: string %d of %d", i, s, k)
			}
		}
	}
	return d, nil
}

// withEntries returns d with names and proofs added (keys d has already
// keep d's entry), its strings each once.
func (d *dict) withEntries(names map[int32]string, proofs map[int64]proof) *dict {
	out := &dict{}
	index := map[string]uint32{}
	var strs []byte
	intern := func(s string) uint32 {
		if i, ok := index[s]; ok {
			return i
		}
		i := uint32(len(out.ends))
		index[s] = i
		strs = append(strs, s...)
		out.ends = append(out.ends, uint32(len(strs)))
		return i
	}
	ids := make([]int32, 0, len(names))
	for id := range names {
		if _, found := slices.BinarySearch(d.ids, id); !found {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out.ids = make([]int32, 0, len(d.ids)+len(ids))
	out.names = make([]uint32, 0, cap(out.ids))
	for i, j := 0, 0; i < len(d.ids) || j < len(ids); {
		if j == len(ids) || i < len(d.ids) && d.ids[i] < ids[j] {
			out.ids = append(out.ids, d.ids[i])
			out.names = append(out.names, intern(d.str(d.names[i])))
			i++
		} else {
			out.ids = append(out.ids, ids[j])
			out.names = append(out.names, intern(names[ids[j]]))
			j++
		}
	}
	positions := make([]int64, 0, len(proofs))
	for p := range proofs {
		if _, found := slices.BinarySearch(d.positions, p); !found {
			positions = append(positions, p)
		}
	}
	slices.Sort(positions)
	m := len(d.positions) + len(positions)
	out.positions = make([]int64, 0, m)
	out.versions = make([]int64, 0, m)
	out.streams = make([]uint32, 0, m)
	out.hashes = make([]byte, 0, m*len(audit.Hash{}))
	for i, j := 0, 0; i < len(d.positions) || j < len(positions); {
		if j == len(positions) || i < len(d.positions) && d.positions[i] < positions[j] {
			h := d.hash(i)
			out.positions = append(out.positions, d.positions[i])
			out.versions = append(out.versions, d.versions[i])
			out.streams = append(out.streams, intern(d.str(d.streams[i])))
			out.hashes = append(out.hashes, h[:]...)
			i++
		} else {
			e := proofs[positions[j]]
			out.positions = append(out.positions, positions[j])
			out.versions = append(out.versions, e.version)
			out.streams = append(out.streams, intern(e.stream))
			out.hashes = append(out.hashes, e.hash[:]...)
			j++
		}
	}
	out.strs = string(strs)
	return out
}

// keyIndex finds a key's index in an ascending list of keys: by a dense
// table when the keys span a range not much wider than their number (node
// ids are dense from 1, and a bulk input's closure holds a good part of
// the nodes; its positions are a good part of a range), else by a map.
type keyIndex struct {
	lo    int64
	dense []int32 // index+1 of key lo+i; 0: absent
	m     map[int64]int32
}

// newKeyIndex indexes n ascending keys, key(i) the i-th.
func newKeyIndex(n int, key func(int) int64) keyIndex {
	var x keyIndex
	if n == 0 {
		return x
	}
	lo, hi := key(0), key(n-1)
	// A dense table costs at most 64 bytes a key here, and is read with
	// no hashing; a map costs a third of that and is several times slower.
	if span := hi - lo + 1; span > 0 && span <= 16*int64(n)+4096 {
		x.lo = lo
		x.dense = make([]int32, span)
		for i := range n {
			x.dense[key(i)-lo] = int32(i) + 1
		}
		return x
	}
	x.m = make(map[int64]int32, n)
	for i := range n {
		x.m[key(i)] = int32(i)
	}
	return x
}

// find returns k's index, or -1.
func (x *keyIndex) find(k int64) int {
	if x.dense != nil {
		if k < x.lo || k-x.lo >= int64(len(x.dense)) {
			return -1
		}
		return int(x.dense[k-x.lo]) - 1
	}
	if i, ok := x.m[k]; ok {
		return int(i)
	}
	return -1
}

// compareRefs orders refs as far as integers can order Traverse's answer:
// by depth and position (then ord, to be total).
func compareRefs(a, b Ref) int {
	if a.Depth != b.Depth {
		return cmp.Compare(a.Depth, b.Depth)
	}
	if a.Position != b.Position {
		return cmp.Compare(a.Position, b.Position)
	}
	return cmp.Compare(a.Ord, b.Ord)
}
