package qualify

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/storage/postgres"
)

const module = "github.com/interlock-mes/interlock"

func quote(s string) string { return pgx.Identifier{s}.Sanitize() }

func createOQSchema(ctx context.Context, c *Config) error {
	if _, err := c.Pool.Exec(ctx, "CREATE SCHEMA "+quote(c.OQSchema)); err != nil {
		return fmt.Errorf("qualify: create %s: %w", c.OQSchema, err)
	}
	if err := postgres.Migrate(ctx, c.Pool, c.OQSchema); err != nil {
		return fmt.Errorf("qualify: %w", err)
	}
	return nil
}

// installation runs the IQ checks into r.
func installation(ctx context.Context, c *Config, r *Report) {
	const iq = "IQ"
	r.add(iq, "go-version", true, "built with %s for %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	version, found := moduleVersion()
	switch {
	case !found:
		r.add(iq, "module-version", false, "the binary carries no build information for %s", module)
	case c.ExpectVersion != "" && version != c.ExpectVersion:
		r.add(iq, "module-version", false, "%s %s; want %s", module, version, c.ExpectVersion)
	default:
		r.add(iq, "module-version", true, "%s %s", module, version)
	}

	var pgVersion string
	if err := c.Pool.QueryRow(ctx, "SELECT version()").Scan(&pgVersion); err != nil {
		r.add(iq, "database", false, "SELECT version(): %v", err)
		return
	}
	r.add(iq, "database", true, "%s", pgVersion)

	want, err1 := migrationsOf(ctx, c, c.OQSchema)
	got, err2 := migrationsOf(ctx, c, c.Schema)
	switch {
	case err1 != nil || err2 != nil:
		r.add(iq, "migrations", false, "read schema_migrations: %v", firstErr(err2, err1))
	case !slices.Equal(want, got):
		r.add(iq, "migrations", false, "%s has %s; this version installs %s", c.Schema, strings.Join(got, ", "), strings.Join(want, ", "))
	default:
		r.add(iq, "migrations", true, "%s has every migration of this version: %s", c.Schema, strings.Join(got, ", "))
	}

	wantT, err1 := triggersOf(ctx, c, c.OQSchema)
	gotT, err2 := triggersOf(ctx, c, c.Schema)
	if err := firstErr(err2, err1); err != nil {
		r.add(iq, "triggers", false, "read triggers: %v", err)
	} else {
		var problems []string
		for name := range wantT {
			switch state, ok := gotT[name]; {
			case !ok:
				problems = append(problems, name+" missing")
			case state != "O" && state != "A":
				problems = append(problems, name+" disabled")
			}
		}
		slices.Sort(problems)
		if len(problems) > 0 {
			r.add(iq, "triggers", false, "%s", strings.Join(problems, "; "))
		} else {
			r.add(iq, "triggers", true, "%d append-only triggers present and enabled", len(wantT))
		}
	}

	appRole(ctx, c, r)

	if len(c.TrustedKeys) == 0 {
		r.add(iq, "trusted-keys", false, "no trusted checkpoint key configured")
	} else {
		var fps []string
		for _, k := range c.TrustedKeys {
			fps = append(fps, fmt.Sprintf("%x", k[:8]))
		}
		r.add(iq, "trusted-keys", true, "%d trusted checkpoint key(s): %s…", len(c.TrustedKeys), strings.Join(fps, "…, "))
	}

	// The store stamps records with the host's clock and the database
	// orders and checks them with its own: they must agree.
	before := c.Clock()
	var dbNow time.Time
	if err := c.Pool.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&dbNow); err != nil {
		r.add(iq, "clock", false, "SELECT clock_timestamp(): %v", err)
		return
	}
	after := c.Clock()
	host := before.Add(after.Sub(before) / 2)
	skew := dbNow.Sub(host)
	if skew < 0 {
		skew = -skew
	}
	r.add(iq, "clock", skew <= c.MaxClockSkew, "database and host clocks differ by %v (at most %v allowed)", skew.Round(time.Millisecond), c.MaxClockSkew)
}

