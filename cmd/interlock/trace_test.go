package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/internal/epcisschema"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// TestTrace traces the plant's finished lot backward to the lot it was
// made from, and the raw lot forward to the finished lot, as JSON and as
// text, with the batch's record as the proof of each link.
func TestTrace(t *testing.T) {
	t.Parallel()
	store, _, schema := storeOn(t)
	plant(t, mestest.NewOn(t, store, mestest.NewClock(mestest.Now), nil))
	recs, err := store.Load(t.Context(), "batch/B-1", 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("load batch/B-1: %v (%d records)", err, len(recs))
	}
	made := recs[len(recs)-1]
	db := []string{"-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait}

	type edge struct {
		From, To, Kind string
		Depth          int
		Quantity, Unit string
		Stream         string
		Version        int64
	}
	traceJSONOf := func(args ...string) []edge {
		t.Helper()
		r := interlock(t, append(append([]string{"trace"}, db...), append(args, "-format", "json")...)...)
		r.want(t, exitOK)
		var doc traceJSON
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("trace -format json: %v\n%s", err, r.stdout)
		}
		var out []edge
		for _, e := range doc.Edges {
			out = append(out, edge{e.From, e.To, e.Kind, e.Depth, e.Quantity, e.Unit, e.Proof.Stream, e.Proof.Version})
		}
		return out
	}
	back := traceJSONOf("-lot", "lot/FIN-1", "-direction", "backward")
	want := []edge{
		{"batch/B-1", "lot/FIN-1", "produced", 1, "100", "ea", "batch/B-1", made.Version},
		{"lot/L7", "batch/B-1", "consumed", 2, "20", "kg", "batch/B-1", made.Version},
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("backward trace of FIN-1 (-want +got):\n%s", diff)
	}
	fwd := traceJSONOf("-lot", "lot/L7", "-direction", "forward")
	want = []edge{
		{"lot/L7", "batch/B-1", "consumed", 1, "20", "kg", "batch/B-1", made.Version},
		{"batch/B-1", "lot/FIN-1", "produced", 2, "100", "ea", "batch/B-1", made.Version},
	}
	if diff := cmp.Diff(want, fwd); diff != "" {
		t.Errorf("forward trace of L7 (-want +got):\n%s", diff)
	}
	if got := traceJSONOf("-lot", "lot/FIN-1", "-direction", "backward", "-depth", "1"); len(got) != 1 || got[0].To != "lot/FIN-1" {
		t.Errorf("a trace one link deep gave %+v, want only the link into FIN-1", got)
	}

	r := interlock(t, append(append([]string{"trace"}, db...), "-lot", "lot/FIN-1", "-direction", "backward")...)
	r.want(t, exitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "backward trace of lot/FIN-1") {
		t.Fatalf("text trace: want a title, a header and two links, got:\n%s", r.stdout)
	}
	for i, f := range [][]string{{"1", "batch/B-1", "lot/FIN-1", "produced", "100", "ea", "batch/B-1"}, {"2", "lot/L7", "batch/B-1", "consumed", "20", "kg", "batch/B-1"}} {
		if got := strings.Fields(lines[2+i]); len(got) < len(f) || !cmp.Equal(got[:len(f)], f) {
			t.Errorf("text trace line %d = %q, want it to start %q", 2+i, lines[2+i], f)
		}
	}

	r = interlock(t, append(append([]string{"trace"}, db...), "-lot", "NO-SUCH-LOT", "-direction", "backward")...)
	r.want(t, exitError)
	if !strings.Contains(r.stderr, `no record names "NO-SUCH-LOT"`) {
		t.Errorf("an unknown lot is not named: %s", r.stderr)
	}
}

