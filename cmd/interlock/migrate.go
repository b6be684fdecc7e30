package main

import (
	"context"
	"fmt"

	"github.com/interlock-mes/interlock/storage/postgres"
)

func (c *cli) migrate(ctx context.Context, args []string) int {
	cmd := c.command("migrate", "migrate [-database-url URL] -schema NAME [-app-role ROLE]",
		`Migrate creates the schema if needed and applies the migrations it lacks, in
one transaction; it is idempotent and safe to run from several processes at
once. Connect as the schema's owner role, never as the application's role:
the application role must hold SELECT and EXECUTE only (see interlock roles).
With -app-role, it then grants that role what postgres.GrantApp grants, so
that functions a new migration adds are granted too: run it after every
upgrade.`)
	db := cmd.dbFlags()
	app := cmd.fs.String("app-role", "", "after migrating, grant this application role SELECT on the tables and EXECUTE on the functions")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	if code := db.check(cmd); code != 0 {
		return code
	}
	if *app != "" {
		if err := checkIdentifier(*app); err != nil {
			return cmd.usageError("-app-role: %v", err)
		}
	}
	pool, err := db.connect(ctx)
	if err != nil {
		return cmd.fail(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, db.schema); err != nil {
		return cmd.fail(err)
	}
	fmt.Fprintf(c.stdout, "schema %s: migrated\n", db.schema)
	if *app != "" {
		if err := postgres.GrantApp(ctx, pool, db.schema, *app); err != nil {
			return cmd.fail(err)
		}
		fmt.Fprintf(c.stdout, "schema %s: granted %s SELECT on the tables and EXECUTE on the functions\n", db.schema, *app)
	}
	return exitOK
}
