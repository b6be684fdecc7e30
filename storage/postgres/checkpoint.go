package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock/storage/backend"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// SaveCheckpoint implements storage.Store. It returns an error matching
// storage.ErrConflict when a checkpoint at cp.Position is already stored,
// and a *storage.ValidationError for a checkpoint ValidateCheckpoint
// rejects; in both cases nothing is written.
func (s *Store) SaveCheckpoint(ctx context.Context, cp *audit.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := backend.ValidateCheckpoint(cp); err != nil {
		return err
	}
	// The signature covers the time to the microsecond, which timestamptz
	// keeps; truncating, where Postgres would round, keeps the signed time.
	// json.Marshal keeps nil heads as null and empty ones as [], so a
	// checkpoint reads back as it was saved.
	heads, err := json.Marshal(cp.Heads)
	if err != nil {
		return fmt.Errorf("save checkpoint at %d: %w", cp.Position, err)
	}
	tag, err := s.pool.Exec(ctx, s.q.saveCheckpoint, cp.Position, cp.Time.Truncate(audit.TimePrecision), string(heads), cp.Signature)
	if err != nil {
		return interpretError(ctx, fmt.Sprintf("save checkpoint at %d", cp.Position), err, nil)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("save checkpoint at %d: %w", cp.Position, storage.ErrConflict)
	}
	return nil
}

// LatestCheckpoint implements storage.Store. It returns an error matching
// storage.ErrNotFound when no checkpoint is stored.
func (s *Store) LatestCheckpoint(ctx context.Context) (*audit.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var cp audit.Checkpoint
	var heads []byte
	err := s.pool.QueryRow(ctx, s.q.latestCheckpoint).Scan(&cp.Position, &cp.Time, &heads, &cp.Signature)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("latest checkpoint: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, interpretError(ctx, "latest checkpoint", err, nil)
	}
	if err := json.Unmarshal(heads, &cp.Heads); err != nil {
		return nil, fmt.Errorf("latest checkpoint at %d: heads: %w", cp.Position, err)
	}
	cp.Time = cp.Time.UTC()
	return &cp, nil
}