// TestExportEPCIS exports the finished lot's backward trace and checks it
// against GS1's official EPCIS 2.0 schema, on standard output and in a
// file.
func TestExportEPCIS(t *testing.T) {
	t.Parallel()
	sch, err := epcisschema.New(true)
	if err != nil {
		t.Fatal(err)
	}
	store, _, schema := storeOn(t)
	plant(t, mestest.NewOn(t, store, mestest.NewClock(mestest.Now), nil))
	args := []string{"export", "epcis", "-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait, "-lot", "lot/FIN-1", "-direction", "backward", "-id-base", "https://id.example.com/"}

	r := interlock(t, args...)
	r.want(t, exitOK)
	if err := sch.Validate([]byte(r.stdout)); err != nil {
		t.Fatalf("the export fails the EPCIS 2.0 schema: %v\n%s", err, r.stdout)
	}
	events := epcisEvents(t, []byte(r.stdout))
	// The receipt of L7, then the batch that made FIN-1 from it.
	if len(events) != 2 || events[0].Type != "ObjectEvent" || events[1].Type != "TransformationEvent" {
		t.Fatalf("want the receipt and the batch, got %+v", events)
	}
	e := events[1]
	if !strings.HasPrefix(e.EventID, "ni:///sha-256;") || !strings.HasPrefix(e.TransformationID, "https://id.example.com/batch/") {
		t.Errorf("event id %q, transformation %q: want an event hash and the batch under -id-base", e.EventID, e.TransformationID)
	}
	if diff := cmp.Diff([]epcisQuantity{{"https://id.example.com/lot/L7"}}, e.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]epcisQuantity{{"https://id.example.com/lot/FIN-1"}}, e.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	out := filepath.Join(t.TempDir(), "trace.jsonld")
	r = interlock(t, append(args, "-o", out)...)
	r.want(t, exitOK)
	if r.stdout != "" {
		t.Errorf("with -o, standard output holds %q", r.stdout)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("the exported file fails the EPCIS 2.0 schema: %v", err)
	}
	if diff := cmp.Diff(events, epcisEvents(t, doc)); diff != "" {
		t.Errorf("the file's events differ from standard output's (-stdout +file):\n%s", diff)
	}

	// Without -id-base the command says which base it used.
	r = interlock(t, args[:len(args)-2]...)
	r.want(t, exitOK)
	if !strings.Contains(r.stderr, "-id-base not set") {
		t.Errorf("the default id base is used silently; stderr: %q", r.stderr)
	}
}

type epcisQuantity struct {
	Class string `json:"epcClass"`
}

type epcisEvent struct {
	Type             string          `json:"type"`
	EventID          string          `json:"eventID"`
	TransformationID string          `json:"transformationID"`
	Inputs           []epcisQuantity `json:"inputQuantityList"`
	Outputs          []epcisQuantity `json:"outputQuantityList"`
}

func epcisEvents(t *testing.T, doc []byte) []epcisEvent {
	t.Helper()
	var d struct {
		Body struct {
			Events []epcisEvent `json:"eventList"`
		} `json:"epcisBody"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("EPCIS document: %v", err)
	}
	return d.Body.Events
}

// TestTraceTextQuotesUnprintable: the store refuses control characters
// in ids, but a hold's reason is free text from a payload; the text trace
// prints anything that would reach the terminal as a control sequence
// quoted, never raw.
func TestTraceTextQuotesUnprintable(t *testing.T) {
	t.Parallel()
	reason := "clear screen\x1b[2J and reverse\u202e"
	var out strings.Builder
	err := writeTraceText(&out, &traceJSON{Node: "lot/A", Direction: "forward", MaxDepth: 1, Edges: []edgeJSON{},
		Annotations: []annotationJSON{{Node: "lot/A", Exception: "hold/H-1", Type: "lot.held", Reason: reason, Proof: proofJSON{Stream: "lot/A", Version: 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\x1b\u202e") {
		t.Errorf("the trace prints a raw control character:\n%q", out.String())
	}
	if !strings.Contains(out.String(), strconv.Quote(reason)) {
		t.Errorf("the trace does not print the reason quoted (%s):\n%s", strconv.Quote(reason), out.String())
	}
}

// TestExportCSV exports the finished lot's backward trace as CSV and as
// FSMA 204 transformation and receiving spreadsheets, on standard output
// and in a file: each is byte for byte what the genealogy package's
// exporter writes for the same trace, and holds the batch and its lots.
func TestExportCSV(t *testing.T) {
	t.Parallel()
	store, _, schema := storeOn(t)
	plant(t, mestest.NewOn(t, store, mestest.NewClock(mestest.Now), nil))
	ctx := context.Background()
	g, err := genealogy.Build(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := g.Trace(ctx, genealogy.TraceRequest{From: []string{"lot/FIN-1"}, Direction: storage.Backward, MaxDepth: genealogy.DefaultDepth})
	if err != nil {
		t.Fatal(err)
	}
	x, err := genealogy.NewExporter(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCSV, err := x.CSV(tr)
	if err != nil {
		t.Fatal(err)
	}
	wantTransformation, err := x.FSMA204(tr, genealogy.CTETransformation)
	if err != nil {
		t.Fatal(err)
	}
	wantReceiving, err := x.FSMA204(tr, genealogy.CTEReceiving)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait, "-lot", "lot/FIN-1", "-direction", "backward"}
	for _, c := range []struct {
		name string
		args []string
		want []byte
		has  []string
	}{
		{"csv", append([]string{"export", "csv"}, base...), wantCSV, []string{"lot/L7", "batch/B-1", "lot/FIN-1"}},
		{"fsma204 transformation", append(append([]string{"export", "fsma204"}, base...), "-cte", "transformation"), wantTransformation, []string{"L7", "FIN-1"}},
		{"fsma204 receiving", append(append([]string{"export", "fsma204"}, base...), "-cte", "receiving"), wantReceiving, []string{"L7"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := interlock(t, c.args...)
			r.want(t, exitOK)
			if diff := cmp.Diff(string(c.want), r.stdout); diff != "" {
				t.Errorf("(-exporter +command):\n%s", diff)
			}
			rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
			if err != nil || len(rows) < 2 {
				t.Fatalf("not a CSV with a header and rows: %v\n%s", err, r.stdout)
			}
			for _, h := range c.has {
				if !strings.Contains(r.stdout, h) {
					t.Errorf("no %q in\n%s", h, r.stdout)
				}
			}
			out := filepath.Join(t.TempDir(), "out.csv")
			r = interlock(t, append(c.args, "-o", out)...)
			r.want(t, exitOK)
			if r.stdout != "" || !strings.Contains(r.stderr, "links written to") {
				t.Errorf("with -o: stdout %q, stderr %q", r.stdout, r.stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(c.want), string(b)); diff != "" {
				t.Errorf("file (-exporter +file):\n%s", diff)
			}
		})
	}
}
