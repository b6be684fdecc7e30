package memory

import "hash/maphash"

// index maps strings to the dense numbers 0, 1, 2, … in the order they
// were added, without a pointer for the garbage collector to scan: an
// open-addressing table of numbers, probed by each string's hash, with the
// hashes kept by number so that growing never hashes a string again. The
// strings themselves are kept by the caller, which compares them (same).
//
// A Go map of a million stream names or idempotency keys holds a million
// string headers that every collection scans, and hashes every key again
// each time it grows.
type index struct {
	seed   maphash.Seed
	slots  []uint32 // number + 1; 0 is empty. len is 0 or a power of two
	hashes []uint64 // by number
}

func newIndex() index { return index{seed: maphash.MakeSeed()} }

// hash returns the hash index uses for s.
func (x *index) hash(s string) uint64 { return maphash.String(x.seed, s) }

// find returns the number of the string with hash h for which same
// reports true, if one was added.
func (x *index) find(h uint64, same func(n uint32) bool) (uint32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if n := s - 1; x.hashes[n] == h && same(n) {
			return n, true
		}
	}
}

// add numbers a string with hash h that find did not find, and returns
// its number: the count of strings added before it.
func (x *index) add(h uint64) uint32 {
	n := uint32(len(x.hashes))
	x.hashes = append(x.hashes, h)
	// At most half full, so that probes stay short.
	if 2*len(x.hashes) > len(x.slots) {
		x.grow()
	} else {
		x.put(n)
	}
	return n
}

// put places number n in the first empty slot of its probe sequence.
func (x *index) put(n uint32) {
	mask := uint64(len(x.slots) - 1)
	for i := x.hashes[n] & mask; ; i = (i + 1) & mask {
		if x.slots[i] == 0 {
			x.slots[i] = n + 1
			return
		}
	}
}

// grow doubles the table (to at least 16 slots) and places every number
// again from its kept hash.
func (x *index) grow() {
	x.slots = make([]uint32, max(16, 2*len(x.slots)))
	for n := range x.hashes {
		x.put(uint32(n))
	}
}
