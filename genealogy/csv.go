package genealogy

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CSVHeader returns the names of the columns of CSV: the key data elements
// of each tracking event, in the spirit of an FSMA 204 sortable
// spreadsheet. Each call returns a new slice.
func CSVHeader() []string { return slices.Clone(csvHeader) }

var csvHeader = []string{
	"event_time", "tracking_event", "event_type", "link", "from", "from_kind", "from_material",
	"to", "to_kind", "to_material", "quantity", "unit", "supplier", "supplier_lot", "customer",
	"identity_source", "step", "critical", "depth", "stream", "version", "position", "record_hash",
}

// trackingEvent names the critical tracking event of a link kind.
func trackingEvent(k Kind) string {
	switch k {
	case Shipped:
		return "shipping"
	case Packed:
		return "packing"
	}
	return "transformation"
}

type csvRow struct {
	micros   int64
	position int64
	cells    []string
}

// CSV returns one row per link of t and one per receipt of a lot it
// reached, sorted by event time, then position, then the row's text, so
// that a spreadsheet sorted on the first column keeps that order. Times are
// RFC 3339 in UTC with microseconds.
func (x *Exporter) CSV(t *Trace) ([]byte, error) {
	g := x.g
	g.mu.RLock()
	defer g.mu.RUnlock()
	var rows []csvRow
	node := func(n uint32) (id, kind, mat string) {
		return g.nodes.name(n), string(g.kindOf(n)), g.strs.name(g.material[n])
	}
	party := func(n uint32) (supplier, lot, customer string) {
		if d, ok := g.details[n]; ok {
			return g.strs.name(d.supplier), g.strs.name(d.supplierLot), g.strs.name(d.customer)
		}
		return "", "", ""
	}
	row := func(pr Proof, tracking, link string, from, to uint32, hasFrom bool, q, unit string, depth int, partyNode uint32) {
		var fid, fk, fm string
		if hasFrom {
			fid, fk, fm = node(from)
		}
		tid, tk, tm := node(to)
		sup, slot, cust := party(partyNode)
		d := ""
		if depth > 0 {
			d = strconv.Itoa(depth)
		}
		rows = append(rows, csvRow{micros: pr.Time.UnixMicro(), position: pr.Position, cells: []string{
			pr.Time.Format("2006-01-02T15:04:05.000000Z"), tracking, pr.Type, link, fid, fk, fm, tid, tk, tm, q, unit,
			sup, slot, cust, string(pr.IdentitySource), pr.Step, strconv.FormatBool(pr.Critical), d,
			pr.Stream, strconv.FormatInt(pr.Version, 10), strconv.FormatInt(pr.Position, 10), pr.Hash.String(),
		}})
	}
	receipts := map[uint32]bool{}
	receipt := func(n uint32) {
		if p, ok := g.origin[n]; ok && !receipts[n] {
			receipts[n] = true
			q, unit := g.nodeQuantity(n)
			qs := ""
			if unit != "" {
				qs = q.String()
			}
			row(g.proof(p), "receiving", "received", 0, n, false, qs, unit, 0, n)
		}
	}
	for i, e := range t.ids {
		ed := t.edge(i)
		qs := ""
		if ed.Unit != "" {
			qs = ed.Quantity.String()
		}
		partyNode := g.eFrom[e]
		if ed.Kind == Shipped {
			partyNode = g.eTo[e]
		}
		row(ed.Proof, trackingEvent(ed.Kind), string(ed.Kind), g.eFrom[e], g.eTo[e], true, qs, ed.Unit, ed.Depth, partyNode)
		receipt(g.eFrom[e])
	}
	for _, s := range t.req.From {
		if n, ok := g.nodes.lookupString(s); ok {
			receipt(n)
		}
	}
	slices.SortFunc(rows, func(a, b csvRow) int {
		return cmp.Or(cmp.Compare(a.micros, b.micros), cmp.Compare(a.position, b.position),
			strings.Compare(strings.Join(a.cells, "\x00"), strings.Join(b.cells, "\x00")))
	})
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(csvHeader); err != nil {
		return nil, err
	}
	for _, r := range rows {
		for i, c := range r.cells {
			r.cells[i] = defuse(c)
		}
		if err := w.Write(r.cells); err != nil {
			return nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("genealogy: csv: %w", err)
	}
	return buf.Bytes(), nil
}

// defuse keeps a spreadsheet from running a cell as a formula: ids come
// from scans and manual entry, so a lot named "=HYPERLINK(...)" is possible.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}
