// Command interlock runs the operations of an Interlock deployment on
// Postgres: it migrates a schema, prints the least-privilege roles, verifies
// the record against a witnessed checkpoint, traces a lot, exports a trace as
// GS1 EPCIS 2.0, as CSV or as the FSMA 204 sortable spreadsheet of one
// critical tracking event, and tails the record in global order.
//
//	go install github.com/interlock-mes/interlock/cmd/interlock@latest
//
// Usage:
//
//	interlock migrate -schema NAME [-app-role ROLE]
//	interlock roles -schema NAME -owner-role ROLE -app-role ROLE
//	interlock checkpoint -schema NAME -witness FILE -key-file FILE
//	interlock verify -schema NAME -witness FILE -trusted-key HEX... [-attestation-key-file FILE]
//	interlock trace -schema NAME -lot ID -direction backward|forward [-depth N] [-format text|json]
//	interlock export epcis -schema NAME -lot ID -direction backward|forward [-depth N] [-id-base URI] [-o FILE]
//	interlock export csv -schema NAME -lot ID -direction backward|forward [-depth N] [-o FILE]
//	interlock export fsma204 -schema NAME -lot ID -direction backward|forward [-depth N] -cte EVENT [-o FILE]
//	interlock feed -schema NAME [-from POSITION] [-follow [-interval D]]
//
// Every subcommand prints its flags with -h.
//
// # The database
//
// The subcommands that read or write the database take its URL from
// -database-url, or, when that flag is absent, from the environment variable
// INTERLOCK_DATABASE_URL, which keeps a password out of the process list
// (the URL may also leave the password to PGPASSWORD or ~/.pgpass). -schema
// names the schema the store lives in; it has no default, so that no command
// reads or migrates a schema nobody named.
//
// migrate must connect as the schema's owner role, never as the role the
// application connects as: the application role holds SELECT and EXECUTE
// only (see roles), and a deployment in which it could run migrations is one
// in which it could change the tables. Run migrate, with -app-role, after
// every upgrade: it grants the application role the functions a new
// migration adds.
//
// verify, trace, export and feed only read; they may connect as either
// role; checkpoint writes a checkpoint through the store's function. A
// read returns a record only once every append in flight before it has
// ended (see storage/postgres, "Global positions"), and waits up to
// -read-wait (default one second) for those still open; after that,
// verify reports a record they hold back as unread, and the feed prints
// it on a later poll. trace and
// export read the whole record into the lot graph first, so they take
// time in proportion to the record.
//
// # Whom verify holds against
//
// verify finds what someone with full access to the database changed,
// deleted, back-dated or inserted, provided its checkpoint comes from a
// witness file they cannot write and its trusted keys from somewhere they
// cannot change either. With attestation keys it also finds records
// written around the engine (by the application role calling the append
// functions itself). An attestation key lets whoever holds it forge
// attested records: give it only to a verifier as trusted as the engine,
// from a file (-attestation-key-file) or an environment variable
// (-attestation-key-env) rather than the command line, which other users
// of the machine can read.
//
// # Exit status
//
//	0  success; for verify, the record is intact
//	1  verify found the record broken: every break is printed by stream and version
//	2  a usage error (an unknown subcommand or flag, a missing or bad value),
//	   or the command could not run: the database, a file or the witness
//	   could not be read, a schema not migrated, a lot no record names
//
// Errors go to standard error, each starting with the subcommand.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command, called with the arguments after the program
// name, so that tests run it in-process. It returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return (&cli{getenv: os.Getenv, stdout: stdout, stderr: stderr}).run(ctx, args)
}
