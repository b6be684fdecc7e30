// Package memory is a Store that keeps the record in process memory. It is
// the embedded default for examples and tests; it passes the same
// conformance suite as the Postgres store, and nothing survives the process.
//
// # Layout
//
// Records are kept in pointer-free form, so the garbage collector neither
// scans nor zeroes them: payloads and evidence in byte chunks, a fixed
// index entry per record, stream names and idempotency keys numbered by an
// open-addressing index. Callers get audit.Record values built from it.
package memory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/storage/backend"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Scanner = (*Store)(nil)
)

// ErrFull means an append would take the store past the number of records,
// links or link index items it can number (2³²−1 each, 2³¹−1 on 32-bit
// platforms); nothing is written.
var ErrFull = errors.New("memory: store is full")

// Config configures a Store. The zero value is valid.
type Config struct {
	// Clock gives the time stamped on appended events. Default: time.Now.
	Clock storage.Clock
}

// Store is an in-memory storage.Store. The zero value is not usable; call New.
type Store struct {
	clock storage.Clock

	mu        sync.RWMutex
	entries   entries // in global order; position = number + 1
	data      arena   // payload and evidence of every entry
	streams   blocks[stream]
	streamIdx index    // stream name → number in streams
	names     interner // types, actors and link kinds
	lastType  lastName
	lastActor lastName
	links     []link   // the links of every entry, in entry order
	nodes     interner // link ends
	lists     []nodeLists
	adj       []adjacency
	keyIdx    index              // idempotency key → number in keyed
	keyed     blocks[idempotent] // by number
	// checkpoints are few, so they stay ordinary values.
	checkpoints []*audit.Checkpoint // by position
	buf         []byte              // encoding scratch, guarded by mu
	limit       int                 // maxIndex; smaller in tests of ErrFull
}

// idempotent remembers a keyed append: its key, kept in the arena, and its
// records, which have consecutive positions. A later append with the key
// is compared with them (backend.Prepared.SameContent), so no digest is
// kept.
type idempotent struct {
	first int64 // position of the first record
	n     int
	key   span
	klen  uint32
}

// New returns an empty store. cfg may be nil.
func New(cfg *Config) *Store {
	s := &Store{
		clock:     time.Now,
		data:      newArena(),
		streamIdx: newIndex(),
		names:     newInterner(),
		nodes:     newInterner(),
		keyIdx:    newIndex(),
		limit:     maxIndex,
	}
	if cfg != nil && cfg.Clock != nil {
		s.clock = cfg.Clock
	}
	return s
}

// noStream marks a stream of an append that has no events yet.
const noStream = -1

