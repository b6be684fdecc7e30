package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/examples/internal/exstore"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

var update = flag.Bool("update", false, "rewrite testdata/output.golden")

// TestOutput runs the example on the memory store and compares what it
// prints with the golden file: every tampering must be found, at the right
// stream and version.
func TestOutput(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, memoryStore()); err != nil {
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

// TestOutputOnPostgres runs the example on the Postgres store: everything
// but the global positions, which Postgres assigns its own way, must read as
// on the memory store.
func TestOutputOnPostgres(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: exstore.FixedClock(), ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, s); err != nil {
		t.Fatalf("run: %v", err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "output.golden"))
	if err != nil {
		t.Fatal(err)
	}
	_, wantRest, _ := strings.Cut(string(want), "\n")
	first, gotRest, _ := strings.Cut(out.String(), "\n")
	if !strings.HasPrefix(first, "store: 7 records in 2 streams verify; checkpoint signed at position ") {
		t.Errorf("first line %q", first)
	}
	if diff := cmp.Diff(wantRest, gotRest); diff != "" {
		t.Errorf("output after the first line (-memory +postgres):\n%s", diff)
	}
}
