package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/interlock-mes/interlock/storage/backend"

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
	var saved bool
	err = s.write(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.q.saveCheckpoint, cp.Position, cp.Time.Truncate(audit.TimePrecision), string(heads), cp.KeyID, cp.Signature).Scan(&saved)
	})
	if err != nil {
		return interpretError(ctx, fmt.Sprintf("save checkpoint at %d", cp.Position), err, nil)
	}
	if !saved {
		return fmt.Errorf("save checkpoint at %d: %w", cp.Position, storage.ErrConflict)
	}
	return nil
}

// LatestCheckpoint implements storage.Store: it reads checkpoints from the
// newest down and returns the first one a key of keys signed. It returns an
// error matching storage.ErrNotFound when there is none.
func (s *Store) LatestCheckpoint(ctx context.Context, keys *audit.Keys) (*audit.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, &storage.ValidationError{Field: "keys", Reason: "nil: no key is trusted"}
	}
	rows, err := s.db.Query(ctx, s.q.latestCheckpoint)
	if err != nil {
		return nil, interpretError(ctx, "latest checkpoint", err, nil)
	}
	defer rows.Close()
	for rows.Next() {
		var cp audit.Checkpoint
		var heads []byte
		if err := rows.Scan(&cp.Position, &cp.Time, &heads, &cp.KeyID, &cp.Signature); err != nil {
			return nil, interpretError(ctx, "latest checkpoint", err, nil)
		}
		// Heads that do not decode cannot be what a trusted key signed.
		if json.Unmarshal(heads, &cp.Heads) != nil {
			continue
		}
		cp.Time = cp.Time.UTC()
		if keys.Verify(&cp) == nil {
			return &cp, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(ctx, "latest checkpoint", err, nil)
	}
	return nil, fmt.Errorf("latest checkpoint: %w", storage.ErrNotFound)
}