// Append implements storage.Store. Besides the errors storage.Store
// documents, it returns one matching ErrFull when the store cannot number
// more records or links.
func (s *Store) Append(ctx context.Context, req storage.AppendRequest) (storage.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.AppendResult{}, err
	}
	p, err := backend.Prepare(req)
	if err != nil {
		return storage.AppendResult{}, err
	}
	defer p.Release()
	s.mu.Lock()
	defer s.mu.Unlock()

	var keyHash uint64
	if p.IdempotencyKey != "" {
		keyHash = s.keyIdx.hash(p.IdempotencyKey)
		if n, ok := s.keyIdx.find(keyHash, func(n uint32) bool {
			k := s.keyed.at(int64(n))
			return string(s.data.bytes(k.key, k.klen)) == p.IdempotencyKey
		}); ok {
			prev := *s.keyed.at(int64(n))
			out := s.copies(prev.n, func(k int) int { return int(prev.first) - 1 + k })
			if !p.SameContent(out) {
				return storage.AppendResult{}, fmt.Errorf("append: key %q: %w", p.IdempotencyKey, storage.ErrIdempotencyKeyReused)
			}
			return storage.AppendResult{Records: out, Replayed: true}, nil
		}
	}
	var small [4]int64
	var smallHashes [4]uint64
	ids := small[:0]          // each written stream's number, or noStream
	hashes := smallHashes[:0] // and the hash of its name
	for _, ps := range p.Streams {
		h := s.streamIdx.hash(ps.Stream)
		hashes = append(hashes, h)
		id, v := s.versionOf(h, ps.Stream)
		if v != ps.ExpectedVersion {
			return storage.AppendResult{}, &storage.ConflictError{Stream: ps.Stream, Expected: ps.ExpectedVersion, Actual: v}
		}
		ids = append(ids, id)
	}
	for _, r := range p.Reads {
		if _, v := s.version(r.Stream); v != r.Version {
			return storage.AppendResult{}, &storage.ConflictError{Stream: r.Stream, Expected: r.Version, Actual: v}
		}
	}
	nlinks := 0
	for _, ps := range p.Streams {
		for i := range ps.Events {
			nlinks += len(ps.Events[i].Links)
		}
	}
	if p.Events > s.limit-s.entries.len() || nlinks > s.limit-len(s.links) || 2*nlinks > s.limit-len(s.adj) {
		return storage.AppendResult{}, fmt.Errorf("append: %d records and %d links: %w", p.Events, nlinks, ErrFull)
	}

	// Time never runs backwards within a stream.
	now := s.clock().UTC().Truncate(audit.TimePrecision)
	for i, ps := range p.Streams {
		if ids[i] == noStream {
			continue
		}
		st := s.streams.at(ids[i])
		head := s.entries.at(int(st.entries[len(st.entries)-1]))
		if ht := time.Unix(head.sec, int64(head.nsec)).UTC(); ht.After(now) {
			return storage.AppendResult{}, &storage.ClockError{Stream: ps.Stream, Head: ht, Clock: now}
		}
	}
	// The records' payload, evidence and links are Prepare's copies, made
	// for this request alone, so the caller may have them.
	recs := p.Records(now)
	// Hash everything before changing anything, so that a failure leaves the
	// store as it was.
	base := int64(s.entries.len())
	k := 0
	for i, ps := range p.Streams {
		var prev audit.Hash
		if ids[i] == noStream {
			prev = audit.Genesis(ps.Stream)
		} else {
			st := s.streams.at(ids[i])
			prev = s.entries.at(int(st.entries[len(st.entries)-1])).hash
		}
		for range ps.Events {
			r := &recs[k]
			r.PrevHash = prev
			r.Position = base + int64(k) + 1
			if r.Hash, s.buf, err = audit.ComputeHash(s.buf, r); err != nil {
				return storage.AppendResult{}, fmt.Errorf("append: %w", err)
			}
			prev = r.Hash
			k++
		}
	}

	k = 0
	for i, ps := range p.Streams {
		id := ids[i]
		if id == noStream {
			id = int64(s.streamIdx.add(hashes[i]))
			s.streams.add(stream{name: strings.Clone(ps.Stream), genesis: recs[k].PrevHash})
		}
		st := s.streams.at(id)
		for j := range ps.Events {
			ev, r := &ps.Events[j], &recs[k]
			e := entry{
				hash:     r.Hash,
				sec:      r.Time.Unix(),
				nsec:     uint32(r.Time.Nanosecond()),
				version:  uint32(r.Version),
				payload:  uint32(len(ev.Payload)),
				evidence: uint32(len(ev.Evidence)),
				stream:   uint32(id),
				typ:      s.names.idAt(&s.lastType, ev.Type),
				actor:    s.names.idAt(&s.lastActor, ev.Actor),
				links:    uint32(len(s.links)),
			}
			var dst []byte
			e.data, dst = s.data.alloc(len(ev.Payload) + len(ev.Evidence))
			copy(dst[copy(dst, ev.Payload):], ev.Evidence)
			idx := uint32(s.entries.len())
			s.entries.add(e)
			st.entries = append(st.entries, idx)
			for _, l := range ev.Links {
				s.addLink(idx, l)
			}
			k++
		}
	}
	if p.IdempotencyKey != "" {
		sp, dst := s.data.alloc(len(p.IdempotencyKey))
		copy(dst, p.IdempotencyKey)
		s.keyIdx.add(keyHash)
		s.keyed.add(idempotent{first: base + 1, n: len(recs), key: sp, klen: uint32(len(p.IdempotencyKey))})
	}
	return storage.AppendResult{Records: recs}, nil
}

// version returns the number of a stream and the version it stands at;
// noStream and 0 for a stream without events.
func (s *Store) version(name string) (int64, int64) {
	return s.versionOf(s.streamIdx.hash(name), name)
}

// versionOf is version for a name whose hash (index.hash) is h.
func (s *Store) versionOf(h uint64, name string) (int64, int64) {
	id, ok := s.streamIdx.find(h, func(n uint32) bool { return s.streams.at(int64(n)).name == name })
	if !ok {
		return noStream, 0
	}
	return int64(id), int64(len(s.streams.at(int64(id)).entries))
}

