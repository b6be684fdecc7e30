package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage/backend"
)

// GroupCommit configures group commit: appends that arrive while earlier
// ones are being written share one transaction, and so one WAL flush, in
// the order they arrived. Each keeps its own checks and outcome: its
// expected versions, its asserted reads, its idempotency key, monotonic
// time. A conflict or refusal of one is that append's alone; a failed
// commit fails every append of the group, each with an error its caller
// can act on (storage.ErrOutcomeUnknown when the commit's fate is not
// known). An append that arrives when no group is being written is
// written at once, alone, as without group commit, so group commit adds
// no latency to a lone append.
//
// The zero value turns group commit on with the defaults. Appends on a
// store made by Store.Tx, and appends that hold more than 64 streams and
// reads together, are never grouped.
type GroupCommit struct {
	// Off writes every append in a transaction of its own.
	Off bool
	// MaxBatch bounds the appends in one group. It must not be negative.
	// Default: DefaultGroupMaxBatch.
	MaxBatch int
	// Window is how long a group waits for more appends before it is
	// written, when fewer than MaxBatch are waiting. Only appends that
	// arrived while others were being written wait in groups, so a lone
	// append never waits; under load a longer window makes larger groups
	// at the price of that much latency. It must not be negative. Default:
	// 0, a group is what arrived while the previous one was written.
	Window time.Duration
	// Writers bounds the groups being written at once, each on a
	// connection of its own from the pool. It must not be negative.
	// Default: DefaultGroupWriters.
	Writers int
}

const (
	// DefaultGroupMaxBatch is the MaxBatch of a GroupCommit that leaves it
	// zero.
	DefaultGroupMaxBatch = 64
	// DefaultGroupWriters is the Writers of a GroupCommit that leaves it
	// zero. With more than one, a group that started earlier loses to one
	// that commits first the members it had not written yet (they go into
	// the next group, see migration 0008); two still wrote more than one
	// (BenchmarkAppendGroupTuning: 4,303 against 3,930 appends/s from 8
	// writers, 9,041 against 8,540 from 32, 2026-12-05).
	DefaultGroupWriters = 2
	// groupLocks bounds the streams and reads of an append that a group
	// takes: append_member takes each one's lock, and beyond 64 append
	// locks the whole store instead.
	groupLocks = 64
)

// check validates g and fills in its defaults.
func (g *GroupCommit) check() error {
	switch {
	case g.MaxBatch < 0:
		return fmt.Errorf("GroupCommit.MaxBatch: %d is negative", g.MaxBatch)
	case g.Window < 0:
		return fmt.Errorf("GroupCommit.Window: %v is negative", g.Window)
	case g.Writers < 0:
		return fmt.Errorf("GroupCommit.Writers: %d is negative", g.Writers)
	}
	if g.MaxBatch == 0 {
		g.MaxBatch = DefaultGroupMaxBatch
	}
	if g.Writers == 0 {
		g.Writers = DefaultGroupWriters
	}
	return nil
}

// groupable reports whether p may be written in a group.
func groupable(p *backend.Prepared) bool {
	return len(p.Streams)+len(p.Reads) <= groupLocks
}

// committer gathers a store's appends into groups and writes them.
type committer struct {
	s   *Store
	cfg GroupCommit

	mu      sync.Mutex
	queue   []*member
	writing int // groups being written (goroutines running write)

	groups atomic.Int64 // groups of two or more written, for tests
}

// member is one append waiting in, or written by, a group.
type member struct {
	ctx  context.Context
	p    *backend.Prepared
	recs []audit.Record
	// alone is set when the member is written alone, with its own
	// context: its caller then waits for the outcome even after its
	// context ends, since the statement ends with it.
	alone bool
	taken bool // out of the queue, being written
	w     written
	err   error
	done  chan struct{}
}

func newCommitter(s *Store, cfg GroupCommit) *committer {
	return &committer{s: s, cfg: cfg}
}

