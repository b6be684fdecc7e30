// Command qualify runs installation and operational qualification (IQ and
// OQ, see package validation/qualify) against a site's database, writes
// the report, and signs it with an ed25519 key; or, with -verify, checks a
// signed report.
//
//	go run ./validation/cmd/qualify -database-url postgres://owner@db/mes -schema mes \
//	    -app-role mes_app -trusted-key checkpoint.pub -key qualify.key -out iqoq.txt
//	go run ./validation/cmd/qualify -verify iqoq.txt -public-key qualify.pub
//
// -database-url must connect as a role that owns the schema and may create
// a schema (OQ runs in a fresh one it drops afterwards). A key file holds
// a hex-encoded ed25519 key (a 32-byte seed or 64-byte private key; a
// 32-byte public key) or a PEM block (PKCS #8 private, PKIX public). The
// signature is written hex-encoded beside the report (-sig, default the
// report's name and ".sig"). The command exits 1 when a check fails or a
// signature does not verify, 2 on a usage or I/O error.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/validation/internal/keyfile"
	"github.com/interlock-mes/interlock/validation/qualify"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type keyList []string

func (k *keyList) String() string     { return strings.Join(*k, ",") }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qualify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("database-url", "", "Postgres URL, as the schema's owner")
	schema := fs.String("schema", "public", "the production schema")
	appRole := fs.String("app-role", "", "the application's database role")
	var trusted keyList
	fs.Var(&trusted, "trusted-key", "a trusted checkpoint public key file (repeat for several)")
	keyFile := fs.String("key", "", "the ed25519 private key file that signs the report")
	out := fs.String("out", "qualification.txt", "write the report here")
	sigFile := fs.String("sig", "", "the signature file (default: the report's name and .sig)")
	expect := fs.String("expect-version", "", "the module version the binary must be built from")
	skew := fs.Duration("max-clock-skew", qualify.DefaultMaxClockSkew, "the largest difference allowed between database and host clocks")
	keep := fs.Bool("keep-oq-schema", false, "keep the OQ schema instead of dropping it")
	verify := fs.String("verify", "", "verify this signed report instead of qualifying")
	pubFile := fs.String("public-key", "", "with -verify: the public key file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "qualify:", err)
		return 2
	}
	if *verify != "" {
		if *sigFile == "" {
			*sigFile = *verify + ".sig"
		}
		report, err := os.ReadFile(*verify)
		if err != nil {
			return fail(err)
		}
		sig, err := keyfile.Hex(*sigFile)
		if err != nil {
			return fail(err)
		}
		pub, err := keyfile.Public(*pubFile)
		if err != nil {
			return fail(err)
		}
		if err := qualify.Verify(report, sig, pub); err != nil {
			fmt.Fprintf(stderr, "qualify: %s: %v\n", *verify, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: signature verifies\n", *verify)
		return 0
	}
	if *url == "" || *keyFile == "" {
		fmt.Fprintln(stderr, "qualify: -database-url and -key are required (or -verify)")
		fs.Usage()
		return 2
	}
	key, err := keyfile.Private(*keyFile)
	if err != nil {
		return fail(err)
	}
	cfg := &qualify.Config{Schema: *schema, AppRole: *appRole, ExpectVersion: *expect, MaxClockSkew: *skew, KeepOQSchema: *keep}
	for _, f := range trusted {
		k, err := keyfile.Public(f)
		if err != nil {
			return fail(err)
		}
		cfg.TrustedKeys = append(cfg.TrustedKeys, k)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, *url)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	cfg.Pool = pool
	rep, err := qualify.Run(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	b := rep.Bytes()
	if *sigFile == "" {
		*sigFile = *out + ".sig"
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(*sigFile, []byte(hex.EncodeToString(qualify.Sign(b, key))+"\n"), 0o644); err != nil {
		return fail(err)
	}
	stdout.Write(b)
	fmt.Fprintf(stdout, "wrote %s, signed in %s\n", *out, *sigFile)
	if !rep.OK() {
		return 1
	}
	return 0
}
