package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/storage"
)

// AppendInTx runs the append function of s inside tx, which the caller
// commits or rolls back, so that a test can hold an append open.
func AppendInTx(ctx context.Context, s *Store, tx pgx.Tx, req storage.AppendRequest) error {
	p, err := storage.Prepare(req)
	if err != nil {
		return err
	}
	args, err := appendArgs(p, p.Records(s.clock()))
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, s.q.append, args...)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// InterpretError exposes interpretError to the tests.
var InterpretError = interpretError
