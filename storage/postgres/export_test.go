package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock/storage/backend"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// AppendInTx runs the append of s inside tx, which the caller commits or
// rolls back, so that a test can hold an append open. It calls the function
// Append would call: append_one for one event on one stream without reads,
// key or links, append_keyed for one without links but with a key or reads,
// append otherwise.
func AppendInTx(ctx context.Context, s *Store, tx pgx.Tx, req storage.AppendRequest) error {
	p, err := backend.Prepare(req)
	if err != nil {
		return err
	}
	recs := p.Records(s.clock())
	if isOne(p) {
		r := &recs[0]
		canon, err := audit.Encode(nil, r)
		if err != nil {
			return err
		}
		genesis := audit.Genesis(r.Stream)
		var pos int64
		var prev, hash []byte
		return tx.QueryRow(ctx, s.q.appendOne, r.Stream, r.Version-1, genesis[:], r.Time,
			r.Type, r.Actor, string(r.Payload), string(r.Evidence), canon).Scan(&pos, &prev, &hash)
	}
	query := s.q.append
	var args []any
	if isKeyed(p) {
		r := &recs[0]
		canon, err := audit.Encode(nil, r)
		if err != nil {
			return err
		}
		query, args = s.q.appendKeyed, keyedArgs(p, r, canon)
	} else if args, err = appendArgs(p, recs); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// AppendGeneral runs req through the append function whatever its shape,
// on a schema that may lack later functions.
func AppendGeneral(ctx context.Context, s *Store, req storage.AppendRequest) error {
	p, err := backend.Prepare(req)
	if err != nil {
		return err
	}
	args, err := appendArgs(p, p.Records(s.clock()))
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, s.q.append, args...)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// MigrateTo applies the embedded migrations up to version to schema, as
// Migrate would have when that version was the last.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, schema string, version int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	quoted := quoteSchema(schema)
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoted+`;
		CREATE TABLE IF NOT EXISTS `+quoted+`.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	for _, m := range ms {
		if m.version > version {
			break
		}
		if _, err := pool.Exec(ctx, strings.ReplaceAll(m.sql, "{schema}", quoted)); err != nil {
			return fmt.Errorf("migration %d: %w", m.version, err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO `+quoted+`.schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return err
		}
	}
	return nil
}

// InterpretError exposes interpretError to the tests.
var InterpretError = interpretError

// General makes s send every append through the append function, as it
// did before append_one and append_keyed.
func General(s *Store) { s.general = true }

// AppendGroup writes reqs as one group of group commit, in order, in one
// statement of append_group, and returns each one's result as Append would.
// A request that fails validation has its error and is left out of the
// group.
func AppendGroup(ctx context.Context, s *Store, reqs []storage.AppendRequest) ([]storage.AppendResult, []error) {
	c := s.group
	if c == nil {
		c = newCommitter(s, GroupCommit{MaxBatch: len(reqs), Writers: 1})
	}
	res, errs := make([]storage.AppendResult, len(reqs)), make([]error, len(reqs))
	ms := make([]*member, len(reqs))
	var batch []*member
	for i, req := range reqs {
		p, err := backend.Prepare(req)
		if err != nil {
			errs[i] = err
			continue
		}
		ms[i] = &member{ctx: ctx, p: p, done: make(chan struct{}), taken: true}
		batch = append(batch, ms[i])
	}
	if len(batch) > 0 {
		c.writeGroup(batch)
	}
	c.mu.Lock()
	requeued := c.queue
	c.queue = nil
	c.mu.Unlock()
	for i, m := range ms {
		if m == nil {
			continue
		}
		if slices.Contains(requeued, m) {
			errs[i] = fmt.Errorf("append %d was put back for the next group", i)
			continue
		}
		res[i], errs[i] = s.finish(ctx, m.p, m.recs, m.w, m.err)
	}
	return res, errs
}

// Groups returns how many groups s's group commit has written.
func Groups(s *Store) int64 {
	if s.group == nil {
		return 0
	}
	return s.group.groups.Load()
}
