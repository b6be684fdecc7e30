// Command backup proves a backup of an Interlock schema restorable (see
// package validation/backup): it dumps the schema with pg_dump (or takes
// an existing dump with -from), restores it into a fresh database,
// verifies every stream against the latest checkpoint in the witness file
// signed by a trusted key, compares the restored heads with the source's,
// and writes a restore-verification record signed with an ed25519 key.
//
//	go run ./validation/cmd/backup -database-url postgres://owner@db/mes -schema mes \
//	    -witness /secure/witness.jsonl -trusted-key checkpoint.pub -key restore.key \
//	    -dir /backups -out restore.txt
//
// Key files are as for validation/cmd/qualify; the signature is written
// hex-encoded to -sig (default: the record's name and ".sig"). The
// database URL is passed to pg_dump and pg_restore as an argument, so
// give the password through PGPASSWORD or a .pgpass file rather than in
// the URL. The command exits 1 when the backup is not restorable as the
// record, 2 on a usage or I/O error.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage/witness"
	"github.com/interlock-mes/interlock/validation/backup"
	"github.com/interlock-mes/interlock/validation/internal/keyfile"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("database-url", "", "Postgres URL of the source database, as a role that may create a database")
	schema := fs.String("schema", "public", "the schema to back up")
	witnessPath := fs.String("witness", "", "the witness file of signed checkpoints")
	var trusted files
	fs.Var(&trusted, "trusted-key", "a trusted checkpoint public key file (repeat for several)")
	keyFile := fs.String("key", "", "the ed25519 private key file that signs the record")
	from := fs.String("from", "", "restore and verify this dump instead of taking one")
	dir := fs.String("dir", "", "keep the dump in this directory (default: a temporary one, removed)")
	keep := fs.Bool("keep-restore", false, "keep the restored database")
	out := fs.String("out", "restore-verification.txt", "write the record here")
	sigFile := fs.String("sig", "", "the signature file (default: the record's name and .sig)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "backup:", err)
		return 2
	}
	if *url == "" || *witnessPath == "" || *keyFile == "" || len(trusted) == 0 {
		fmt.Fprintln(stderr, "backup: -database-url, -witness, -trusted-key and -key are required")
		fs.Usage()
		return 2
	}
	key, err := keyfile.Private(*keyFile)
	if err != nil {
		return fail(err)
	}
	var pubs []ed25519.PublicKey
	for _, f := range trusted {
		k, err := keyfile.Public(f)
		if err != nil {
			return fail(err)
		}
		pubs = append(pubs, k)
	}
	keys, err := audit.NewKeys(pubs...)
	if err != nil {
		return fail(err)
	}
	w, err := witness.NewFile(*witnessPath)
	if err != nil {
		return fail(err)
	}
	cfg := &backup.Config{DatabaseURL: *url, Schema: *schema, Witness: w, Keys: keys, Dir: *dir, KeepRestore: *keep}
	var rec *backup.Record
	if *from != "" {
		rec, err = backup.Restore(ctx, cfg, *from)
	} else {
		rec, err = backup.Run(ctx, cfg)
	}
	if err != nil {
		return fail(err)
	}
	if *sigFile == "" {
		*sigFile = *out + ".sig"
	}
	b := rec.Bytes()
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(*sigFile, []byte(hex.EncodeToString(rec.Sign(key))+"\n"), 0o644); err != nil {
		return fail(err)
	}
	stdout.Write(b)
	fmt.Fprintf(stdout, "wrote %s, signed in %s\n", *out, *sigFile)
	if !rec.OK() {
		return 1
	}
	return 0
}