func moduleVersion() (string, bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", false
	}
	if bi.Main.Path == module {
		return bi.Main.Version, true
	}
	for _, d := range bi.Deps {
		if d.Path == module {
			if d.Replace != nil {
				return d.Version + " => " + d.Replace.Path + " " + d.Replace.Version, true
			}
			return d.Version, true
		}
	}
	// A test binary of this module's own packages reports no main module.
	return "(devel)", bi.Main.Path == ""
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func migrationsOf(ctx context.Context, c *Config, schema string) ([]string, error) {
	rows, err := c.Pool.Query(ctx, "SELECT format('%s_%s', lpad(version::text, 4, '0'), name) FROM "+quote(schema)+".schema_migrations ORDER BY version")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// triggersOf returns the schema's own triggers as "table.trigger", each
// with its pg_trigger.tgenabled ("O" and "A" fire in ordinary sessions).
func triggersOf(ctx context.Context, c *Config, schema string) (map[string]string, error) {
	rows, err := c.Pool.Query(ctx, `SELECT c.relname || '.' || t.tgname, t.tgenabled::text
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND NOT t.tgisinternal`, schema)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var name, state string
	_, err = pgx.ForEachRow(rows, []any{&name, &state}, func() error {
		out[name] = state
		return nil
	})
	return out, err
}

// appRole checks the application role as postgres.GrantApp leaves it: not
// a superuser, owning nothing in the schema, no INSERT, UPDATE, DELETE or
// TRUNCATE on any table, and EXECUTE on the append functions.
func appRole(ctx context.Context, c *Config, r *Report) {
	const iq = "IQ"
	if c.AppRole == "" {
		r.add(iq, "app-role", false, "no application role named; its privileges were not checked")
		return
	}
	var super, bypass bool
	if err := c.Pool.QueryRow(ctx, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", c.AppRole).Scan(&super, &bypass); err != nil {
		r.add(iq, "app-role", false, "role %s: %v", c.AppRole, err)
		return
	}
	var problems []string
	if super || bypass {
		problems = append(problems, "is a superuser or bypasses row security")
	}
	rows, err := c.Pool.Query(ctx, `SELECT c.relname,
			pg_get_userbyid(c.relowner) = $2,
			has_table_privilege($2, c.oid, 'INSERT'), has_table_privilege($2, c.oid, 'UPDATE'),
			has_table_privilege($2, c.oid, 'DELETE'), has_table_privilege($2, c.oid, 'TRUNCATE'),
			has_table_privilege($2, c.oid, 'SELECT')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`, c.Schema, c.AppRole)
	if err != nil {
		r.add(iq, "app-role", false, "privileges of %s: %v", c.AppRole, err)
		return
	}
	var table string
	var owns, ins, upd, del, trunc, sel bool
	tables := 0
	_, err = pgx.ForEachRow(rows, []any{&table, &owns, &ins, &upd, &del, &trunc, &sel}, func() error {
		tables++
		for _, p := range []struct {
			bad  bool
			what string
		}{{owns, "owns"}, {ins, "may INSERT into"}, {upd, "may UPDATE"}, {del, "may DELETE from"}, {trunc, "may TRUNCATE"}, {!sel, "may not SELECT from"}} {
			if p.bad {
				problems = append(problems, p.what+" "+table)
			}
		}
		return nil
	})
	if err != nil {
		r.add(iq, "app-role", false, "privileges of %s: %v", c.AppRole, err)
		return
	}
	var fns, canRun int
	if err := c.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE has_function_privilege($2, p.oid, 'EXECUTE'))
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 AND p.proname IN ('append', 'append_one', 'append_keyed', 'append_group', 'save_checkpoint')`, c.Schema, c.AppRole).Scan(&fns, &canRun); err != nil {
		r.add(iq, "app-role", false, "functions of %s: %v", c.Schema, err)
		return
	}
	if fns == 0 || canRun != fns {
		problems = append(problems, fmt.Sprintf("may execute %d of %d append functions", canRun, fns))
	}
	if tables == 0 {
		problems = append(problems, "schema has no tables")
	}
	if len(problems) > 0 {
		r.add(iq, "app-role", false, "%s: %s", c.AppRole, strings.Join(problems, "; "))
		return
	}
	r.add(iq, "app-role", true, "%s reads %d tables, writes none, owns none, and may execute the %d append functions", c.AppRole, tables, fns)
}