// submit writes p in a group and returns its records and what the
// database wrote, or the error: a database error of the member alone or of
// the whole group, for Store.finish to interpret.
func (c *committer) submit(ctx context.Context, p *backend.Prepared) ([]audit.Record, written, error) {
	m := &member{ctx: ctx, p: p, done: make(chan struct{})}
	c.mu.Lock()
	if len(c.queue) == 0 && c.writing < c.cfg.Writers {
		// Alone: the caller writes its append itself, as without group
		// commit, and hands over to a writer only what arrived meanwhile.
		c.writing++
		m.taken, m.alone = true, true
		c.mu.Unlock()
		m.recs = p.Records(c.s.clock())
		m.w, m.err = c.s.appendAlone(ctx, p, m.recs)
		c.mu.Lock()
		if len(c.queue) > 0 {
			go c.write()
		} else {
			c.writing--
		}
		c.mu.Unlock()
		return m.recs, m.w, m.err
	}
	c.queue = append(c.queue, m)
	if c.writing < c.cfg.Writers {
		c.writing++
		go c.write()
	}
	c.mu.Unlock()
	select {
	case <-m.done:
		return m.recs, m.w, m.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	if !m.taken {
		// Still waiting: nothing was sent.
		c.queue = slices.DeleteFunc(c.queue, func(q *member) bool { return q == m })
		c.mu.Unlock()
		return nil, written{}, notSent{ctx.Err()}
	}
	alone := m.alone
	c.mu.Unlock()
	if alone {
		<-m.done
		return m.recs, m.w, m.err
	}
	// The group's statement is on its way and goes on without this
	// caller: it may commit.
	return nil, written{}, fmt.Errorf("%w: %w", errGroupAbandoned, ctx.Err())
}

// errGroupAbandoned is the error of an append whose caller's context ended
// while its group was being written.
var errGroupAbandoned = errors.New("the context ended while the append's group was being written")

// write writes groups while appends wait, then returns.
func (c *committer) write() {
	for {
		c.mu.Lock()
		if c.cfg.Window > 0 && len(c.queue) > 0 && len(c.queue) < c.cfg.MaxBatch {
			c.mu.Unlock()
			time.Sleep(c.cfg.Window)
			c.mu.Lock()
		}
		if len(c.queue) == 0 {
			c.writing--
			c.mu.Unlock()
			return
		}
		batch := c.take()
		c.mu.Unlock()
		if len(batch) == 1 {
			m := batch[0]
			m.recs = m.p.Records(c.s.clock())
			m.w, m.err = c.s.appendAlone(m.ctx, m.p, m.recs)
			close(m.done)
			continue
		}
		c.writeGroup(batch)
	}
}

// take takes the next group from the queue: at most MaxBatch appends, and
// their events within one transaction's positions. c.mu is held.
func (c *committer) take() []*member {
	n, events := 0, 0
	for n < len(c.queue) && n < c.cfg.MaxBatch {
		e := c.queue[n].p.Events
		if n > 0 && events+e >= positionsPerAppend {
			break
		}
		events += e
		n++
	}
	batch := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n)
	for _, m := range batch {
		m.taken = true
	}
	if n == 1 {
		batch[0].alone = true
	}
	return batch
}

