package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
)

// grantHeading starts the part of the roles SQL that the owner runs after
// each migration; tests split the output there.
const grantHeading = "-- 3. As the owner role, after every migration (interlock migrate -app-role does this):"

func (c *cli) roles(_ context.Context, args []string) int {
	cmd := c.command("roles", "roles -schema NAME -owner-role ROLE -app-role ROLE",
		`Roles prints the SQL of a least-privilege deployment, and never connects: an
owner role that owns the schema and runs the migrations, and an application
role that holds USAGE on the schema, SELECT on its tables and EXECUTE on its
functions, nothing else, exactly what postgres.GrantApp grants. Every write
goes through the store's functions, which run with the owner's rights; the
application role cannot insert, update, delete or truncate a table, nor
disable a trigger.`)
	schema := cmd.fs.String("schema", "", "the schema the store lives in (required)")
	owner := cmd.fs.String("owner-role", "", "the role that owns the schema and runs migrate (required)")
	app := cmd.fs.String("app-role", "", "the role the application connects as (required)")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	for _, f := range []struct{ flag, v string }{{"schema", *schema}, {"owner-role", *owner}, {"app-role", *app}} {
		if err := checkIdentifier(f.v); err != nil {
			return cmd.usageError("-%s: %v", f.flag, err)
		}
	}
	if *owner == *app {
		return cmd.usageError("-owner-role and -app-role are both %q: the application must not connect as the role that owns the tables", *owner)
	}
	writeRoles(c.stdout, *schema, *owner, *app)
	return exitOK
}

// writeRoles writes the roles SQL. The grants are GrantApp's statements.
func writeRoles(w io.Writer, schema, owner, app string) {
	q := func(name string) string { return pgx.Identifier{name}.Sanitize() }
	s, o, a := q(schema), q(owner), q(app)
	fmt.Fprintf(w, `-- Least-privilege roles for the Interlock store in schema %[1]s.
-- 1. As a superuser (or a role with CREATEROLE that may act as %[2]s):
CREATE ROLE %[2]s LOGIN;  -- owns the schema and runs migrate; the application never connects as it
CREATE ROLE %[3]s LOGIN;  -- the application's pool: SELECT and EXECUTE only
CREATE SCHEMA %[1]s AUTHORIZATION %[2]s;
-- Give each role a password (ALTER ROLE … PASSWORD, or \password in psql)
-- or another authentication method in pg_hba.conf.

-- 2. As %[2]s: interlock migrate -schema %[4]s -app-role %[5]s
--    (which runs the grants below itself), or run them after migrate:

%[6]s
GRANT USAGE ON SCHEMA %[1]s TO %[3]s;
GRANT SELECT ON ALL TABLES IN SCHEMA %[1]s TO %[3]s;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %[1]s TO %[3]s;
`, s, o, a, shellWord(schema), shellWord(app), grantHeading)
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			out := "'"
			for _, r := range s {
				if r == '\'' {
					out += `'\''`
				} else {
					out += string(r)
				}
			}
			return out + "'"
		}
	}
	return s
}
