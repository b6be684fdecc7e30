package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock/storage/backend"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// positionsPerAppend is how many positions one transaction owns: a record's
// position is xid * positionsPerAppend + its index in the append. The
// migration's SQL uses the same number.
const positionsPerAppend = 1 << 14

// An append of storage.MaxEvents must fit in the positions of one
// transaction; this does not compile otherwise.
var _ [positionsPerAppend - storage.MaxEvents - 1]struct{}

// Append implements storage.Store in one round trip to the database.
//
// It returns a *storage.ConflictError (errors.Is with storage.ErrConflict)
// for a stale expected or read version, and also when Postgres aborts the
// append to break a deadlock; a *storage.ValidationError for bad input; an
// error matching storage.ErrIdempotencyKeyReused for a key used with other
// content. In all of these nothing is written. An error matching
// ErrHashDrift means the append was written but its hashes disagree with
// audit.ComputeHash.
func (s *Store) Append(ctx context.Context, req storage.AppendRequest) (storage.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.AppendResult{}, err
	}
	p, err := backend.Prepare(req)
	if err != nil {
		return storage.AppendResult{}, err
	}
	for attempt := 1; ; attempt++ {
		var (
			recs []audit.Record
			w    written
		)
		if s.group != nil && s.tx == nil && !s.general && groupable(p) {
			recs, w, err = s.group.submit(ctx, p)
		} else {
			recs = p.Records(s.clock())
			w, err = s.appendAlone(ctx, p, recs)
		}
		res, err := s.finish(ctx, p, recs, w, err)
		// The time was read before the stream's lock was taken: another
		// append, with a later time, may have written the stream while
		// this one waited. Nothing was written; the append is made again
		// with the time read now, when the clock has passed the head.
		var behind *storage.ClockError
		if attempt < clockAttempts && errors.As(err, &behind) && !s.clock().Before(behind.Head) {
			continue
		}
		return res, err
	}
}

// clockAttempts bounds how often Append reads the clock again for an
// append that found a stream's head later than its time.
const clockAttempts = 3

// appendAlone writes p, whose records are recs, in a statement of its own:
// append_one or append_keyed when they can, append otherwise.
func (s *Store) appendAlone(ctx context.Context, p *backend.Prepared, recs []audit.Record) (written, error) {
	if one, keyed := isOne(p), isKeyed(p); !s.general && (one || keyed) {
		r := &recs[0]
		canon, err := audit.Encode(make([]byte, 0, 256+len(r.Payload)+len(r.Evidence)), r)
		if err != nil {
			return written{}, notSent{fmt.Errorf("%s version %d: %w", r.Stream, r.Version, err)}
		}
		if one {
			return s.appendOne(ctx, r, canon)
		}
		return s.appendMany(ctx, s.q.appendKeyed, keyedArgs(p, r, canon))
	}
	args, err := appendArgs(p, recs)
	if err != nil {
		return written{}, notSent{err}
	}
	return s.appendMany(ctx, s.q.append, args)
}

// finish turns what the database wrote for p (w, or the error err) into
// Append's result: the records recs with their positions and hashes, each
// hash checked against audit.ComputeHash, or the records a replay returns.
func (s *Store) finish(ctx context.Context, p *backend.Prepared, recs []audit.Record, w written, err error) (storage.AppendResult, error) {
	var local notSent
	if errors.As(err, &local) {
		return storage.AppendResult{}, fmt.Errorf("append: %w", local.err)
	}
	if err != nil {
		first := p.Streams[0]
		onAbort := &storage.ConflictError{Stream: first.Stream, Expected: first.ExpectedVersion, Actual: -1}
		return storage.AppendResult{}, interpretWrite(ctx, "append", err, onAbort, true)
	}
	if w.replayed {
		return s.replay(ctx, w.positions)
	}
	if len(w.positions) != len(recs) {
		return storage.AppendResult{}, fmt.Errorf("append: the database returned %d records for %d events", len(w.positions), len(recs))
	}
	var buf []byte
	for i := range recs {
		r := &recs[i]
		r.Position = w.positions[i]
		if len(w.prevs[i]) != len(r.PrevHash) || len(w.hashes[i]) != len(r.Hash) {
			return storage.AppendResult{}, fmt.Errorf("append: %s version %d: stored hashes are not SHA-256: %w", r.Stream, r.Version, ErrHashDrift)
		}
		copy(r.PrevHash[:], w.prevs[i])
		copy(r.Hash[:], w.hashes[i])
		var sum audit.Hash
		if sum, buf, err = audit.ComputeHash(buf, r); err != nil {
			return storage.AppendResult{}, fmt.Errorf("append: %w", err)
		}
		if sum != r.Hash {
			return storage.AppendResult{}, fmt.Errorf("append: %s version %d: stored %s, computed %s: %w", r.Stream, r.Version, r.Hash, sum, ErrHashDrift)
		}
	}
	return storage.AppendResult{Records: recs}, nil
}