// writeGroup writes batch in one statement of append_group. Members that
// found a stream locked by another transaction go back to the front of the
// queue; every other member is done.
func (c *committer) writeGroup(batch []*member) {
	c.groups.Add(1)
	now := c.s.clock()
	var (
		cols                       columns
		keys                       = make([]*string, len(batch))
		digests                    = make([][]byte, len(batch))
		times                      = make([]time.Time, len(batch))
		streamEnd, readEnd         = make([]int32, len(batch)), make([]int32, len(batch))
		eventEnd, linkEnd          = make([]int32, len(batch)), make([]int32, len(batch))
		streams, reads, recs, size = 0, 0, 0, 0
	)
	for _, m := range batch {
		m.recs = m.p.Records(now)
		streams, reads, recs = streams+len(m.p.Streams), reads+len(m.p.Reads), recs+len(m.recs)
		size += encodedSize(m.recs)
	}
	cols.init(streams, reads, recs, size)
	for i, m := range batch {
		if m.p.IdempotencyKey != "" {
			k, d := m.p.IdempotencyKey, m.p.Digest()
			keys[i], digests[i] = &k, d[:]
		} else {
			digests[i] = make([]byte, len(audit.Hash{}))
		}
		times[i] = m.recs[0].Time
		if err := cols.add(m.p, m.recs); err != nil {
			m.err = notSent{err}
		}
		streamEnd[i], readEnd[i] = int32(len(cols.streams)), int32(len(cols.reads))
		eventEnd[i], linkEnd[i] = int32(len(cols.evStream)), int32(len(cols.linkEv))
	}
	// A member that cannot be encoded is done now; the others go on.
	if slices.ContainsFunc(batch, func(m *member) bool { return m.err != nil }) {
		var rest []*member
		for _, m := range batch {
			if m.err != nil {
				close(m.done)
			} else {
				m.recs = nil
				rest = append(rest, m)
			}
		}
		c.requeue(rest)
		return
	}

	ctx := context.Background()
	rows, err := c.s.pool.Query(ctx, c.s.q.appendGroup,
		keys, digests, times, streamEnd, readEnd, eventEnd, linkEnd,
		cols.streams, cols.expected, cols.genesis, cols.reads, cols.readVers,
		cols.evStream, cols.evVer, cols.types, cols.actors, cols.payloads, cols.evidence, cols.canon,
		cols.linkEv, cols.linkOrd, cols.linkFrom, cols.linkTo, cols.linkKind)
	if err == nil {
		err = c.readGroup(rows, batch)
	}
	if err != nil {
		// The group failed as a whole: every member has the statement's
		// error, which finish interprets (an unknown outcome included).
		for _, m := range batch {
			m.w, m.err = written{}, err
			close(m.done)
		}
		return
	}
	var busy []*member
	for _, m := range batch {
		var pgErr *pgconn.PgError
		if errors.As(m.err, &pgErr) && pgErr.Code == codeBusy {
			m.w, m.err, m.recs = written{}, nil, nil
			busy = append(busy, m)
			continue
		}
		close(m.done)
	}
	c.requeue(busy)
}

// readGroup reads append_group's rows into batch's members: each member's
// records, or its refusal as a *pgconn.PgError.
func (c *committer) readGroup(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close()
}, batch []*member) error {
	defer rows.Close()
	for rows.Next() {
		var (
			idx                int32
			pos                *int64
			prev, hash         []byte
			replayed           *bool
			code, msg, details *string
		)
		if err := rows.Scan(&idx, &pos, &prev, &hash, &replayed, &code, &msg, &details); err != nil {
			return err
		}
		if idx < 1 || int(idx) > len(batch) {
			return fmt.Errorf("append_group returned member %d of %d", idx, len(batch))
		}
		m := batch[idx-1]
		if code != nil {
			e := &pgconn.PgError{Code: *code}
			if msg != nil {
				e.Message = *msg
			}
			if details != nil {
				e.Detail = *details
			}
			m.err = e
			continue
		}
		if pos == nil || replayed == nil {
			return fmt.Errorf("append_group returned member %d without a position", idx)
		}
		m.w.positions = append(m.w.positions, *pos)
		m.w.prevs = append(m.w.prevs, prev)
		m.w.hashes = append(m.w.hashes, hash)
		m.w.replayed = *replayed
	}
	return rows.Err()
}

// requeue puts ms back at the front of the queue, in order, for the next
// group, and makes sure a writer will take them.
func (c *committer) requeue(ms []*member) {
	if len(ms) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := ms[:0]
	for _, m := range ms {
		if err := m.ctx.Err(); err != nil {
			// Its caller has gone (with an unknown outcome): it is never
			// written.
			m.err = notSent{err}
			close(m.done)
			continue
		}
		m.taken, m.alone = false, false
		keep = append(keep, m)
	}
	c.queue = append(keep, c.queue...)
	// The caller is a writer and goes on to take them; nothing to start.
}

// codeBusy is append_member's refusal of a member whose stream another
// transaction holds: it is put in the next group.
const codeBusy = "IL010"
