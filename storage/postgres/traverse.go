package postgres

import (
	"context"

	"github.com/interlock-mes/interlock/storage/backend"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/storage"
)

// Traverse implements storage.Store with backend.Walk, one indexed query per
// level, all in one read-only REPEATABLE READ transaction so that the walk
// sees one state of the record, as the memory store's does. It returns a
// *storage.ValidationError for a request ValidateTraverse rejects.
func (s *Store) Traverse(ctx context.Context, req storage.TraverseRequest) ([]storage.Edge, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := backend.ValidateTraverse(req); err != nil {
		return nil, err
	}
	sql, kinds := s.q.linksFrom, []any{}
	if req.Direction == storage.Backward {
		sql = s.q.linksTo
	}
	if len(req.Kinds) > 0 {
		sql, kinds = s.q.linksFromKinds, []any{req.Kinds}
		if req.Direction == storage.Backward {
			sql = s.q.linksToKinds
		}
	}
	var out []storage.Edge
	walk := func(tx querier) error {
		var err error
		out, err = backend.Walk(ctx, req, func(ctx context.Context, nodes []string) ([]storage.Edge, error) {
			rows, err := tx.Query(ctx, sql, append([]any{nodes}, kinds...)...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var edges []storage.Edge
			var hash []byte
			for rows.Next() {
				var e storage.Edge
				if err := rows.Scan(&e.From, &e.To, &e.Kind, &e.Stream, &e.Version, &e.Position, &hash); err != nil {
					return nil, err
				}
				copyHash(&e.Hash, hash)
				edges = append(edges, e)
			}
			return edges, rows.Err()
		})
		return err
	}
	// One snapshot for the whole walk: a read-only repeatable-read
	// transaction, or the caller's transaction for a store made by Tx.
	var err error
	if s.tx != nil {
		err = walk(s.tx)
	} else {
		err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			return walk(tx)
		})
	}
	if err != nil {
		return nil, interpretError(ctx, "traverse", err, nil)
	}
	return out, nil
}