// notSent is an error found before anything was sent to the database.
type notSent struct{ err error }

func (e notSent) Error() string { return e.err.Error() }
func (e notSent) Unwrap() error { return e.err }

// written is what the database says an append wrote: positions and hashes
// in the order of the request, or the positions of the first append with
// the same key when replayed.
type written struct {
	positions     []int64
	prevs, hashes [][]byte
	replayed      bool
}

// isOne reports whether p is one event on one stream without reads, key or
// links: what the append_one function does.
func isOne(p *backend.Prepared) bool {
	return len(p.Streams) == 1 && len(p.Streams[0].Events) == 1 && len(p.Reads) == 0 &&
		p.IdempotencyKey == "" && len(p.Streams[0].Events[0].Links) == 0
}

// maxKeyedReads bounds the reads of an append that append_keyed writes:
// with its stream they stay under append's limit of 64 locks, beyond which
// append locks the whole store instead.
const maxKeyedReads = 63

// isKeyed reports whether p is one event on one stream without links, with
// a key or reads: what the append_keyed function does.
func isKeyed(p *backend.Prepared) bool {
	return len(p.Streams) == 1 && len(p.Streams[0].Events) == 1 && len(p.Streams[0].Events[0].Links) == 0 &&
		(p.IdempotencyKey != "" || len(p.Reads) > 0) && len(p.Reads) <= maxKeyedReads
}

// keyedArgs lays out the arguments of append_keyed for p, whose one record
// is r with canonical encoding canon.
func keyedArgs(p *backend.Prepared, r *audit.Record, canon []byte) []any {
	genesis := audit.Genesis(r.Stream)
	var key any // NULL: no key
	var digest audit.Hash
	if p.IdempotencyKey != "" {
		key, digest = p.IdempotencyKey, p.Digest()
	}
	reads := make([]string, len(p.Reads))
	versions := make([]int64, len(p.Reads))
	for i, rd := range p.Reads {
		reads[i], versions[i] = rd.Stream, rd.Version
	}
	return []any{r.Stream, r.Version - 1, genesis[:], r.Time, r.Type, r.Actor, string(r.Payload), string(r.Evidence), canon,
		key, digest[:], reads, versions}
}

// appendOne writes r, whose canonical encoding is canon, with the
// append_one function.
func (s *Store) appendOne(ctx context.Context, r *audit.Record, canon []byte) (written, error) {
	genesis := audit.Genesis(r.Stream)
	w := written{positions: make([]int64, 1), prevs: make([][]byte, 1), hashes: make([][]byte, 1)}
	err := s.write(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.q.appendOne, r.Stream, r.Version-1, genesis[:], r.Time,
			r.Type, r.Actor, string(r.Payload), string(r.Evidence), canon).Scan(&w.positions[0], &w.prevs[0], &w.hashes[0])
	})
	return w, err
}

// appendMany writes an append laid out by appendArgs with the append
// function, or by keyedArgs with append_keyed.
func (s *Store) appendMany(ctx context.Context, query string, args []any) (written, error) {
	var w written
	err := s.write(ctx, func(q querier) error {
		w = written{}
		rows, err := q.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var pos int64
			var prev, hash []byte
			if err := rows.Scan(&pos, &prev, &hash, &w.replayed); err != nil {
				return err
			}
			w.positions, w.prevs, w.hashes = append(w.positions, pos), append(w.prevs, prev), append(w.hashes, hash)
		}
		return rows.Err()
	})
	return w, err
}

// replay returns the records the first append with a key wrote.
func (s *Store) replay(ctx context.Context, positions []int64) (storage.AppendResult, error) {
	if len(positions) == 0 {
		return storage.AppendResult{Records: []audit.Record{}, Replayed: true}, nil
	}
	// The positions of one append are consecutive.
	recs, err := s.query(ctx, "append replay", s.q.loadRange, positions[0], positions[len(positions)-1]+1)
	if err != nil {
		return storage.AppendResult{}, err
	}
	return storage.AppendResult{Records: recs, Replayed: true}, nil
}

