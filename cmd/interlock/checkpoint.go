package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/witness"
)

func (c *cli) checkpoint(ctx context.Context, args []string) int {
	cmd := c.command("checkpoint", "checkpoint [-database-url URL] -schema NAME -witness FILE (-key-file FILE | -key-env NAME)",
		`Checkpoint verifies every stream, signs a checkpoint of every stream head
with the checkpoint key, saves it in the database and appends it to the
witness file, which must live where whoever can write the database cannot
(another machine, write-once storage). verify later checks the record
against the newest checkpoint of that file.

The key is an ed25519 private key or seed in hex, read from a file or an
environment variable, never from the command line. It prints the
checkpoint's position, its number of heads and the id and public key to
give verify as -trusted-key. It exits 2 when it could not checkpoint (a
broken record included: a checkpoint is never signed over one).`)
	db := cmd.readFlags()
	witnessPath := cmd.fs.String("witness", "", "the witness file to append the checkpoint to (required)")
	keyFile := cmd.fs.String("key-file", "", "a file holding the checkpoint key: an ed25519 seed (32 bytes) or private key (64 bytes) in hex")
	keyEnv := cmd.fs.String("key-env", "", "the name of an environment variable holding the checkpoint key, as for -key-file")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	if code := db.check(cmd); code != 0 {
		return code
	}
	if code := cmd.required("witness"); code != 0 {
		return code
	}
	var text, from string
	switch {
	case (*keyFile == "") == (*keyEnv == ""):
		return cmd.usageError("give the checkpoint key by exactly one of -key-file and -key-env")
	case *keyFile != "":
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return cmd.usageError("-key-file: %v", err)
		}
		text, from = string(b), "-key-file"
	default:
		text, from = c.getenv(*keyEnv), "-key-env "+*keyEnv
	}
	key, err := checkpointKey(text)
	if err != nil {
		return cmd.usageError("%s: %v", from, err)
	}
	w, err := witness.NewFile(*witnessPath)
	if err != nil {
		return cmd.usageError("-witness: %v", err)
	}
	store, pool, err := db.open(ctx)
	if err != nil {
		return cmd.fail(err)
	}
	defer pool.Close()
	cp, err := storage.Checkpoint(ctx, store, key, time.Now().UTC(), w)
	if err != nil {
		return cmd.fail(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	fmt.Fprintf(c.stdout, "checkpoint at position %d of %d stream heads, signed by key %s\ntrusted key: %s\n",
		cp.Position, len(cp.Heads), audit.KeyID(pub), hex.EncodeToString(pub))
	return exitOK
}

// checkpointKey reads an ed25519 seed or private key in hex; it never
// repeats the key in an error.
func checkpointKey(text string) (ed25519.PrivateKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("not hex")
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		k := ed25519.PrivateKey(b)
		if !k.Public().(ed25519.PublicKey).Equal(ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]).Public()) {
			return nil, fmt.Errorf("the private key's public half does not match its seed")
		}
		return k, nil
	}
	return nil, fmt.Errorf("%d bytes; want an ed25519 seed (%d) or private key (%d)", len(b), ed25519.SeedSize, ed25519.PrivateKeySize)
}