// linksOf returns the links of entry i.
func (s *Store) linksOf(i int) []link {
	end := uint32(len(s.links))
	if i+1 < s.entries.len() {
		end = s.entries.at(i + 1).links
	}
	return s.links[s.entries.at(i).links:end]
}

// addLink stores a link of entry idx and indexes the entry under both ends.
// An entry is indexed once per node, however many of its links touch that
// node.
func (s *Store) addLink(idx uint32, l audit.Link) {
	from, to := s.node(l.From), s.node(l.To)
	s.links = append(s.links, link{from: from, to: to, kind: s.names.id(l.Kind)})
	s.index(&s.lists[from].out, idx)
	s.index(&s.lists[to].in, idx)
}

func (s *Store) node(name string) uint32 {
	id := s.nodes.id(name)
	if int(id) == len(s.lists) {
		s.lists = append(s.lists, nodeLists{})
	}
	return id
}

func (s *Store) index(l *list, idx uint32) {
	if l.tail != 0 && s.adj[l.tail-1].entry == idx {
		return
	}
	s.adj = append(s.adj, adjacency{entry: idx})
	item := uint32(len(s.adj))
	if l.tail == 0 {
		l.head = item
	} else {
		s.adj[l.tail-1].next = item
	}
	l.tail = item
}

// view sets r to the record of entry i. Its payload and evidence are the
// store's own bytes, which nobody may change; its links are taken from the
// front of *links, which must have room for them.
func (s *Store) view(r *audit.Record, i int, links *[]audit.Link) {
	e := s.entries.at(i)
	st := s.streams.at(int64(e.stream))
	prev := st.genesis
	if e.version > 1 {
		prev = s.entries.at(int(st.entries[e.version-2])).hash
	}
	lks := s.linksOf(i)
	data := s.data.bytes(e.data, e.payload+e.evidence)
	*r = audit.Record{
		Stream:   st.name,
		Version:  int64(e.version),
		Position: int64(i) + 1,
		Type:     s.names.names[e.typ],
		Actor:    s.names.names[e.actor],
		Time:     e.time(),
		Payload:  data[:e.payload:e.payload],
		Evidence: data[e.payload:],
		PrevHash: prev,
		Hash:     e.hash,
	}
	if len(lks) == 0 {
		return
	}
	n := len(lks)
	out := (*links)[:n:n]
	*links = (*links)[n:]
	for j, l := range lks {
		out[j] = audit.Link{From: s.nodes.names[l.from], To: s.nodes.names[l.to], Kind: s.names.names[l.kind]}
	}
	r.Links = out
}

// copies returns n records that callers may keep and change: record k is
// entry at(k). Their bytes share one allocation and their links another.
func (s *Store) copies(n int, at func(k int) int) []audit.Record {
	size, nlinks := 0, 0
	for k := range n {
		i := at(k)
		e := s.entries.at(i)
		size += int(e.payload + e.evidence)
		nlinks += len(s.linksOf(i))
	}
	buf := make([]byte, size)
	var links []audit.Link
	if nlinks > 0 {
		links = make([]audit.Link, nlinks)
	}
	out := make([]audit.Record, n)
	for k := range out {
		r := &out[k]
		s.view(r, at(k), &links)
		np, ne := len(r.Payload), len(r.Evidence)
		copy(buf, r.Payload)
		copy(buf[np:], r.Evidence)
		r.Payload, r.Evidence = buf[:np:np], buf[np:np+ne:np+ne]
		buf = buf[np+ne:]
	}
	return out
}

// Load implements storage.Store: LoadPage without a limit.
func (s *Store) Load(ctx context.Context, stream string, from int64) ([]audit.Record, error) {
	return s.LoadPage(ctx, stream, from, math.MaxInt)
}

// LoadPage implements storage.PageLoader: Load's first limit records,
// copying no others.
func (s *Store) LoadPage(ctx context.Context, stream string, from int64, limit int) ([]audit.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case from < 1:
		return nil, &storage.ValidationError{Field: "from", Reason: fmt.Sprintf("version %d is below 1", from)}
	case limit < 1:
		return nil, &storage.ValidationError{Field: "limit", Reason: fmt.Sprintf("%d is below 1", limit)}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, v := s.version(stream)
	if from > v {
		return []audit.Record{}, nil
	}
	idx := s.streams.at(id).entries[from-1:]
	if len(idx) > limit {
		idx = idx[:limit]
	}
	return s.copies(len(idx), func(k int) int { return int(idx[k]) }), nil
}