// appendArgs lays p out as the arguments of the append function: one array
// per column. recs are p.Records, whose canonical encodings the database
// hashes. Slices are never nil, which pgx would send as NULL.
func appendArgs(p *backend.Prepared, recs []audit.Record) ([]any, error) {
	var a columns
	a.init(len(p.Streams), len(p.Reads), len(recs), encodedSize(recs))
	if err := a.add(p, recs); err != nil {
		return nil, err
	}
	var key any // NULL: no key
	var digest audit.Hash
	if p.IdempotencyKey != "" {
		key, digest = p.IdempotencyKey, p.Digest()
	}
	return []any{
		key, digest[:],
		a.streams, a.expected, a.genesis,
		a.reads, a.readVers,
		recs[0].Time,
		a.evStream, a.evVer, a.types, a.actors, a.payloads, a.evidence, a.canon,
		a.linkEv, a.linkOrd, a.linkFrom, a.linkTo, a.linkKind,
	}, nil
}

// columns are appends laid out as the append functions take them: one
// array per column, the appends one after another. A stream index in
// evStream counts from the append's first stream, an event index in linkEv
// from its first event, both from 1.
type columns struct {
	streams  []string
	expected []int64
	genesis  [][]byte
	reads    []string
	readVers []int64
	evStream []int32
	evVer    []int64
	types    []string
	actors   []string
	payloads []string
	evidence []string
	canon    [][]byte
	linkEv   []int32
	linkOrd  []int32
	linkFrom []string
	linkTo   []string
	linkKind []string
	// buf holds every canonical encoding; canon slices into it.
	buf []byte
}

// init sizes c for appends of streams streams, reads reads and n events
// whose encodings take about size bytes (encodedSize). Slices are never
// nil, which pgx would send as NULL.
func (c *columns) init(streams, reads, n, size int) {
	c.streams, c.expected, c.genesis = make([]string, 0, streams), make([]int64, 0, streams), make([][]byte, 0, streams)
	c.reads, c.readVers = make([]string, 0, reads), make([]int64, 0, reads)
	c.evStream, c.evVer = make([]int32, 0, n), make([]int64, 0, n)
	c.types, c.actors = make([]string, 0, n), make([]string, 0, n)
	c.payloads, c.evidence, c.canon = make([]string, 0, n), make([]string, 0, n), make([][]byte, 0, n)
	c.linkEv, c.linkOrd = []int32{}, []int32{}
	c.linkFrom, c.linkTo, c.linkKind = []string{}, []string{}, []string{}
	c.buf = make([]byte, 0, size)
}

// encodedSize is about how many bytes the canonical encodings of recs take.
func encodedSize(recs []audit.Record) int {
	size := 0
	for i := range recs {
		size += 256 + len(recs[i].Payload) + len(recs[i].Evidence)
	}
	return size
}

// add lays out one append, p, whose records are recs.
func (c *columns) add(p *backend.Prepared, recs []audit.Record) error {
	for _, ps := range p.Streams {
		g := audit.Genesis(ps.Stream)
		c.streams, c.expected, c.genesis = append(c.streams, ps.Stream), append(c.expected, ps.ExpectedVersion), append(c.genesis, g[:])
	}
	for _, r := range p.Reads {
		c.reads, c.readVers = append(c.reads, r.Stream), append(c.readVers, r.Version)
	}
	k := 0
	for si, ps := range p.Streams {
		for range ps.Events {
			r := &recs[k]
			k++
			start := len(c.buf)
			var err error
			if c.buf, err = audit.Encode(c.buf, r); err != nil {
				return fmt.Errorf("%s version %d: %w", r.Stream, r.Version, err)
			}
			c.evStream = append(c.evStream, int32(si+1))
			c.evVer = append(c.evVer, r.Version)
			c.types = append(c.types, r.Type)
			c.actors = append(c.actors, r.Actor)
			c.payloads = append(c.payloads, string(r.Payload))
			c.evidence = append(c.evidence, string(r.Evidence))
			c.canon = append(c.canon, c.buf[start:len(c.buf):len(c.buf)])
			for j, l := range r.Links {
				c.linkEv = append(c.linkEv, int32(k))
				c.linkOrd = append(c.linkOrd, int32(j))
				c.linkFrom = append(c.linkFrom, l.From)
				c.linkTo = append(c.linkTo, l.To)
				c.linkKind = append(c.linkKind, l.Kind)
			}
		}
	}
	return nil
}
