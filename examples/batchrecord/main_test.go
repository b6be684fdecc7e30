package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/examples/internal/exstore"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

var update = flag.Bool("update", false, "rewrite testdata/output.golden")

// TestOutput runs the example on the memory store and compares what it
// prints with the golden file: each wrong action denied with its code, the
// signature, the genealogy and the verification.
func TestOutput(t *testing.T) {
	clock := exstore.FixedClock()
	var out bytes.Buffer
	if err := run(context.Background(), &out, memory.New(&memory.Config{Clock: clock}), clock, ""); err != nil {
		t.Fatalf("run: %v", err)
	}
	golden := filepath.Join("testdata", "output.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestOutputOnPostgres runs the example on the Postgres store: it must print
// the same story.
func TestOutputOnPostgres(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	clock := exstore.FixedClock()
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, s, clock, ""); err != nil {
		t.Fatalf("run: %v", err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "output.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("output (-memory +postgres):\n%s", diff)
	}
}
