package postgres

import (
	"context"
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
	recs := p.Records(s.clock())
	first := p.Streams[0]
	onAbort := &storage.ConflictError{Stream: first.Stream, Expected: first.ExpectedVersion, Actual: -1}
	var w written
	if one, keyed := isOne(p), isKeyed(p); !s.general && (one || keyed) {
		r := &recs[0]
		canon, encErr := audit.Encode(make([]byte, 0, 256+len(r.Payload)+len(r.Evidence)), r)
		if encErr != nil {
			return storage.AppendResult{}, fmt.Errorf("append: %s version %d: %w", r.Stream, r.Version, encErr)
		}
		if one {
			w, err = s.appendOne(ctx, r, canon)
		} else {
			w, err = s.appendMany(ctx, s.q.appendKeyed, keyedArgs(p, r, canon))
		}
	} else {
		args, argsErr := appendArgs(p, recs)
		if argsErr != nil {
			return storage.AppendResult{}, fmt.Errorf("append: %w", argsErr)
		}
		w, err = s.appendMany(ctx, s.q.append, args)
	}
	if err != nil {
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
	n := len(recs)
	var (
		streams  = make([]string, len(p.Streams))
		expected = make([]int64, len(p.Streams))
		genesis  = make([][]byte, len(p.Streams))
		reads    = make([]string, len(p.Reads))
		readVers = make([]int64, len(p.Reads))
		evStream = make([]int32, 0, n)
		evVer    = make([]int64, 0, n)
		types    = make([]string, 0, n)
		actors   = make([]string, 0, n)
		payloads = make([]string, 0, n)
		evidence = make([]string, 0, n)
		canon    = make([][]byte, 0, n)
		linkEv   = []int32{}
		linkOrd  = []int32{}
		linkFrom = []string{}
		linkTo   = []string{}
		linkKind = []string{}
	)
	for i, ps := range p.Streams {
		streams[i], expected[i] = ps.Stream, ps.ExpectedVersion
		g := audit.Genesis(ps.Stream)
		genesis[i] = g[:]
	}
	for i, r := range p.Reads {
		reads[i], readVers[i] = r.Stream, r.Version
	}
	// One buffer holds every encoding; canon slices into it.
	size := 0
	for i := range recs {
		size += 256 + len(recs[i].Payload) + len(recs[i].Evidence)
	}
	buf := make([]byte, 0, size)
	k := 0
	for si, ps := range p.Streams {
		for range ps.Events {
			r := &recs[k]
			k++
			start := len(buf)
			var err error
			if buf, err = audit.Encode(buf, r); err != nil {
				return nil, fmt.Errorf("%s version %d: %w", r.Stream, r.Version, err)
			}
			evStream = append(evStream, int32(si+1))
			evVer = append(evVer, r.Version)
			types = append(types, r.Type)
			actors = append(actors, r.Actor)
			payloads = append(payloads, string(r.Payload))
			evidence = append(evidence, string(r.Evidence))
			canon = append(canon, buf[start:len(buf):len(buf)])
			for j, l := range r.Links {
				linkEv = append(linkEv, int32(k))
				linkOrd = append(linkOrd, int32(j))
				linkFrom = append(linkFrom, l.From)
				linkTo = append(linkTo, l.To)
				linkKind = append(linkKind, l.Kind)
			}
		}
	}
	var key any // NULL: no key
	var digest audit.Hash
	if p.IdempotencyKey != "" {
		key, digest = p.IdempotencyKey, p.Digest()
	}
	return []any{
		key, digest[:],
		streams, expected, genesis,
		reads, readVers,
		recs[0].Time,
		evStream, evVer, types, actors, payloads, evidence, canon,
		linkEv, linkOrd, linkFrom, linkTo, linkKind,
	}, nil
}
