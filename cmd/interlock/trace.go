package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
)

// traceFlags are the flags trace and export share.
type traceFlags struct {
	db        *dbFlags
	lot       string
	direction string
	depth     int
}

func (cmd *command) traceFlags() *traceFlags {
	t := &traceFlags{db: cmd.readFlags()}
	cmd.fs.StringVar(&t.lot, "lot", "", "the lot, container, batch or shipment to trace from, as the record names it (required)")
	cmd.fs.StringVar(&t.direction, "direction", "", "backward (what went into it) or forward (where it went) (required)")
	cmd.fs.IntVar(&t.depth, "depth", genealogy.DefaultDepth, fmt.Sprintf("how many links deep to follow, 1 to %d", storage.MaxTraverseDepth))
	return t
}

// check validates the flags; it returns 0 or the usage error's status.
func (t *traceFlags) check(cmd *command) (storage.Direction, int) {
	if code := t.db.check(cmd); code != 0 {
		return 0, code
	}
	if code := cmd.required("lot"); code != 0 {
		return 0, code
	}
	var dir storage.Direction
	switch t.direction {
	case "backward":
		dir = storage.Backward
	case "forward":
		dir = storage.Forward
	case "":
		return 0, cmd.usageError("-direction is required: backward or forward")
	default:
		return 0, cmd.usageError("-direction must be backward or forward, not %q", t.direction)
	}
	if t.depth < 1 || t.depth > storage.MaxTraverseDepth {
		return 0, cmd.usageError("-depth must be between 1 and %d, not %d", storage.MaxTraverseDepth, t.depth)
	}
	return dir, 0
}

// trace builds the lot graph from the record and walks it.
func (t *traceFlags) trace(ctx context.Context, dir storage.Direction) (*genealogy.Graph, *genealogy.Trace, error) {
	store, pool, err := t.db.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer pool.Close()
	g, err := genealogy.Build(ctx, store, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read the lot graph: %w", err)
	}
	if _, ok := g.NodeInfo(t.lot); !ok {
		return nil, nil, fmt.Errorf("no record names %q (give the id as the record does, such as lot/NUMBER or batch/ID)", t.lot)
	}
	tr, err := g.Trace(ctx, genealogy.TraceRequest{From: []string{t.lot}, Direction: dir, MaxDepth: t.depth})
	if err != nil {
		return nil, nil, err
	}
	return g, tr, nil
}

func (c *cli) trace(ctx context.Context, args []string) int {
	cmd := c.command("trace", "trace [-database-url URL] -schema NAME -lot ID -direction backward|forward [-depth N] [-format text|json]",
		`Trace walks the lot graph from a lot: backward to everything that went into
it, or forward to every batch, lot, container and shipment it reached. Each
link is printed with its depth, kind, quantity and the record that proves it
(stream, version, position, time), in the order of the walk; holds,
deviations and rework concerning a node follow.`)
	tf := cmd.traceFlags()
	format := cmd.fs.String("format", "text", "text (a table for people) or json (one document)")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	dir, code := tf.check(cmd)
	if code != 0 {
		return code
	}
	if *format != "text" && *format != "json" {
		return cmd.usageError("-format must be text or json, not %q", *format)
	}
	g, tr, err := tf.trace(ctx, dir)
	if err != nil {
		return cmd.fail(err)
	}
	out := traceDoc(tf, g, tr)
	if *format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	} else {
		err = writeTraceText(c.stdout, out)
	}
	if err != nil {
		return cmd.fail(err)
	}
	return exitOK
}

// traceJSON is a trace as -format json prints it.
type traceJSON struct {
	Node        string           `json:"node"`
	Direction   string           `json:"direction"`
	MaxDepth    int              `json:"max_depth"`
	Edges       []edgeJSON       `json:"edges"`
	Annotations []annotationJSON `json:"annotations"`
}

type edgeJSON struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	Kind     string    `json:"kind"`
	Depth    int       `json:"depth"`
	Quantity string    `json:"quantity,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Proof    proofJSON `json:"proof"`
}

type proofJSON struct {
	Stream         string     `json:"stream"`
	Version        int64      `json:"version"`
	Position       int64      `json:"position"`
	Hash           audit.Hash `json:"hash"`
	Type           string     `json:"type"`
	Time           time.Time  `json:"time"`
	IdentitySource string     `json:"identity_source,omitempty"`
	Step           string     `json:"step,omitempty"`
	Critical       bool       `json:"critical,omitempty"`
}

type annotationJSON struct {
	Node      string    `json:"node"`
	Exception string    `json:"exception"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason,omitempty"`
	Proof     proofJSON `json:"proof"`
}

