// Command audittrail shows Interlock's record at work: it writes a short
// batch story to a store, signs a checkpoint, then tampers with copies of the
// records in three ways and prints what verification finds for each.
//
//	go run ./examples/audittrail
//
// The records are kept in memory unless -database-url names a Postgres
// database, where they go to a new schema that is dropped at the end (keep
// it with -keep).
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/examples/internal/exstore"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: audittrail [-database-url URL [-keep]]")
		flag.PrintDefaults()
	}
	dbURL := flag.String("database-url", "", "Postgres URL to keep the records in, in a new schema (default: memory)")
	keep := flag.Bool("keep", false, "with -database-url: keep the schema instead of dropping it at the end")
	flag.Parse()
	ctx := context.Background()
	store, closeStore, err := exstore.Open(ctx, *dbURL, "audittrail", *keep, exstore.FixedClock(), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "audittrail:", err)
		os.Exit(1)
	}
	err = run(ctx, os.Stdout, store)
	closeStore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "audittrail:", err)
		os.Exit(1)
	}
}

func memoryStore() storage.Store { return memory.New(&memory.Config{Clock: exstore.FixedClock()}) }

func run(ctx context.Context, w io.Writer, s storage.Store) error {
	// The key that signs checkpoints lives outside the database. A fixed seed
	// keeps this demonstration reproducible; a real one comes from a vault.
	key := ed25519.NewKeyFromSeed([]byte("interlock-example-signing-key-32"))
	pub := key.Public().(ed25519.PublicKey)

	if err := writeStory(ctx, s); err != nil {
		return err
	}
	cp, err := storage.Checkpoint(ctx, s, key, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	// Verifiers trust a set of keys: the old and the new one while a key
	// rotates.
	trusted, err := audit.NewKeys(pub)
	if err != nil {
		return err
	}
	rep, err := storage.Verify(ctx, s, cp, trusted)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "store: %d records in %d streams verify; checkpoint signed at position %d\n", rep.Records, rep.Streams, cp.Position)

	var recs []audit.Record
	for after := int64(0); ; {
		page, err := s.ReadAll(ctx, after, 1000)
		if err != nil {
			return err
		}
		recs = append(recs, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Position
	}

	show := func(what string, tampered []audit.Record) {
		v := audit.NewVerifier(cp)
		var found []error
		for i := range tampered {
			if err := v.Add(&tampered[i]); err != nil {
				found = append(found, err)
			}
		}
		for _, b := range v.Finish() {
			found = append(found, b)
		}
		fmt.Fprintf(w, "\n%s\n", what)
		if len(found) == 0 {
			fmt.Fprintln(w, "  verification finds nothing")
			return
		}
		var first *audit.BreakError
		errors.As(found[0], &first)
		fmt.Fprintf(w, "  first break: stream %s, version %d: %s\n", first.Stream, first.Version, first.Kind)
		fmt.Fprintf(w, "  want %s\n  got  %s\n", first.Want, first.Got)
	}

	// 1. Someone edits the weight on the record.
	edited := cloneRecords(recs)
	i := slices.IndexFunc(edited, func(r audit.Record) bool { return r.Type == "material.weighed" })
	edited[i].Payload = json.RawMessage(`{"net":"12.400","scale":"SC-01","unit":"kg"}`)
	show("edit: the weighed quantity changed from 12.450 kg to 12.400 kg", edited)

	// 2. Someone deletes the newest events of the batch.
	truncated := slices.DeleteFunc(cloneRecords(recs), func(r audit.Record) bool {
		return r.Stream == "batch-B42" && r.Version >= 3
	})
	show("truncation: the last events of batch-B42 deleted", truncated)

	// 3. Someone rewrites the lot's release and recomputes every hash after it.
	forged := cloneRecords(recs)
	var prev audit.Hash
	for i := range forged {
		r := &forged[i]
		if r.Stream != "lot-L7" {
			continue
		}
		if r.Type == "lot.released" {
			r.Actor = "qa-forger"
		}
		if r.Version > 1 {
			r.PrevHash = prev
		}
		if r.Hash, _, err = audit.ComputeHash(nil, r); err != nil {
			return err
		}
		prev = r.Hash
	}
	show("rewrite: lot-L7 released by someone else, hashes recomputed", forged)
	return nil
}

func cloneRecords(recs []audit.Record) []audit.Record {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Payload = slices.Clone(out[i].Payload)
	}
	return out
}

// writeStory records a lot's receipt and release and a batch that consumes
// it, each append asserting the versions its decision rested on.
func writeStory(ctx context.Context, s storage.Store) error {
	ev := func(typ, actor, payload string, links ...audit.Link) storage.Event {
		return storage.Event{Type: typ, Actor: actor, Payload: json.RawMessage(payload), Links: links}
	}
	appends := []storage.AppendRequest{
		{Streams: []storage.StreamAppend{{Stream: "lot-L7", ExpectedVersion: 0, Events: []storage.Event{
			ev("lot.received", "wh-1", `{"material":"API-100","quantity":"50.000","unit":"kg","supplier_lot":"S-99812"}`),
			ev("lot.released", "qa-3", `{"status":"released","expiry":"2027-06-30"}`),
		}}}},
		{Streams: []storage.StreamAppend{{Stream: "batch-B42", ExpectedVersion: 0, Events: []storage.Event{
			ev("batch.created", "planner-2", `{"product":"TAB-5MG","route":"R-17","route_version":3}`),
		}}}},
		{
			Streams: []storage.StreamAppend{
				{Stream: "batch-B42", ExpectedVersion: 1, Events: []storage.Event{
					ev("material.weighed", "op-7", `{"net":"12.450","scale":"SC-01","unit":"kg"}`),
					ev("material.consumed", "op-7", `{"lot":"lot-L7","quantity":"12.450","unit":"kg"}`,
						audit.Link{From: "lot-L7", To: "batch-B42", Kind: "consumed"}),
				}},
				{Stream: "lot-L7", ExpectedVersion: 2, Events: []storage.Event{
					ev("lot.consumed", "op-7", `{"batch":"batch-B42","quantity":"12.450","unit":"kg"}`),
				}},
			},
			// The gates read the scale's calibration and the operator's training.
			Reads: []storage.StreamVersion{{Stream: "scale-SC-01", Version: 0}, {Stream: "person-op-7", Version: 0}},
		},
		{Streams: []storage.StreamAppend{{Stream: "batch-B42", ExpectedVersion: 3, Events: []storage.Event{
			ev("step.completed", "op-7", `{"step":"dispense"}`),
		}}}},
	}
	for _, req := range appends {
		if _, err := s.Append(ctx, req); err != nil {
			return fmt.Errorf("write story: %w", err)
		}
	}
	return nil
}
