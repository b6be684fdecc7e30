package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// Load implements storage.Store. It returns a *storage.ValidationError for
// from below 1.
func (s *Store) Load(ctx context.Context, stream string, from int64) ([]audit.Record, error) {
	return s.load(ctx, stream, from, 0)
}

// LoadPage implements storage.PageLoader: Load's first limit records,
// read with a LIMIT so that the rest of the stream is not.
func (s *Store) LoadPage(ctx context.Context, stream string, from int64, limit int) ([]audit.Record, error) {
	if limit < 1 {
		return nil, &storage.ValidationError{Field: "limit", Reason: fmt.Sprintf("%d is below 1", limit)}
	}
	return s.load(ctx, stream, from, limit)
}

// load reads stream from version from on: at most limit records, or all
// of them for a limit of 0.
func (s *Store) load(ctx context.Context, stream string, from int64, limit int) ([]audit.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if from < 1 {
		return nil, &storage.ValidationError{Field: "from", Reason: fmt.Sprintf("version %d is below 1", from)}
	}
	if limit == 0 {
		return s.query(ctx, "load "+stream, s.q.load, stream, from)
	}
	return s.query(ctx, "load "+stream, s.q.loadPage, stream, from, limit)
}

// ReadAll implements storage.Store. It returns only records below the
// lowest transaction id of the appends in flight on this store, so a
// record that commits later always has a higher position than every
// record returned (see the package documentation on positions).
// Transactions that do not append here, open elsewhere in the cluster,
// hold nothing back.
//
// A record that committed while an append with a lower id was still in
// flight is held back until that append's transaction ends. So that a reader sees
// what was appended before it called (as the memory store's readers do),
// ReadAll waits, up to Config.ReadAllWait, for the transactions that hold
// records back when its page is not full, then reads once more; after the
// wait it returns what is safe to return. It returns a
// *storage.ValidationError for a negative after or a limit below 1.
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
	bound, err := s.readBound(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.query(ctx, "read all", s.q.readAll, after, limit, bound)
	if err != nil || len(recs) == limit {
		return recs, err
	}
	last := after
	if len(recs) > 0 {
		last = recs[len(recs)-1].Position
	}
	var top int64
	if err := s.db.QueryRow(ctx, s.q.maxPosition).Scan(&top); err != nil {
		return nil, interpretError(ctx, "read all", err, nil)
	}
	if top <= last {
		return recs, nil
	}
	// Records above last have committed (before this call or since):
	// wait until every transaction up to the newest of them has ended.
	if err := s.waitForBound(ctx, top); err != nil {
		return nil, err
	}
	if bound, err = s.readBound(ctx); err != nil {
		return nil, err
	}
	return s.query(ctx, "read all", s.q.readAll, after, limit, bound)
}

// readBound returns the position below which every record has committed
// or never will exist (migration 0006's read_bound), in a statement of its
// own, so that the read that follows sees every record below it.
func (s *Store) readBound(ctx context.Context) (int64, error) {
	var bound int64
	if err := s.db.QueryRow(ctx, s.q.readBound).Scan(&bound); err != nil {
		return 0, interpretError(ctx, "read all", err, nil)
	}
	return bound, nil
}

