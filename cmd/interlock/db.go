package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage/postgres"
)

// maxIdentifier is Postgres' limit on a name, in bytes.
const maxIdentifier = 63

// dbFlags are the flags of every subcommand that connects.
type dbFlags struct {
	url, schema string
	readWait    time.Duration
	reads       bool // the command reads the record: -read-wait applies
}

func (cmd *command) dbFlags() *dbFlags {
	d := &dbFlags{}
	cmd.fs.StringVar(&d.url, "database-url", "", "Postgres URL to connect to (default: $"+envDatabaseURL+")")
	cmd.fs.StringVar(&d.schema, "schema", "", "the schema the store lives in (required)")
	return d
}

// readFlags adds the flags of a command that reads the record.
func (cmd *command) readFlags() *dbFlags {
	d := cmd.dbFlags()
	d.reads = true
	cmd.fs.DurationVar(&d.readWait, "read-wait", postgres.DefaultReadAllWait,
		"how long a read waits for write transactions still open in the cluster that hold back records committed after them")
	return d
}

// check validates the flags after parsing; it returns 0 or the usage
// error's exit status.
func (d *dbFlags) check(cmd *command) int {
	if d.url == "" {
		d.url = cmd.c.getenv(envDatabaseURL)
	}
	if d.url == "" {
		return cmd.usageError("-database-url is required (or set %s)", envDatabaseURL)
	}
	if err := checkIdentifier(d.schema); err != nil {
		return cmd.usageError("-schema: %v", err)
	}
	if d.reads && d.readWait <= 0 {
		return cmd.usageError("-read-wait must be positive, not %s", d.readWait)
	}
	return 0
}

// connect opens a pool on the database and checks that the server answers,
// so that a wrong URL is reported before anything else is tried. The
// caller closes the pool.
func (d *dbFlags) connect(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(d.url)
	if err != nil {
		// pgx names the URL with its password masked.
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}

// open connects and returns the store in the schema, after checking that
// the schema was migrated, so that a wrong -schema is named at once rather
// than read as an empty record.
func (d *dbFlags) open(ctx context.Context) (*postgres.Store, *pgxpool.Pool, error) {
	pool, err := d.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	store, err := postgres.New(pool, &postgres.Config{Schema: d.schema, ReadAllWait: d.readWait})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	// Loading a stream is the cheapest read that touches the events table.
	if _, err := store.Load(ctx, "interlock-cli/probe", 1); err != nil {
		pool.Close()
		switch {
		case errors.Is(err, postgres.ErrNotMigrated):
			return nil, nil, fmt.Errorf("schema %q is not migrated, or does not exist: run interlock migrate", d.schema)
		case errors.Is(err, postgres.ErrPermissionDenied):
			return nil, nil, fmt.Errorf("schema %q: this role may not read it: grant it with interlock migrate -app-role", d.schema)
		}
		return nil, nil, fmt.Errorf("schema %q: %w", d.schema, err)
	}
	return store, pool, nil
}

// checkIdentifier reports whether name can be a Postgres schema or role
// name, as the store checks it, and holds no control character.
func checkIdentifier(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("a name is required")
	case len(name) > maxIdentifier:
		return fmt.Errorf("%q is %d bytes, over Postgres' limit of %d", name, len(name), maxIdentifier)
	case !utf8.ValidString(name):
		return fmt.Errorf("%q is not valid UTF-8", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		// A line break would end a comment of the roles SQL early.
		return fmt.Errorf("%q holds a control character", name)
	}
	return nil
}
