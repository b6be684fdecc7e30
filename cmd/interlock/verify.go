package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/witness"
)

func (c *cli) verify(ctx context.Context, args []string) int {
	cmd := c.command("verify", "verify [-database-url URL] -schema NAME -witness FILE -trusted-key HEX... [-attestation-key-file FILE | -attestation-key-env NAME | -attestation-key ID:HEX...]",
		`Verify reads every record in global order, checks every stream's hash chain
and that the records reach every stream head, and checks them against the
newest checkpoint in the witness file that a trusted key signed: a stream
deleted, truncated, rewritten or back-dated since then is found. With
attestation keys, every record the engine did not write is found too.

It prints every break by stream and version and exits 1 when the record is
broken, 0 when it is intact, 2 when it could not verify (a usage error, the
database, or a witness without a checkpoint by a trusted key).

Attestation keys are secrets: prefer -attestation-key-file or
-attestation-key-env to -attestation-key, whose value any user of the machine
can read in the process list.`)
	db := cmd.readFlags()
	witnessPath := cmd.fs.String("witness", "", "the witness file whose newest trusted checkpoint to verify against (required)")
	var trusted listFlag
	cmd.fs.Var(&trusted, "trusted-key", "a trusted checkpoint public key, ed25519 in hex (required; repeat for each key in rotation)")
	var attestArgs secretFlag
	cmd.fs.Var(&attestArgs, "attestation-key", "an engine attestation key as id:hexkey (repeatable)")
	attestFile := cmd.fs.String("attestation-key-file", "", "a file of engine attestation keys, one id:hexkey a line")
	attestEnv := cmd.fs.String("attestation-key-env", "", "the name of an environment variable holding engine attestation keys, id:hexkey separated by commas")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	if code := db.check(cmd); code != 0 {
		return code
	}
	if code := cmd.required("witness"); code != 0 {
		return code
	}
	if len(trusted) == 0 {
		return cmd.usageError("-trusted-key is required: a checkpoint proves nothing without a key to check it by")
	}
	keys, err := trustedKeys(trusted)
	if err != nil {
		return cmd.usageError("-trusted-key: %v", err)
	}
	var entries []attestationEntry
	for i, v := range attestArgs {
		entries = append(entries, attestationEntry{from: fmt.Sprintf("-attestation-key %d", i+1), value: v})
	}
	if *attestFile != "" {
		more, err := attestationFile(*attestFile)
		if err != nil {
			return cmd.usageError("-attestation-key-file: %v", err)
		}
		entries = append(entries, more...)
	}
	if *attestEnv != "" {
		more, err := attestationEnv(*attestEnv, c.getenv(*attestEnv))
		if err != nil {
			return cmd.usageError("-attestation-key-env: %v", err)
		}
		entries = append(entries, more...)
	}
	attested, err := attestationKeys(entries)
	if err != nil {
		return cmd.usageError("attestation keys: %v", err)
	}

	w, err := witness.NewFile(*witnessPath)
	if err != nil {
		return cmd.usageError("-witness: %v", err)
	}
	cp, err := w.Latest(keys)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return cmd.fail(fmt.Errorf("%w; without a trusted checkpoint nothing proves that streams were not deleted or cut short", err))
		}
		return cmd.fail(err)
	}
	store, pool, err := db.open(ctx)
	if err != nil {
		return cmd.fail(err)
	}
	defer pool.Close()

	rep, verr := storage.VerifyWith(ctx, store, storage.VerifyConfig{Checkpoint: cp, Keys: keys, Attestation: attested})
	if rep == nil {
		return cmd.fail(verr)
	}
	return c.report(rep, verr, cp, attested != nil)
}

// report prints a verification and returns its exit status.
func (c *cli) report(rep *storage.Report, verr error, cp *audit.Checkpoint, attested bool) int {
	breaks := slices.Clone(rep.Breaks)
	slices.SortStableFunc(breaks, func(a, b *audit.BreakError) int {
		return cmp.Or(cmp.Compare(a.Stream, b.Stream), cmp.Compare(a.Version, b.Version))
	})
	for _, b := range breaks {
		at := ""
		if b.Position > 0 {
			at = fmt.Sprintf(" position %d", b.Position)
		}
		fmt.Fprintf(c.stdout, "BROKEN stream %q version %d%s: %s (want %s, got %s)\n",
			b.Stream, b.Version, at, printable(string(b.Kind)), printable(b.Want), printable(b.Got))
	}
	if slices.ContainsFunc(breaks, func(b *audit.BreakError) bool { return b.Kind == audit.BreakUnread }) {
		fmt.Fprintln(c.stdout, "(an unread head is a record planted outside the global read, or one held back by a write transaction")
		fmt.Fprintln(c.stdout, " still open in the cluster: verify again once it has ended, or with a longer -read-wait, to tell them apart)")
	}
	if len(rep.Breaks) >= storage.MaxReportedBreaks {
		fmt.Fprintf(c.stdout, "(the first %d breaks; there may be more)\n", storage.MaxReportedBreaks)
	}
	what := "chains, heads and checkpoint"
	if attested {
		what += " and attestations"
	}
	summary := fmt.Sprintf("%d records in %d streams up to position %d; checkpoint at position %d, key %s, made %s; checked %s",
		rep.Records, rep.Streams, rep.Position, cp.Position, cp.KeyID, cp.Time.UTC().Format("2006-01-02T15:04:05Z"), what)
	if len(breaks) > 0 || verr != nil {
		if len(breaks) == 0 {
			// An error without a break in the report; print it rather
			// than call the record intact.
			fmt.Fprintf(c.stdout, "BROKEN %v\n", verr)
		}
		if attested && rep.Unattested > 0 {
			fmt.Fprintf(c.stdout, "%d records carry no valid engine attestation\n", rep.Unattested)
		}
		fmt.Fprintf(c.stdout, "broken: %s\n", summary)
		return exitBroken
	}
	fmt.Fprintf(c.stdout, "intact: %s\n", summary)
	return exitOK
}