func proofOf(p genealogy.Proof) proofJSON {
	return proofJSON{Stream: p.Stream, Version: p.Version, Position: p.Position, Hash: p.Hash, Type: p.Type, Time: p.Time.UTC(),
		IdentitySource: string(p.IdentitySource), Step: p.Step, Critical: p.Critical}
}

func traceDoc(tf *traceFlags, g *genealogy.Graph, tr *genealogy.Trace) *traceJSON {
	out := &traceJSON{Node: tf.lot, Direction: tf.direction, MaxDepth: tf.depth, Edges: make([]edgeJSON, 0, tr.Len()), Annotations: []annotationJSON{}}
	for _, e := range tr.Edges() {
		ej := edgeJSON{From: e.From, To: e.To, Kind: string(e.Kind), Depth: e.Depth, Unit: e.Unit, Proof: proofOf(e.Proof)}
		if e.Unit != "" {
			ej.Quantity = e.Quantity.String()
		}
		out.Edges = append(out.Edges, ej)
	}
	for _, a := range g.Annotations(tr.Nodes()...) {
		out.Annotations = append(out.Annotations, annotationJSON{Node: a.Lot, Exception: a.Exception, Type: a.Type, Reason: a.Reason, Proof: proofOf(a.Proof)})
	}
	return out
}

func writeTraceText(w io.Writer, t *traceJSON) error {
	fmt.Fprintf(w, "%s trace of %s, up to %d links deep: %d links\n", t.Direction, t.Node, t.MaxDepth, len(t.Edges))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPTH\tFROM\tTO\tKIND\tQUANTITY\tSTREAM\tVERSION\tPOSITION\tTIME")
	for _, e := range t.Edges {
		q := "-"
		if e.Unit != "" {
			q = e.Quantity + " " + e.Unit
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", e.Depth, printable(e.From), printable(e.To), printable(e.Kind), printable(q),
			printable(e.Proof.Stream), e.Proof.Version, e.Proof.Position, e.Proof.Time.Format(time.RFC3339Nano))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range t.Annotations {
		fmt.Fprintf(w, "%s: %s %s (%s) at %s version %d\n", printable(a.Node), printable(a.Type), printable(a.Exception),
			printable(a.Reason), printable(a.Proof.Stream), a.Proof.Version)
	}
	return nil
}

func (c *cli) export(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, "interlock export: name a format: interlock export epcis|csv|fsma204 [flags]")
		return exitError
	}
	switch args[0] {
	case "epcis":
		return c.exportEPCIS(ctx, args[1:])
	case "csv":
		return c.exportCSV(ctx, args[1:])
	case "fsma204":
		return c.exportFSMA204(ctx, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprintln(c.stdout, "usage: interlock export epcis|csv|fsma204 [flags]\n\nRun 'interlock export FORMAT -h' for its flags.")
		return exitOK
	}
	fmt.Fprintf(c.stderr, "interlock export: unknown format %q: the format is epcis, csv or fsma204\n", args[0])
	return exitError
}

// writeExport writes doc to standard output, or to outPath when it is
// set, saying there how many links it holds.
func (c *cli) writeExport(cmd *command, outPath string, doc []byte, links int) int {
	if outPath == "" {
		if _, err := c.stdout.Write(doc); err != nil {
			return cmd.fail(err)
		}
		return exitOK
	}
	if err := writeFileAtomic(outPath, doc); err != nil {
		return cmd.fail(err)
	}
	fmt.Fprintf(c.stderr, "interlock %s: %d links written to %s\n", cmd.name, links, outPath)
	return exitOK
}

func (c *cli) exportCSV(ctx context.Context, args []string) int {
	cmd := c.command("export csv", "export csv [-database-url URL] -schema NAME -lot ID -direction backward|forward [-depth N] [-o FILE]",
		`Export csv writes a lot's trace as CSV (RFC 4180): a header, then one row
per link in the order of the walk, with its depth, kind, quantity and the
record that proves it. Cells a spreadsheet would run as formulas are quoted.`)
	tf := cmd.traceFlags()
	outPath := cmd.fs.String("o", "", "write the CSV to this file instead of standard output")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	dir, code := tf.check(cmd)
	if code != 0 {
		return code
	}
	g, tr, err := tf.trace(ctx, dir)
	if err != nil {
		return cmd.fail(err)
	}
	x, err := genealogy.NewExporter(g, nil)
	if err != nil {
		return cmd.fail(err)
	}
	doc, err := x.CSV(tr)
	if err != nil {
		return cmd.fail(err)
	}
	return c.writeExport(cmd, *outPath, doc, tr.Len())
}

