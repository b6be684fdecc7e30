// Package qualify runs installation and operational qualification (IQ and
// OQ) of Interlock against a site's PostgreSQL database, and reports the
// result as text an integrator signs and files.
//
// IQ inspects what is installed: the Go and module versions of the
// binary, the migrations applied to the production schema, the
// append-only triggers on its tables and that they are enabled, the
// application role's privileges (it must not be able to insert, update,
// delete or truncate any table, nor own one), the trusted checkpoint keys,
// and the skew between the database's clock and the host's. Migrations and
// triggers are compared with a schema this package migrates itself, so
// the expectation comes from the code that is installed, not from a list
// that could go stale.
//
// OQ runs the blocking scenarios through the engine's public API in that
// fresh schema, which it drops at the end: a wrong lot, a skipped step,
// self-approval, a release with an open exception, an overdue instrument,
// an untrained operator, an expired lot, and a record written around the
// engine, which verification must find. Each expects a denial with a
// stable code, on the record; each has a control that the same path is
// allowed when nothing is wrong, so a denial for another reason cannot
// pass.
package qualify

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config is what Run qualifies. Pool and Schema are required.
type Config struct {
	// Pool connects as a role that owns Schema and may create a schema
	// in the database (for OQ): the migration owner, or a superuser.
	Pool *pgxpool.Pool
	// Schema is the production schema, migrated with postgres.Migrate.
	Schema string
	// AppRole is the application's database role, granted with
	// postgres.GrantApp. Its privileges are a check of IQ; when it is
	// empty that check fails, saying so.
	AppRole string
	// TrustedKeys verify checkpoints; IQ fails without one.
	TrustedKeys []ed25519.PublicKey
	// ExpectVersion, when set, is the module version the binary must be
	// built from.
	ExpectVersion string
	// MaxClockSkew bounds the difference between the database's clock and
	// the host's. Default: DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// Clock is the host's clock. Default: time.Now.
	Clock func() time.Time
	// OQSchema names the schema OQ runs in; it must not exist. Default:
	// "interlock_oq_" and random hex.
	OQSchema string
	// KeepOQSchema keeps the OQ schema instead of dropping it.
	KeepOQSchema bool
	// Wait is how OQ waits for an instrument's calibration and a lot's
	// expiry to pass. Default: a timer on the context.
	Wait func(ctx context.Context, d time.Duration) error
}

// DefaultMaxClockSkew is the MaxClockSkew of a Config that leaves it zero.
const DefaultMaxClockSkew = 2 * time.Second

// Check is one qualification check and its result.
type Check struct {
	Phase  string // "IQ" or "OQ"
	Name   string // stable, such as "migrations" or "untrained-operator"
	Pass   bool
	Detail string // what was found, in a sentence
}

// Report is the result of a qualification.
type Report struct {
	Started, Finished time.Time
	Schema, OQSchema  string
	Checks            []Check
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Failed returns the checks that failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

func (r *Report) add(phase, name string, pass bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Phase: phase, Name: name, Pass: pass, Detail: fmt.Sprintf(format, args...)})
}

// Bytes returns the report as the text that is signed: a header, one line
// per check ("IQ PASS name: detail"), and the verdict.
func (r *Report) Bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Interlock installation and operational qualification\n")
	fmt.Fprintf(&b, "started:   %s\nfinished:  %s\n", r.Started.UTC().Format(time.RFC3339Nano), r.Finished.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "schema:    %s\noq schema: %s\n\n", r.Schema, r.OQSchema)
	for _, c := range r.Checks {
		v := "PASS"
		if !c.Pass {
			v = "FAIL"
		}
		fmt.Fprintf(&b, "%s %s %s: %s\n", c.Phase, v, c.Name, c.Detail)
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "\nverdict: %s (%d checks, %d failed)\n", verdict, len(r.Checks), len(r.Failed()))
	return []byte(b.String())
}

// Run qualifies the installation cfg describes: IQ, then OQ in a fresh
// schema. A check that fails is in the report, not an error; Run returns an
// error only for a Config that is not valid (naming the field) or when it
// cannot make or drop the OQ schema.
func Run(ctx context.Context, cfg *Config) (_ *Report, err error) {
	if cfg == nil {
		return nil, errors.New("qualify: Run: config is nil")
	}
	c := *cfg
	if c.Pool == nil {
		return nil, errors.New("qualify: Run: Config.Pool is nil")
	}
	if c.Schema == "" {
		return nil, errors.New("qualify: Run: Config.Schema is empty")
	}
	if c.MaxClockSkew < 0 {
		return nil, fmt.Errorf("qualify: Run: Config.MaxClockSkew: %v is negative", c.MaxClockSkew)
	}
	if c.MaxClockSkew == 0 {
		c.MaxClockSkew = DefaultMaxClockSkew
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Wait == nil {
		c.Wait = sleep
	}
	if c.OQSchema == "" {
		var b [8]byte
		rand.Read(b[:])
		c.OQSchema = "interlock_oq_" + hex.EncodeToString(b[:])
	}
	if c.OQSchema == c.Schema {
		return nil, errors.New("qualify: Run: Config.OQSchema is the production schema")
	}
	r := &Report{Started: c.Clock(), Schema: c.Schema, OQSchema: c.OQSchema}
	if err := createOQSchema(ctx, &c); err != nil {
		return nil, err
	}
	if !c.KeepOQSchema {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, dropErr := c.Pool.Exec(dctx, "DROP SCHEMA "+quote(c.OQSchema)+" CASCADE"); dropErr != nil && err == nil {
				err = fmt.Errorf("qualify: drop %s: %w", c.OQSchema, dropErr)
			}
		}()
	}
	installation(ctx, &c, r)
	operation(ctx, &c, r)
	r.Finished = c.Clock()
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Sign returns the ed25519 signature of report.
func Sign(report []byte, key ed25519.PrivateKey) []byte {
	return ed25519.Sign(key, report)
}

// ErrBadSignature is returned by Verify for a report that its signature
// does not match: the report, or the signature, changed.
var ErrBadSignature = errors.New("qualify: signature does not match the report")

// Verify checks sig over report under pub; it returns ErrBadSignature when
// they do not match.
func Verify(report, sig []byte, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("qualify: public key is %d bytes; want %d", len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, report, sig) {
		return ErrBadSignature
	}
	return nil
}
