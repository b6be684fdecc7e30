// Package memory is a Store that keeps the record in process memory. It is
// the embedded default for examples and tests; it passes the same
// conformance suite as the Postgres store, and nothing survives the process.
package memory

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Scanner = (*Store)(nil)
)

// Config configures a Store. The zero value is valid.
type Config struct {
	// Clock gives the time stamped on appended events. Default: time.Now.
	Clock storage.Clock
}

// Store is an in-memory storage.Store. The zero value is not usable; call New.
type Store struct {
	clock storage.Clock

	mu          sync.RWMutex
	records     []*audit.Record // in global order; position = index + 1
	streams     map[string][]*audit.Record
	out, in     map[string][]*audit.Record // link index: node → records with links from / to it
	keys        map[string]idempotent
	checkpoints []*audit.Checkpoint // by position
	buf         []byte              // encoding scratch, guarded by mu
}

type idempotent struct {
	digest    audit.Hash
	positions []int64
}

// New returns an empty store. cfg may be nil.
func New(cfg *Config) *Store {
	s := &Store{
		clock:   time.Now,
		streams: make(map[string][]*audit.Record),
		out:     make(map[string][]*audit.Record),
		in:      make(map[string][]*audit.Record),
		keys:    make(map[string]idempotent),
	}
	if cfg != nil && cfg.Clock != nil {
		s.clock = cfg.Clock
	}
	return s
}

// Append implements storage.Store.
func (s *Store) Append(ctx context.Context, req storage.AppendRequest) (storage.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.AppendResult{}, err
	}
	p, err := storage.Prepare(req)
	if err != nil {
		return storage.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	if p.IdempotencyKey != "" {
		if prev, ok := s.keys[p.IdempotencyKey]; ok {
			if prev.digest != p.Digest {
				return storage.AppendResult{}, fmt.Errorf("append: key %q: %w", p.IdempotencyKey, storage.ErrIdempotencyKeyReused)
			}
			out := make([]audit.Record, len(prev.positions))
			for i, pos := range prev.positions {
				out[i] = clone(s.records[pos-1])
			}
			return storage.AppendResult{Records: out, Replayed: true}, nil
		}
	}
	for _, ps := range p.Streams {
		if v := int64(len(s.streams[ps.Stream])); v != ps.ExpectedVersion {
			return storage.AppendResult{}, &storage.ConflictError{Stream: ps.Stream, Expected: ps.ExpectedVersion, Actual: v}
		}
	}
	for _, r := range p.Reads {
		if v := int64(len(s.streams[r.Stream])); v != r.Version {
			return storage.AppendResult{}, &storage.ConflictError{Stream: r.Stream, Expected: r.Version, Actual: v}
		}
	}

	recs := p.Records(s.clock())
	// Hash everything before changing anything, so that a failure leaves the
	// store as it was.
	base := int64(len(s.records))
	for i := range recs {
		r := &recs[i]
		r.PrevHash = s.headHash(r.Stream)
		if i > 0 && recs[i-1].Stream == r.Stream {
			r.PrevHash = recs[i-1].Hash
		}
		r.Position = base + int64(i) + 1
		if r.Hash, s.buf, err = audit.ComputeHash(s.buf, r); err != nil {
			return storage.AppendResult{}, fmt.Errorf("append: %w", err)
		}
	}
	stored := make([]audit.Record, len(recs)) // one allocation for the batch
	for i := range recs {
		st := &stored[i]
		*st = recs[i]
		s.records = append(s.records, st)
		s.streams[st.Stream] = append(s.streams[st.Stream], st)
		for _, l := range st.Links {
			// A record is indexed once per node, however many of its links
			// touch that node.
			if lst := s.out[l.From]; len(lst) == 0 || lst[len(lst)-1] != st {
				s.out[l.From] = append(lst, st)
			}
			if lst := s.in[l.To]; len(lst) == 0 || lst[len(lst)-1] != st {
				s.in[l.To] = append(lst, st)
			}
		}
		// The caller gets its own copies of the byte slices.
		recs[i] = clone(st)
	}
	if p.IdempotencyKey != "" {
		positions := make([]int64, len(recs))
		for i := range recs {
			positions[i] = recs[i].Position
		}
		s.keys[p.IdempotencyKey] = idempotent{digest: p.Digest, positions: positions}
	}
	return storage.AppendResult{Records: recs}, nil
}