// ReadAll implements storage.Store.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if after < 0 {
		return nil, &storage.ValidationError{Field: "after", Reason: fmt.Sprintf("position %d is negative", after)}
	}
	if limit < 1 {
		return nil, &storage.ValidationError{Field: "limit", Reason: fmt.Sprintf("%d is below 1", limit)}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if after >= int64(s.entries.len()) {
		return []audit.Record{}, nil
	}
	n := min(int64(limit), int64(s.entries.len())-after)
	return s.copies(int(n), func(k int) int { return int(after) + k }), nil
}

// scanLinks is how many links Scan allocates at a time.
const scanLinks = 256

// Scan implements storage.Scanner. It holds the store's read lock while fn
// runs, so appends wait until the scan ends. The record fn gets shares its
// payload and evidence with the store; its links are not reused for
// another record.
func (s *Store) Scan(ctx context.Context, after int64, fn func(*audit.Record) error) error {
	if after < 0 {
		return &storage.ValidationError{Field: "after", Reason: fmt.Sprintf("position %d is negative", after)}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var (
		r     audit.Record
		links []audit.Link
	)
	for i := after; i < int64(s.entries.len()); i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if n := len(s.linksOf(int(i))); n > len(links) {
			links = make([]audit.Link, max(n, scanLinks))
		}
		s.view(&r, int(i), &links)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// Heads implements storage.Store.
func (s *Store) Heads(ctx context.Context) ([]audit.Head, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]audit.Head, 0, s.streams.len())
	for i := range int64(s.streams.len()) {
		st := s.streams.at(i)
		out = append(out, audit.Head{Stream: st.name, Version: int64(len(st.entries)), Hash: s.entries.at(int(st.entries[len(st.entries)-1])).hash})
	}
	slices.SortFunc(out, func(a, b audit.Head) int { return strings.Compare(a.Stream, b.Stream) })
	return out, nil
}

// Traverse implements storage.Store.
func (s *Store) Traverse(ctx context.Context, req storage.TraverseRequest) ([]storage.Edge, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := backend.ValidateTraverse(req); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return backend.Walk(ctx, req, func(_ context.Context, nodes []string) ([]storage.Edge, error) {
		var out []storage.Edge
		for _, name := range nodes {
			node, ok := s.nodes.ids[name]
			if !ok {
				continue
			}
			l := s.lists[node].out
			if req.Direction == storage.Backward {
				l = s.lists[node].in
			}
			for item := l.head; item != 0; item = s.adj[item-1].next {
				i := s.adj[item-1].entry
				e := s.entries.at(int(i))
				for _, lk := range s.linksOf(int(i)) {
					near := lk.from
					if req.Direction == storage.Backward {
						near = lk.to
					}
					if near != node {
						continue
					}
					out = append(out, storage.Edge{
						Link:     audit.Link{From: s.nodes.names[lk.from], To: s.nodes.names[lk.to], Kind: s.names.names[lk.kind]},
						Stream:   s.streams.at(int64(e.stream)).name,
						Version:  int64(e.version),
						Position: int64(i) + 1,
						Hash:     e.hash,
					})
				}
			}
		}
		return out, nil
	})
}

// SaveCheckpoint implements storage.Store.
func (s *Store) SaveCheckpoint(ctx context.Context, cp *audit.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := backend.ValidateCheckpoint(cp); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := slices.BinarySearchFunc(s.checkpoints, cp.Position, func(c *audit.Checkpoint, pos int64) int {
		return cmp.Compare(c.Position, pos)
	})
	if found {
		return fmt.Errorf("save checkpoint at %d: %w", cp.Position, storage.ErrConflict)
	}
	s.checkpoints = slices.Insert(s.checkpoints, i, cloneCheckpoint(cp))
	return nil
}

// LatestCheckpoint implements storage.Store.
func (s *Store) LatestCheckpoint(ctx context.Context, keys *audit.Keys) (*audit.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, &storage.ValidationError{Field: "keys", Reason: "nil: no key is trusted"}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := len(s.checkpoints) - 1; i >= 0; i-- {
		if keys.Verify(s.checkpoints[i]) == nil {
			return cloneCheckpoint(s.checkpoints[i]), nil
		}
	}
	return nil, fmt.Errorf("latest checkpoint: %w", storage.ErrNotFound)
}

func cloneCheckpoint(cp *audit.Checkpoint) *audit.Checkpoint {
	c := *cp
	c.Heads = slices.Clone(cp.Heads)
	c.Signature = bytes.Clone(cp.Signature)
	return &c
}
