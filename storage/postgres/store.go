package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
)

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Scanner = (*Store)(nil)
)

// maxIdentifierBytes is Postgres' limit on a name (NAMEDATALEN - 1); a
// longer one is silently truncated by the server, which would make two
// schemas one.
const maxIdentifierBytes = 63

// DefaultSchema is the schema a Store uses when Config.Schema is empty.
const DefaultSchema = "public"

// Config configures a Store. The zero value is valid.
type Config struct {
	// Schema holds the store's tables; Migrate must have been run on it.
	// Default: DefaultSchema ("public").
	Schema string
	// Clock gives the time stamped on appended events. Default: time.Now.
	Clock storage.Clock
	// ReadAllWait bounds how long ReadAll waits for the appends in flight
	// that hold back records which have committed (see ReadAll); other
	// transactions hold nothing back. It must not be negative. Default:
	// DefaultReadAllWait.
	ReadAllWait time.Duration
	// GroupCommit configures group commit, on unless GroupCommit.Off is
	// set; the zero value takes the defaults.
	GroupCommit GroupCommit
}

// DefaultReadAllWait is the ReadAllWait of a Config that leaves it zero:
// longer than any append takes, short enough that an append left open in a
// caller's transaction does not stall a reader for long.
const DefaultReadAllWait = time.Second

// Store is a storage.Store in Postgres. It is safe for concurrent use. The
// zero value is not usable; call New.
type Store struct {
	pool *pgxpool.Pool
	// db runs the store's statements: the pool, or the caller's
	// transaction for a store made by Tx (then tx is set).
	db       querier
	tx       pgx.Tx
	clock    storage.Clock
	readWait time.Duration
	q        queries
	// general sends every append through the append function; tests set
	// it to compare the faster functions with it.
	general bool
	// group gathers appends into groups; nil when group commit is off.
	group *committer
}

// New returns a store on pool, which the caller owns and closes. cfg may be
// nil. New does no I/O: a schema that was not migrated shows as
// ErrNotMigrated on first use. It returns an error for a nil pool or a
// Config field that is not valid, naming the field.
func New(pool *pgxpool.Pool, cfg *Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: New: pool is nil")
	}
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if err := checkSchema(c.Schema); err != nil {
		return nil, fmt.Errorf("postgres: New: Config.Schema: %w", err)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	switch {
	case c.ReadAllWait < 0:
		return nil, fmt.Errorf("postgres: New: Config.ReadAllWait: %v is negative", c.ReadAllWait)
	case c.ReadAllWait == 0:
		c.ReadAllWait = DefaultReadAllWait
	}
	if err := c.GroupCommit.check(); err != nil {
		return nil, fmt.Errorf("postgres: New: Config.%w", err)
	}
	s := &Store{pool: pool, db: pool, clock: c.Clock, readWait: c.ReadAllWait, q: newQueries(c.Schema)}
	if !c.GroupCommit.Off {
		s.group = newCommitter(s, c.GroupCommit)
	}
	return s, nil
}

// querier is what the store runs its statements on: a pool or a
// transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Tx returns the store as seen from tx, a transaction the caller owns
// (begun on a pool of the same database, READ COMMITTED): its appends are
// written inside tx, together with the caller's own writes, and commit or
// roll back with it; its reads see what tx sees, its own writes included.
// Hand it to mes.Engine.On to run commands inside tx.
//
// An append may come at any point of tx, after the caller's own writes
// and after other appends. Each runs in a savepoint, so an append that is
// refused (a conflict, a denial's write failing) leaves tx usable. When tx
// already had its transaction id before the append took the store's lock
// (it wrote something before), and any transaction that took its id later
// has appended first, the append is refused with an error matching
// storage.ErrConflict: tx's records would otherwise come before records
// readers may already have returned. Roll tx back and run it again; a
// retry inside tx cannot succeed. An append made before tx's own writes
// takes its id after the lock and is never refused so. ReadAll and Scan on the
// returned store do not wait for other transactions (tx itself would hold
// them back); use the pool's store for them. The store must not be used
// after tx ends.
func (s *Store) Tx(tx pgx.Tx) *Store {
	c := *s
	c.db, c.tx, c.readWait = tx, tx, 0
	return &c
}

