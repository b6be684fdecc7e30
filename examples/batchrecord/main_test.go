package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/examples/internal/exstore"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/internal/epcisschema"
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

// TestReferencePlantEPCIS: the reference plant's genealogy, exported as
// EPCIS 2.0, is a document the official schema accepts, and it names the
// finished lot by its GS1 Digital Link and carries the received lot's
// quantity.
func TestReferencePlantEPCIS(t *testing.T) {
	ctx := context.Background()
	clock := exstore.FixedClock()
	store := memory.New(&memory.Config{Clock: clock})
	if err := run(ctx, io.Discard, store, clock, ""); err != nil {
		t.Fatalf("run: %v", err)
	}
	g, err := genealogy.Build(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := g.Backward(ctx, event.LotStream("FG-1"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := genealogy.NewExporter(g, &genealogy.ExportConfig{Clock: clock, IDBase: "https://id.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := x.EPCIS(tr)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := epcisschema.New(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("the reference plant's EPCIS fails the official schema: %v\n%s", err, doc)
	}
	if !bytes.Contains(doc, []byte(`"https://id.gs1.org/01/09506000134352/10/FG-1"`)) {
		t.Errorf("the document does not name FG-1 by its Digital Link:\n%s", doc)
	}
	back, err := x.ReadEPCIS(doc)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(back.Links) != tr.Len() {
		t.Errorf("read back %d links; want the trace's %d", len(back.Links), tr.Len())
	}
	var receipts []string
	for _, r := range back.Receipts {
		receipts = append(receipts, r.Lot+" "+r.Quantity.String()+" "+r.Unit)
	}
	if !slices.Contains(receipts, "lot/L7 50 kg") {
		t.Errorf("receipts %v; want lot L7 received with 50 kg", receipts)
	}
}
