package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// GrantApp gives role what an application needs to use the store in schema,
// and nothing more: USAGE on the schema, SELECT on its tables and EXECUTE
// on its functions. Every write goes through the append functions and
// save_checkpoint (and pgwalk's closure cache through its two functions),
// which run with the owner's rights, so role holds no INSERT, UPDATE,
// DELETE or TRUNCATE on any table, and, not owning them, cannot disable
// their triggers.
//
// pool must connect as the schema's owner: the role that ran Migrate.
// GrantApp is idempotent; run it after every Migrate, so that functions a
// new migration adds are granted too. It returns an error for a role or
// schema Postgres cannot name, and an *Error or ErrPermissionDenied when
// the database refuses.
func GrantApp(ctx context.Context, pool *pgxpool.Pool, schema, role string) error {
	if pool == nil {
		return errors.New("postgres: GrantApp: pool is nil")
	}
	if err := checkSchema(schema); err != nil {
		return fmt.Errorf("postgres: GrantApp: schema: %w", err)
	}
	if err := checkSchema(role); err != nil {
		return fmt.Errorf("postgres: GrantApp: role: %w", err)
	}
	s, r := quoteSchema(schema), pgx.Identifier{role}.Sanitize()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			`GRANT USAGE ON SCHEMA ` + s + ` TO ` + r,
			`GRANT SELECT ON ALL TABLES IN SCHEMA ` + s + ` TO ` + r,
			`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ` + s + ` TO ` + r,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	return interpretError(ctx, "grant "+role+" on "+schema, err, nil)
}