// write runs fn on the store's database: on the pool, or in a savepoint of
// the caller's transaction, released when fn succeeds and rolled back when
// it fails, so that a refused append does not abort the transaction.
func (s *Store) write(ctx context.Context, fn func(q querier) error) error {
	if s.tx == nil {
		return fn(s.pool)
	}
	sp, err := s.tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(sp); err != nil {
		_ = sp.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return sp.Commit(ctx)
}

// checkSchema rejects names Postgres would truncate or cannot hold; any
// other name is quoted, so it needs no further rule.
func checkSchema(schema string) error {
	switch {
	case schema == "":
		return errors.New("empty")
	case len(schema) > maxIdentifierBytes:
		return fmt.Errorf("%q is %d bytes, over Postgres' limit of %d", schema, len(schema), maxIdentifierBytes)
	case !utf8.ValidString(schema):
		return fmt.Errorf("%q is not valid UTF-8", schema)
	case strings.ContainsRune(schema, 0):
		return fmt.Errorf("%q holds a NUL byte", schema)
	}
	return nil
}

// quoteSchema returns schema as a quoted SQL identifier.
func quoteSchema(schema string) string { return pgx.Identifier{schema}.Sanitize() }

// queries are the store's statements with the schema filled in, built once.
type queries struct {
	append, appendOne, appendKeyed, appendGroup      string
	loadRange, load, loadPage, readAll               string
	heads                                            string
	maxPosition, readBound, scan, scanState          string
	linksFrom, linksFromKinds, linksTo, linksToKinds string
	saveCheckpoint, latestCheckpoint                 string
}

// recordColumns selects a record; scanRecord reads it.
const recordColumns = `e.position, e.stream, e.version, e.type, e.actor, e.time, e.payload, e.evidence, e.prev_hash, e.hash,
	l.froms, l.tos, l.kinds
FROM {schema}.events e
LEFT JOIN LATERAL (
	SELECT array_agg(k.from_id ORDER BY k.ord) AS froms, array_agg(k.to_id ORDER BY k.ord) AS tos, array_agg(k.kind ORDER BY k.ord) AS kinds
	FROM {schema}.links k WHERE k.position = e.position
) l ON true`

const linkColumns = `SELECT l.from_id, l.to_id, l.kind, l.stream, l.version, l.position, e.hash
FROM {schema}.links l JOIN {schema}.events e ON e.position = l.position`

func newQueries(schema string) queries {
	q := queries{
		append: `SELECT out_position, out_prev_hash, out_hash, out_replayed FROM {schema}.append(
			$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		appendOne: `SELECT out_position, out_prev_hash, out_hash FROM {schema}.append_one($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		appendKeyed: `SELECT out_position, out_prev_hash, out_hash, out_replayed FROM {schema}.append_keyed(
			$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		appendGroup: `SELECT out_member, out_position, out_prev_hash, out_hash, out_replayed, out_code, out_message, out_detail
			FROM {schema}.append_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
				$13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		loadRange: `SELECT ` + recordColumns + ` WHERE e.position >= $1 AND e.position < $2 ORDER BY e.position`,
		load:      `SELECT ` + recordColumns + ` WHERE e.stream = $1 AND e.version >= $2 ORDER BY e.version`,
		loadPage:  `SELECT ` + recordColumns + ` WHERE e.stream = $1 AND e.version >= $2 ORDER BY e.version LIMIT $3`,
		// $bound comes from read_bound, in a statement of its own before
		// the read: every record below it has committed or never will, and
		// the read's snapshot, taken later, sees every one that has (see
		// migration 0006).
		readAll: `SELECT ` + recordColumns + `
			WHERE e.position > $1 AND e.position < $3
			ORDER BY e.position LIMIT $2`,
		scan: `SELECT ` + recordColumns + `
			WHERE e.position > $1 AND e.position < $2
			ORDER BY e.position`,
		scanState: `SELECT {schema}.read_bound(),
			(SELECT coalesce(max(position), 0) FROM {schema}.events)`,
		maxPosition: `SELECT coalesce(max(position), 0) FROM {schema}.events`,
		readBound:   `SELECT {schema}.read_bound()`,
		// A stream's head is its last event. The recursive part steps from
		// one stream's head down to the previous stream's with one backward
		// descent of the (stream, version) index, so the cost grows with
		// the number of streams, not of events.
		heads: `WITH RECURSIVE h AS (
				(SELECT e.stream, e.version, e.hash FROM {schema}.events e ORDER BY e.stream DESC, e.version DESC LIMIT 1)
				UNION ALL
				SELECT p.stream, p.version, p.hash FROM h CROSS JOIN LATERAL (
					SELECT e.stream, e.version, e.hash FROM {schema}.events e WHERE e.stream < h.stream
					ORDER BY e.stream DESC, e.version DESC LIMIT 1
				) p
			)
			SELECT stream, version, hash FROM h ORDER BY stream`,
		linksFrom:        linkColumns + ` WHERE l.from_id = ANY($1)`,
		linksFromKinds:   linkColumns + ` WHERE l.from_id = ANY($1) AND l.kind = ANY($2)`,
		linksTo:          linkColumns + ` WHERE l.to_id = ANY($1)`,
		linksToKinds:     linkColumns + ` WHERE l.to_id = ANY($1) AND l.kind = ANY($2)`,
		saveCheckpoint:   `SELECT {schema}.save_checkpoint($1, $2, $3, $4, $5)`,
		latestCheckpoint: `SELECT position, time, heads, key_id, signature FROM {schema}.checkpoints ORDER BY position DESC`,
	}
	quoted := quoteSchema(schema)
	for _, s := range []*string{&q.append, &q.appendOne, &q.appendKeyed, &q.appendGroup, &q.loadRange, &q.load, &q.loadPage, &q.readAll, &q.heads, &q.maxPosition, &q.readBound, &q.scan, &q.scanState,
		&q.linksFrom, &q.linksFromKinds, &q.linksTo, &q.linksToKinds, &q.saveCheckpoint, &q.latestCheckpoint} {
		*s = strings.ReplaceAll(*s, "{schema}", quoted)
	}
	return q
}
