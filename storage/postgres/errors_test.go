package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
)

func TestInterpretError(t *testing.T) {
	t.Parallel()
	hint := &storage.ConflictError{Stream: "batch-1", Expected: 3, Actual: -1}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	pg := func(code, detail string) error {
		// Wrapped, as pgx hands some errors back.
		return fmt.Errorf("query: %w", &pgconn.PgError{Code: code, Message: "server says no", Detail: detail})
	}
	tests := []struct {
		name     string
		ctx      context.Context
		err      error
		hint     *storage.ConflictError
		is       error // errors.Is must hold
		conflict *storage.ConflictError
		dbError  *postgres.Error
	}{
		{name: "stale version", err: pg("IL001", `{"stream" : "lot-9", "expected" : 2, "actual" : 5}`),
			is: storage.ErrConflict, conflict: &storage.ConflictError{Stream: "lot-9", Expected: 2, Actual: 5}},
		{name: "key reused", err: pg("IL002", "key-1"), is: storage.ErrIdempotencyKeyReused},
		{name: "deadlock", err: pg("40P01", ""), hint: hint, is: storage.ErrConflict, conflict: hint},
		{name: "serialization failure", err: pg("40001", ""), hint: hint, is: storage.ErrConflict, conflict: hint},
		{name: "unique violation without a stream", err: pg("23505", ""), is: storage.ErrConflict},
		{name: "undefined table", err: pg("42P01", ""), is: postgres.ErrNotMigrated},
		{name: "undefined function", err: pg("42883", ""), is: postgres.ErrNotMigrated},
		{name: "other server error", err: pg("53300", ""),
			dbError: &postgres.Error{Op: "op", Code: "53300", Message: "server says no"}},
		{name: "not a server error", err: errors.New("conn closed"),
			dbError: &postgres.Error{Op: "op", Message: "conn closed"}},
		{name: "context ended", ctx: cancelled, err: pg("57014", ""), is: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got := postgres.InterpretError(ctx, "op", tt.err, tt.hint)
			var pgErr *pgconn.PgError
			if errors.As(got, &pgErr) {
				t.Errorf("%v: a pgx error escapes", got)
			}
			if tt.is != nil && !errors.Is(got, tt.is) {
				t.Errorf("%v does not match %v", got, tt.is)
			}
			if tt.conflict != nil {
				var ce *storage.ConflictError
				if !errors.As(got, &ce) {
					t.Fatalf("%v is not a *storage.ConflictError", got)
				}
				if diff := cmp.Diff(tt.conflict, ce); diff != "" {
					t.Errorf("conflict (-want +got):\n%s", diff)
				}
			}
			if tt.dbError != nil {
				var de *postgres.Error
				if !errors.As(got, &de) {
					t.Fatalf("%v is not a *postgres.Error", got)
				}
				if diff := cmp.Diff(tt.dbError, de); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			}
		})
	}
	if got := postgres.InterpretError(context.Background(), "op", nil, nil); got != nil {
		t.Errorf("nil error became %v", got)
	}
}
