package qualify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/validation/qualify"
)

// installation returns a least-privilege installation and a Config for
// it: a superuser pool (OQ makes its own schema), the owner's schema, the
// app role and a trusted key.
func installation(t *testing.T) (pgtest.Least, *qualify.Config) {
	t.Helper()
	l := pgtest.Roles(t)
	admin := pgtest.Connect(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return l, &qualify.Config{Pool: admin, Schema: l.Schema, AppRole: l.AppRole, TrustedKeys: []ed25519.PublicKey{pub}}
}

func check(r *qualify.Report, name string) (qualify.Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name && !c.Pass {
			return c, true // a failed check of that name wins
		}
	}
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return qualify.Check{}, false
}

// TestQualify qualifies a least-privilege installation: every IQ check and
// every OQ scenario passes, each scenario's denial named with its code,
// the OQ schema is gone afterwards, and the signed report verifies while a
// changed one does not.
func TestQualify(t *testing.T) {
	t.Parallel()
	_, cfg := installation(t)
	ctx := t.Context()
	rep, err := qualify.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := string(rep.Bytes())
	if !rep.OK() {
		t.Fatalf("qualification failed:\n%s", text)
	}
	for name, want := range map[string]string{
		"go-version": "go1", "module-version": "github.com/interlock-mes/interlock", "migrations": "0005_least_privilege",
		"triggers": "present and enabled", "app-role": "writes none", "trusted-keys": "1 trusted", "clock": "differ by",
		"untrained-operator": "training.missing", "wrong-lot": "lot.wrong-material", "skipped-step": "step.missing",
		"overdue-instrument": "equipment.calibration-overdue", "expired-lot": "lot.expired", "self-approval": "signature.self",
		"release-open-exception": "release.exception-open", "engine-bypass": "unattested",
		"control-weigh": "allowed", "control-verify": "allowed", "control-skip": "allowed",
	} {
		c, ok := check(rep, name)
		if !ok || !c.Pass || !strings.Contains(c.Detail, want) {
			t.Errorf("check %s = %+v; want a pass that says %q", name, c, want)
		}
	}
	var n int
	if err := cfg.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", rep.OQSchema).Scan(&n); err != nil || n != 0 {
		t.Errorf("OQ schema %s left behind (%d, %v)", rep.OQSchema, n, err)
	}

	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	b := rep.Bytes()
	sig := qualify.Sign(b, key)
	if err := qualify.Verify(b, sig, pub); err != nil {
		t.Errorf("the signed report does not verify: %v", err)
	}
	changed := []byte(strings.Replace(string(b), "OQ PASS self-approval", "OQ PASS self-approva1", 1))
	if err := qualify.Verify(changed, sig, pub); !errors.Is(err, qualify.ErrBadSignature) {
		t.Errorf("a changed report verified: %v", err)
	}
}

// TestQualifyFindsBadInstallation breaks the installation one way at a
// time, as a careless administrator might, and checks that IQ fails the
// one check that should: a disabled trigger, an app role that may insert,
// a missing trusted key, a host clock an hour off, another module version.
func TestQualifyFindsBadInstallation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, check, detail string
		breakIt             func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error
	}{
		{"DisabledTrigger", "triggers", "events.events_append_only disabled", func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error {
			_, err := cfg.Pool.Exec(ctx, "ALTER TABLE "+l.Schema+".events DISABLE TRIGGER events_append_only")
			return err
		}},
		{"AppRoleMayInsert", "app-role", "may INSERT into events", func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error {
			_, err := cfg.Pool.Exec(ctx, "GRANT INSERT ON "+l.Schema+".events TO "+l.AppRole)
			return err
		}},
		{"NoAppRole", "app-role", "not checked", func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error {
			cfg.AppRole = ""
			return nil
		}},
		{"NoTrustedKey", "trusted-keys", "no trusted", func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error {
			cfg.TrustedKeys = nil
			return nil
		}},
		{"ClockOff", "clock", "at most 2s", func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error {
			cfg.Clock = func() time.Time { return time.Now().Add(time.Hour) }
			return nil
		}},
		{"OtherVersion", "module-version", "want v9.9.9", func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error {
			cfg.ExpectVersion = "v9.9.9"
			return nil
		}},
		{"MigrationMissing", "migrations", "this version installs", func(ctx context.Context, l pgtest.Least, cfg *qualify.Config) error {
			_, err := cfg.Pool.Exec(ctx, "DELETE FROM "+l.Schema+".schema_migrations WHERE version = 5")
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, cfg := installation(t)
			ctx := t.Context()
			if err := c.breakIt(ctx, l, cfg); err != nil {
				t.Fatal(err)
			}
			rep, err := qualify.Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			failed := rep.Failed()
			if rep.OK() || len(failed) != 1 || failed[0].Name != c.check || !strings.Contains(failed[0].Detail, c.detail) {
				t.Errorf("failed checks = %+v; want only %s, saying %q\n%s", failed, c.check, c.detail, rep.Bytes())
			}
		})
	}
}

// TestRunValidates: a Config without a pool or schema is refused, naming
// the field.
func TestRunValidates(t *testing.T) {
	for _, c := range []struct {
		cfg  *qualify.Config
		want string
	}{{nil, "config is nil"}, {&qualify.Config{}, "Config.Pool"}} {
		if _, err := qualify.Run(t.Context(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v) = %v; want an error naming %s", c.cfg, err, c.want)
		}
	}
}