func (s *Store) headHash(stream string) audit.Hash {
	if rs := s.streams[stream]; len(rs) > 0 {
		return rs[len(rs)-1].Hash
	}
	return audit.Genesis(stream)
}

// clone copies a record so that callers cannot change what the store holds.
// Payload and evidence share one allocation, each capped so that appending to
// one cannot overwrite the other.
func clone(r *audit.Record) audit.Record {
	c := *r
	buf := make([]byte, 0, len(r.Payload)+len(r.Evidence))
	buf = append(append(buf, r.Payload...), r.Evidence...)
	np := len(r.Payload)
	c.Payload, c.Evidence = buf[:np:np], buf[np:]
	c.Links = slices.Clone(r.Links)
	return c
}

// Load implements storage.Store.
func (s *Store) Load(ctx context.Context, stream string, from int64) ([]audit.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if from < 1 {
		return nil, &storage.ValidationError{Field: "from", Reason: fmt.Sprintf("version %d is below 1", from)}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rs := s.streams[stream]
	if from > int64(len(rs)) {
		return []audit.Record{}, nil
	}
	return cloneAll(rs[from-1:]), nil
}

func cloneAll(rs []*audit.Record) []audit.Record {
	out := make([]audit.Record, len(rs))
	for i, r := range rs {
		out[i] = clone(r)
	}
	return out
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
	if after >= int64(len(s.records)) {
		return []audit.Record{}, nil
	}
	rs := s.records[after:]
	if len(rs) > limit {
		rs = rs[:limit]
	}
	return cloneAll(rs), nil
}

// Scan implements storage.Scanner. It holds the store's read lock while fn
// runs, so appends wait until the scan ends.
func (s *Store) Scan(ctx context.Context, after int64, fn func(*audit.Record) error) error {
	if after < 0 {
		return &storage.ValidationError{Field: "after", Reason: fmt.Sprintf("position %d is negative", after)}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := after; i < int64(len(s.records)); i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(s.records[i]); err != nil {
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
	out := make([]audit.Head, 0, len(s.streams))
	for id, rs := range s.streams {
		last := rs[len(rs)-1]
		out = append(out, audit.Head{Stream: id, Version: last.Version, Hash: last.Hash})
	}
	slices.SortFunc(out, func(a, b audit.Head) int { return strings.Compare(a.Stream, b.Stream) })
	return out, nil
}

// Traverse implements storage.Store.
func (s *Store) Traverse(ctx context.Context, req storage.TraverseRequest) ([]storage.Edge, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.ValidateTraverse(req); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	index := s.out
	if req.Direction == storage.Backward {
		index = s.in
	}
	return storage.Walk(ctx, req, func(_ context.Context, nodes []string) ([]storage.Edge, error) {
		var out []storage.Edge
		for _, node := range nodes {
			for _, r := range index[node] {
				for _, l := range r.Links {
					near := l.From
					if req.Direction == storage.Backward {
						near = l.To
					}
					if near == node {
						out = append(out, storage.Edge{Link: l, Stream: r.Stream, Version: r.Version, Position: r.Position, Hash: r.Hash})
					}
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
	if err := storage.ValidateCheckpoint(cp); err != nil {
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
func (s *Store) LatestCheckpoint(ctx context.Context) (*audit.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.checkpoints) == 0 {
		return nil, fmt.Errorf("latest checkpoint: %w", storage.ErrNotFound)
	}
	return cloneCheckpoint(s.checkpoints[len(s.checkpoints)-1]), nil
}

func cloneCheckpoint(cp *audit.Checkpoint) *audit.Checkpoint {
	c := *cp
	c.Heads = slices.Clone(cp.Heads)
	c.Signature = bytes.Clone(cp.Signature)
	return &c
}