// ctes are the critical tracking events export fsma204 writes.
var ctes = []genealogy.CTE{genealogy.CTEReceiving, genealogy.CTETransformation, genealogy.CTEShipping, genealogy.CTEFirstLandBasedReceiving}

func (c *cli) exportFSMA204(ctx context.Context, args []string) int {
	cmd := c.command("export fsma204", "export fsma204 [-database-url URL] -schema NAME -lot ID -direction backward|forward [-depth N] -cte EVENT [-o FILE]",
		`Export fsma204 writes the key data elements of one critical tracking event
of the FDA's food traceability rule (FSMA 204, 21 CFR part 1 subpart S) for
the events of a lot's trace, as the electronic sortable spreadsheet the FDA
may ask for: a CSV sorted by date, then by traceability lot code, with dates
and times in UTC. Run it once per event: receiving, transformation, shipping
and first_land_based_receiving.`)
	tf := cmd.traceFlags()
	cte := cmd.fs.String("cte", "", "the critical tracking event: receiving, transformation, shipping or first_land_based_receiving (required)")
	outPath := cmd.fs.String("o", "", "write the CSV to this file instead of standard output")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	dir, code := tf.check(cmd)
	if code != 0 {
		return code
	}
	if *cte == "" {
		return cmd.usageError("-cte is required: receiving, transformation, shipping or first_land_based_receiving")
	}
	if !slices.Contains(ctes, genealogy.CTE(*cte)) {
		return cmd.usageError("-cte must be receiving, transformation, shipping or first_land_based_receiving, not %q", *cte)
	}
	g, tr, err := tf.trace(ctx, dir)
	if err != nil {
		return cmd.fail(err)
	}
	x, err := genealogy.NewExporter(g, nil)
	if err != nil {
		return cmd.fail(err)
	}
	doc, err := x.FSMA204(tr, genealogy.CTE(*cte))
	if err != nil {
		return cmd.fail(err)
	}
	return c.writeExport(cmd, *outPath, doc, tr.Len())
}

func (c *cli) exportEPCIS(ctx context.Context, args []string) int {
	cmd := c.command("export epcis", "export epcis [-database-url URL] -schema NAME -lot ID -direction backward|forward [-depth N] [-id-base URI] [-o FILE]",
		`Export epcis writes the GS1 EPCIS 2.0 JSON-LD document of a lot's trace: the
events that prove its links and the receipts of the lots it reached, each
with its EPCIS event hash as eventID. Things without a GS1 key are named
under -id-base, which should be a domain the plant owns.`)
	tf := cmd.traceFlags()
	idBase := cmd.fs.String("id-base", "", "absolute URI ending in / under which things without a GS1 key are named (default "+genealogy.DefaultIDBase+", which never resolves)")
	outPath := cmd.fs.String("o", "", "write the document to this file instead of standard output")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	dir, code := tf.check(cmd)
	if code != 0 {
		return code
	}
	if *idBase == "" {
		fmt.Fprintf(c.stderr, "interlock export epcis: -id-base not set: naming things under %s, which never resolves\n", genealogy.DefaultIDBase)
	}
	// Checked before the graph is read, with the exporter's rule, so that a
	// bad -id-base is a usage error.
	if u, err := url.Parse(*idBase); *idBase != "" && (err != nil || !u.IsAbs() || !strings.HasSuffix(*idBase, "/")) {
		return cmd.usageError("-id-base must be an absolute URI ending in /, not %q", *idBase)
	}
	g, tr, err := tf.trace(ctx, dir)
	if err != nil {
		return cmd.fail(err)
	}
	x, err := genealogy.NewExporter(g, &genealogy.ExportConfig{IDBase: *idBase})
	if err != nil {
		return cmd.usageError("%v", err)
	}
	doc, err := x.EPCIS(tr)
	if err != nil {
		return cmd.fail(err)
	}
	doc = append(doc, '\n')
	return c.writeExport(cmd, *outPath, doc, tr.Len())
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, so that a failed export never leaves half a document.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// printable returns s as it is when every character of it prints, and
// quoted otherwise: ids and reasons come from the record, which whoever
// can append writes, and must not reach a terminal as control sequences.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
