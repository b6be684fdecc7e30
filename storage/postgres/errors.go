package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/interlock-mes/interlock/storage"
)

var (
	// ErrNotMigrated means the schema lacks the tables or functions this
	// version of the package needs: call Migrate.
	ErrNotMigrated = errors.New("postgres: schema not migrated; call Migrate")
	// ErrPermissionDenied means the role the pool connects as may not do
	// what was asked: an application role (see GrantApp) that tried to
	// write a table, or one that was never granted the store's functions.
	ErrPermissionDenied = errors.New("postgres: permission denied")
	// ErrHashDrift means the hash Postgres computed for an appended record
	// differs from the one audit.ComputeHash gives for it: the SQL and Go
	// encodings disagree. The append was written; Verify will report it.
	ErrHashDrift = errors.New("postgres: stored hash differs from the computed one")
)

// Error is a database failure that is none of the storage errors: a broken
// connection, a refused statement, a server error. It keeps the SQLSTATE and
// the message, not the driver's error.
type Error struct {
	Op      string // what the store was doing, such as "append"
	Code    string // SQLSTATE, empty when the server sent none
	Message string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("postgres: %s: %s", e.Op, e.Message)
	}
	return fmt.Sprintf("postgres: %s: %s (SQLSTATE %s)", e.Op, e.Message, e.Code)
}

// SQLSTATEs raised by the migration's functions.
const (
	codeConflict    = "IL001"
	codeKeyReused   = "IL002"
	codeAppendOnly  = "IL003"
	codeClockBehind = "IL007"
	codeNewerWriter = "IL008"
	codeRestored    = "IL009"
)

// interpretError is the one place where driver errors become this package's
// and storage's errors. conflict, when not nil, names the stream to report
// for a conflict that Postgres found without knowing a stream (a deadlock or
// serialization failure).
func interpretError(ctx context.Context, op string, err error, conflict *storage.ConflictError) error {
	return interpretWrite(ctx, op, err, conflict, false)
}

// interpretWrite is interpretError for a statement that writes when unknown
// is set: an error that leaves its outcome open is then ErrOutcomeUnknown.
func interpretWrite(ctx context.Context, op string, err error, conflict *storage.ConflictError, unknown bool) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	isPg := errors.As(err, &pgErr)
	if unknown && !isPg && !pgconn.SafeToRetry(err) {
		// The statement was sent and no answer says what became of it: it
		// may still commit after this returns.
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w: %w", op, storage.ErrOutcomeUnknown, ctxErr)
		}
		return fmt.Errorf("%s: %w: %v", op, storage.ErrOutcomeUnknown, err)
	}
	if unknown && isPg && (pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC") {
		// The server ended the session (terminated, shut down): the error
		// may have come after the commit, so the outcome is open too.
		return fmt.Errorf("%s: %w: %s (SQLSTATE %s)", op, storage.ErrOutcomeUnknown, pgErr.Message, pgErr.Code)
	}
	// A statement the server cancelled (57014) was rolled back: nothing was
	// written, and the context says why.
	if ctxErr := ctx.Err(); ctxErr != nil && (!isPg || pgErr.Code == "57014") {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	if !isPg {
		// Our own errors pass through; anything of the driver's is flattened.
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrInvalid) ||
			errors.Is(err, storage.ErrNotFound) || errors.Is(err, ErrHashDrift) {
			return err
		}
		return &Error{Op: op, Message: err.Error()}
	}
	switch pgErr.Code {
	case codeConflict:
		var d struct {
			Stream   string `json:"stream"`
			Expected int64  `json:"expected"`
			Actual   int64  `json:"actual"`
		}
		if jerr := json.Unmarshal([]byte(pgErr.Detail), &d); jerr != nil {
			return &Error{Op: op, Code: pgErr.Code, Message: fmt.Sprintf("%s: unreadable detail %q", pgErr.Message, pgErr.Detail)}
		}
		return &storage.ConflictError{Stream: d.Stream, Expected: d.Expected, Actual: d.Actual}
	case codeKeyReused:
		return fmt.Errorf("%s: key %q: %w", op, pgErr.Detail, storage.ErrIdempotencyKeyReused)
	case codeClockBehind:
		var d struct {
			Stream string    `json:"stream"`
			Head   time.Time `json:"head"`
			Clock  time.Time `json:"clock"`
		}
		if jerr := json.Unmarshal([]byte(pgErr.Detail), &d); jerr != nil {
			return &Error{Op: op, Code: pgErr.Code, Message: fmt.Sprintf("%s: unreadable detail %q", pgErr.Message, pgErr.Detail)}
		}
		return &storage.ClockError{Stream: d.Stream, Head: d.Head.UTC(), Clock: d.Clock.UTC()}
	case codeNewerWriter:
		return fmt.Errorf("%s: a transaction newer than this one appended first (stream %q); retry the whole transaction: %w",
			op, pgErr.Detail, storage.ErrConflict)
	case "42501": // insufficient privilege
		return fmt.Errorf("%s: %s: %w", op, pgErr.Message, ErrPermissionDenied)
	case "40001", "40P01", "23505": // serialization failure, deadlock, unique violation
		if conflict != nil {
			c := *conflict
			return &c
		}
		return fmt.Errorf("%s: %s: %w", op, pgErr.Message, storage.ErrConflict)
	case codeRestored:
		return fmt.Errorf("%s: %s: %w", op, pgErr.Message, ErrNotMigrated)
	case "42P01", "42883", "3F000": // undefined table, undefined function, no such schema
		return fmt.Errorf("%s: %s: %w", op, pgErr.Message, ErrNotMigrated)
	}
	return &Error{Op: op, Code: pgErr.Code, Message: pgErr.Message}
}
