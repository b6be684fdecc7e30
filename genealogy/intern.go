package genealogy

import (
	"bytes"
	"hash/maphash"
	"unsafe"
)

// interner maps names to dense ids, 0 being the empty name. A Go map of a
// million and a half strings, with the strings themselves, took 140 MB;
// this keeps the names end to end in one byte arena and the table as bare
// ids (about 20 bytes a name), and looks names up by their bytes, so that
// decoding a payload allocates nothing for names the graph already has.
type interner struct {
	arena []byte   // every name, end to end
	ends  []uint32 // ends[id]: where name id ends in arena; it starts at ends[id-1]
	table []uint32 // open addressing by hash: 0 is empty, else an id
	seed  maphash.Seed
}

func newInterner() interner {
	return interner{ends: []uint32{0}, table: make([]uint32, 1024), seed: maphash.MakeSeed()}
}

// name returns name id. The string shares the arena's memory, which is
// never written again once a name is in it.
func (in *interner) name(id uint32) string {
	start, end := in.start(id), in.ends[id]
	if start == end {
		return ""
	}
	return unsafe.String(&in.arena[start], end-start)
}

func (in *interner) start(id uint32) uint32 {
	if id == 0 {
		return 0
	}
	return in.ends[id-1]
}

func (in *interner) bytesOf(id uint32) []byte { return in.arena[in.start(id):in.ends[id]] }

// lookup returns the id of name b, and false when it has none.
func (in *interner) lookup(b []byte) (uint32, bool) {
	if len(b) == 0 {
		return 0, true
	}
	mask := uint64(len(in.table) - 1)
	for i := maphash.Bytes(in.seed, b) & mask; ; i = (i + 1) & mask {
		id := in.table[i]
		if id == 0 {
			return 0, false
		}
		if bytes.Equal(in.bytesOf(id), b) {
			return id, true
		}
	}
}

// lookupString is lookup for a string, without copying it.
func (in *interner) lookupString(s string) (uint32, bool) {
	return in.lookup(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// id returns the id of name b, giving it the next id if it has none.
func (in *interner) id(b []byte) uint32 {
	if id, ok := in.lookup(b); ok {
		return id
	}
	in.arena = append(in.arena, b...)
	id := uint32(len(in.ends))
	in.ends = append(in.ends, uint32(len(in.arena)))
	if len(in.ends)*2 > len(in.table) {
		in.grow()
	} else {
		in.place(id)
	}
	return id
}

func (in *interner) idString(s string) uint32 {
	return in.id(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func (in *interner) place(id uint32) {
	mask := uint64(len(in.table) - 1)
	i := maphash.Bytes(in.seed, in.bytesOf(id)) & mask
	for in.table[i] != 0 {
		i = (i + 1) & mask
	}
	in.table[i] = id
}

func (in *interner) grow() {
	in.table = make([]uint32, len(in.table)*2)
	for id := uint32(1); id < uint32(len(in.ends)); id++ {
		in.place(id)
	}
}