// Scan implements storage.Scanner: one query streams every record with
// position > after, in global order, under the same rule as ReadAll (it
// first waits, up to Config.ReadAllWait, for transactions that hold back
// records that have committed). fn gets a record that is reused for the
// next one. It returns fn's error as it is, a *storage.ValidationError for a
// negative after, and the errors ReadAll returns.
func (s *Store) Scan(ctx context.Context, after int64, fn func(*audit.Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if after < 0 {
		return &storage.ValidationError{Field: "after", Reason: fmt.Sprintf("position %d is negative", after)}
	}
	var bound, top int64
	if err := s.db.QueryRow(ctx, s.q.scanState).Scan(&bound, &top); err != nil {
		return interpretError(ctx, "scan", err, nil)
	}
	if top >= bound {
		if err := s.waitForBound(ctx, top); err != nil {
			return err
		}
		var err error
		if bound, err = s.readBound(ctx); err != nil {
			return err
		}
	}
	rows, err := s.db.Query(ctx, s.q.scan, after, bound)
	if err != nil {
		return interpretError(ctx, "scan", err, nil)
	}
	defer rows.Close()
	var r audit.Record
	var rs recordScanner
	for rows.Next() {
		if err := rs.scan(rows, &r); err != nil {
			return interpretError(ctx, "scan", err, nil)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return interpretError(ctx, "scan", rows.Err(), nil)
}

// waitForBound polls until ReadAll's bound passes position or
// Config.ReadAllWait runs out; running out is not an error.
func (s *Store) waitForBound(ctx context.Context, position int64) error {
	deadline := time.NewTimer(s.readWait)
	defer deadline.Stop()
	for pause := 500 * time.Microsecond; ; pause = min(2*pause, 16*time.Millisecond) {
		bound, err := s.readBound(ctx)
		if err != nil {
			return err
		}
		if bound > position {
			return nil
		}
		poll := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			poll.Stop()
			return fmt.Errorf("read all: %w", ctx.Err())
		case <-deadline.C:
			poll.Stop()
			return nil
		case <-poll.C:
		}
	}
}

// Heads implements storage.Store.
func (s *Store) Heads(ctx context.Context) ([]audit.Head, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, s.q.heads)
	if err != nil {
		return nil, interpretError(ctx, "heads", err, nil)
	}
	out := []audit.Head{}
	for rows.Next() {
		var h audit.Head
		var hash []byte
		if err := rows.Scan(&h.Stream, &h.Version, &hash); err != nil {
			rows.Close()
			return nil, interpretError(ctx, "heads", err, nil)
		}
		copyHash(&h.Hash, hash)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(ctx, "heads", err, nil)
	}
	return out, nil
}

// query runs a statement that selects recordColumns.
func (s *Store) query(ctx context.Context, op, sql string, args ...any) ([]audit.Record, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, interpretError(ctx, op, err, nil)
	}
	out, err := scanRecords(rows)
	if err != nil {
		return nil, interpretError(ctx, op, err, nil)
	}
	return out, nil
}

// scanRecords reads rows of recordColumns and closes rows.
func scanRecords(rows pgx.Rows) ([]audit.Record, error) {
	defer rows.Close()
	out := []audit.Record{}
	var rs recordScanner
	for rows.Next() {
		var r audit.Record
		if err := rs.scan(rows, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// recordScanner reads one row of recordColumns into a record, reusing its
// scratch space from row to row.
type recordScanner struct {
	prev, hash        []byte
	froms, tos, kinds []string
}

func (rs *recordScanner) scan(rows pgx.Rows, r *audit.Record) error {
	*r = audit.Record{}
	if err := rows.Scan(&r.Position, &r.Stream, &r.Version, &r.Type, &r.Actor, &r.Time,
		&r.Payload, &r.Evidence, &rs.prev, &rs.hash, &rs.froms, &rs.tos, &rs.kinds); err != nil {
		return err
	}
	r.Time = r.Time.UTC()
	copyHash(&r.PrevHash, rs.prev)
	copyHash(&r.Hash, rs.hash)
	if len(rs.froms) != len(rs.tos) || len(rs.froms) != len(rs.kinds) {
		return fmt.Errorf("%s version %d: links: %d from, %d to, %d kinds", r.Stream, r.Version, len(rs.froms), len(rs.tos), len(rs.kinds))
	}
	if len(rs.froms) > 0 {
		r.Links = make([]audit.Link, len(rs.froms))
		for i := range rs.froms {
			r.Links[i] = audit.Link{From: rs.froms[i], To: rs.tos[i], Kind: rs.kinds[i]}
		}
	}
	return nil
}

// copyHash fills h from a bytea column. A value of another length can only
// come from an edit behind the store's back; it is kept as far as it goes
// rather than refused, so that Verify reads the record and names the break.
func copyHash(h *audit.Hash, b []byte) {
	*h = audit.Hash{}
	copy(h[:], b)
}
