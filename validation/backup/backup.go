// Package backup proves a backup of an Interlock schema restorable: it
// dumps the schema with pg_dump, restores the dump into a fresh database
// with pg_restore, verifies every stream of the restored copy against the
// latest checkpoint a trusted key signed and a witness kept outside the
// database (storage.VerifyWith, storage/witness.File), compares the
// restored stream heads with the source's, and returns a record of all
// that, which the caller signs.
//
// A backup that lacks records the witnessed checkpoint holds — taken
// before the last writes, cut short, or restored from the wrong file — is
// found: a checkpoint head is missing from the restore or stands at a
// lower version.
package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/witness"
)

// Config says what to back up and what to verify it against. DatabaseURL,
// Schema, Witness and Keys are required.
type Config struct {
	// DatabaseURL names the source database, as a role that may read the
	// schema and create a database (for the restore).
	DatabaseURL string
	// Schema is the schema backed up.
	Schema string
	// Witness holds the checkpoints, outside the database.
	Witness *witness.File
	// Keys are the trusted checkpoint keys.
	Keys *audit.Keys
	// Attestation, when set, holds the engine's attestation keys: every
	// restored record must then carry a valid attestation.
	Attestation *audit.Attested
	// Dir keeps the dump file. Default: a temporary directory, removed.
	Dir string
	// KeepRestore keeps the restored database instead of dropping it.
	KeepRestore bool
	// Clock stamps the record. Default: time.Now.
	Clock func() time.Time
}

// readAllWait bounds how long a read of the whole record waits for
// transactions elsewhere in the cluster that began before records it holds
// back (see postgres.Store.ReadAll). A verifier would rather wait than
// report a record it could not yet read as missing.
const readAllWait = 30 * time.Second

// Record is what a restore verification found. It is the evidence that
// the backup is restorable; Bytes is what is signed.
type Record struct {
	Time       time.Time
	Schema     string
	Dump       string // the dump file's name
	DumpSHA256 string
	RestoredTo string // the database restored into
	// Checkpoint is the witnessed checkpoint's position and the number of
	// stream heads it holds.
	Checkpoint      int64
	CheckpointHeads int
	Records         int64
	Streams         int
	// SourceHeads is the number of source stream heads compared, read
	// before the dump began; 0 when only a dump file was verified.
	SourceHeads int
	Problems    []string
}

// OK reports whether the restore verified with no problem.
func (r *Record) OK() bool { return len(r.Problems) == 0 }

// Bytes returns the record as the text that is signed.
func (r *Record) Bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Interlock restore verification\n")
	fmt.Fprintf(&b, "time:        %s\n", r.Time.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "schema:      %s\n", r.Schema)
	fmt.Fprintf(&b, "dump:        %s sha256 %s\n", r.Dump, r.DumpSHA256)
	fmt.Fprintf(&b, "restored to: %s\n", r.RestoredTo)
	fmt.Fprintf(&b, "checkpoint:  position %d, %d stream heads, witnessed\n", r.Checkpoint, r.CheckpointHeads)
	fmt.Fprintf(&b, "verified:    %d records in %d streams\n", r.Records, r.Streams)
	fmt.Fprintf(&b, "source:      %d stream heads compared\n", r.SourceHeads)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem:     %s\n", p)
	}
	if r.OK() {
		b.WriteString("verdict:     RESTORABLE\n")
	} else {
		b.WriteString("verdict:     NOT RESTORABLE\n")
	}
	return []byte(b.String())
}

// Sign returns the ed25519 signature of the record's bytes.
func (r *Record) Sign(key ed25519.PrivateKey) []byte { return ed25519.Sign(key, r.Bytes()) }

func (c *Config) check() error {
	switch {
	case c.DatabaseURL == "":
		return errors.New("backup: Config.DatabaseURL is empty")
	case c.Schema == "":
		return errors.New("backup: Config.Schema is empty")
	case c.Witness == nil:
		return errors.New("backup: Config.Witness is nil")
	case c.Keys == nil:
		return errors.New("backup: Config.Keys is nil")
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return nil
}

// Run dumps the schema, restores the dump into a fresh database and
// verifies it (see Restore), comparing the restored heads with the
// source's heads as they stood before the dump began. A problem found is
// in the record, not an error; an error means the dump, the restore or a
// read could not be done.
func Run(ctx context.Context, cfg *Config) (*Record, error) {
	if cfg == nil {
		return nil, errors.New("backup: Run: config is nil")
	}
	c := *cfg
	if err := c.check(); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, c.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer pool.Close()
	src, err := postgres.New(pool, &postgres.Config{Schema: c.Schema, ReadAllWait: readAllWait})
	if err != nil {
		return nil, err
	}
	// Read before the dump's snapshot: the dump holds at least these.
	heads, err := src.Heads(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: source heads: %w", err)
	}
	dir := c.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "interlock-backup-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	dump := filepath.Join(dir, c.Schema+".dump")
	if err := Dump(ctx, c.DatabaseURL, c.Schema, dump); err != nil {
		return nil, err
	}
	return restore(ctx, &c, dump, heads)
}

// Dump writes the schema to file with pg_dump, in its custom format.
func Dump(ctx context.Context, databaseURL, schema, file string) error {
	return command(ctx, "pg_dump", "--format=custom", "--schema="+schema, "--file="+file, "--dbname="+databaseURL)
}

// Restore restores the dump file into a fresh database beside the source
// and verifies it: every stream's chain, against the latest checkpoint in
// cfg.Witness signed by cfg.Keys (each of its heads must be in the restore,
// none rewritten, none back-dated), and every record's attestation when
// cfg.Attestation is set. The restored database is dropped afterwards
// unless cfg.KeepRestore.
func Restore(ctx context.Context, cfg *Config, dump string) (*Record, error) {
	if cfg == nil {
		return nil, errors.New("backup: Restore: config is nil")
	}
	c := *cfg
	if err := c.check(); err != nil {
		return nil, err
	}
	return restore(ctx, &c, dump, nil)
}

func restore(ctx context.Context, c *Config, dump string, sourceHeads []audit.Head) (_ *Record, err error) {
	sum, err := fileSHA256(dump)
	if err != nil {
		return nil, err
	}
	cp, err := c.Witness.Latest(c.Keys)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	dbName := "interlock_restore_" + hex.EncodeToString(b[:])
	restoreURL, err := withDatabase(c.DatabaseURL, dbName)
	if err != nil {
		return nil, err
	}
	admin, err := pgx.Connect(ctx, c.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		return nil, fmt.Errorf("backup: create database %s: %w", dbName, err)
	}
	if !c.KeepRestore {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, dropErr := admin.Exec(dctx, "DROP DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)"); dropErr != nil && err == nil {
				err = fmt.Errorf("backup: drop database %s: %w", dbName, dropErr)
			}
		}()
	}
	// Owners and grants are the source cluster's roles; the copy is read
	// by the role that restores it.
	if err := command(ctx, "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--dbname="+restoreURL, dump); err != nil {
		return nil, err
	}
	rec, err := verify(ctx, c, restoreURL, cp, sourceHeads)
	if err != nil {
		return nil, err
	}
	rec.Dump, rec.DumpSHA256, rec.RestoredTo = filepath.Base(dump), sum, dbName
	return rec, nil
}

func verify(ctx context.Context, c *Config, restoreURL string, cp *audit.Checkpoint, sourceHeads []audit.Head) (*Record, error) {
	pool, err := pgxpool.New(ctx, restoreURL)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer pool.Close()
	restored, err := postgres.New(pool, &postgres.Config{Schema: c.Schema, ReadAllWait: readAllWait})
	if err != nil {
		return nil, err
	}
	rec := &Record{Time: c.Clock(), Schema: c.Schema, Checkpoint: cp.Position, CheckpointHeads: len(cp.Heads), SourceHeads: len(sourceHeads)}
	rep, err := storage.VerifyWith(ctx, restored, storage.VerifyConfig{Checkpoint: cp, Keys: c.Keys, Attestation: c.Attestation})
	if rep != nil {
		rec.Records, rec.Streams = rep.Records, rep.Streams
		for _, be := range rep.Breaks {
			rec.Problems = append(rec.Problems, be.Error())
		}
	}
	if err != nil && (rep == nil || len(rep.Breaks) == 0) {
		rec.Problems = append(rec.Problems, "verify: "+err.Error())
	}
	if len(sourceHeads) > 0 {
		got, err := restored.Heads(ctx)
		if err != nil {
			return nil, fmt.Errorf("backup: restored heads: %w", err)
		}
		rec.Problems = append(rec.Problems, compareHeads(sourceHeads, got)...)
	}
	return rec, nil
}

// compareHeads returns a problem for every source head the restore lacks
// or holds at a lower version, or at the same version with another hash.
// A restore may be ahead of the heads: they were read before the dump.
func compareHeads(source, restored []audit.Head) []string {
	have := make(map[string]audit.Head, len(restored))
	for _, h := range restored {
		have[h.Stream] = h
	}
	var out []string
	for _, s := range source {
		r, ok := have[s.Stream]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("stream %q (head v%d at the source) is not in the restore", s.Stream, s.Version))
		case r.Version < s.Version:
			out = append(out, fmt.Sprintf("stream %q stands at v%d in the restore, v%d at the source", s.Stream, r.Version, s.Version))
		case r.Version == s.Version && r.Hash != s.Hash:
			out = append(out, fmt.Sprintf("stream %q v%d has another hash in the restore", s.Stream, s.Version))
		}
	}
	return out
}

func withDatabase(databaseURL, name string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("backup: DatabaseURL must be a postgres:// URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// command runs a PostgreSQL client tool; its error carries the tool's
// own message.
func command(ctx context.Context, name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("backup: %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
