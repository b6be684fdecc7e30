package genealogy

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// DOT returns t as a Graphviz digraph for a person to look at: lots as
// boxes, containers as 3-D boxes, batches as ellipses, shipments as houses
// (with the customer), the start nodes bold, nodes with a hold, deviation or
// rework red with the reason, and each link labelled with its kind,
// quantity and proving record. Nodes are sorted by id; links come in the
// trace's order.
func (x *Exporter) DOT(t *Trace) []byte {
	g := x.g
	g.mu.RLock()
	defer g.mu.RUnlock()
	var b bytes.Buffer
	b.WriteString("digraph trace {\n\trankdir=LR;\n\tnode [fontname=\"Helvetica\", fontsize=10];\n\tedge [fontname=\"Helvetica\", fontsize=9];\n")
	nodes := map[uint32]bool{}
	for _, e := range t.ids {
		nodes[g.eFrom[e]], nodes[g.eTo[e]] = true, true
	}
	start := map[uint32]bool{}
	for _, s := range t.req.From {
		if n, ok := g.nodes.lookupString(s); ok {
			nodes[n], start[n] = true, true
		}
	}
	ids := make([]uint32, 0, len(nodes))
	for n := range nodes {
		ids = append(ids, n)
	}
	slices.SortFunc(ids, func(a, b uint32) int { return strings.Compare(g.nodes.name(a), g.nodes.name(b)) })
	for _, n := range ids {
		info := g.info(n)
		label := []string{info.ID}
		if info.Material != "" {
			label = append(label, info.Material)
		}
		if info.SupplierLot != "" {
			label = append(label, "supplier "+info.Supplier+" lot "+info.SupplierLot)
		}
		if info.Customer != "" {
			label = append(label, "to "+info.Customer)
		}
		attrs := []string{"shape=" + shape(info.Kind)}
		for _, a := range g.notes[n] {
			label = append(label, g.strs.name(g.proofs[a.proof].typ)+": "+a.reason)
			if !slices.Contains(attrs, "color=red") {
				attrs = append(attrs, "color=red")
			}
		}
		if start[n] {
			attrs = append(attrs, "style=bold")
		}
		fmt.Fprintf(&b, "\t%s [label=%s, %s];\n", dotQuote(info.ID), dotQuote(strings.Join(label, "\n")), strings.Join(attrs, ", "))
	}
	for i := range t.ids {
		e := t.edge(i)
		label := string(e.Kind)
		if e.Unit != "" {
			label += " " + e.Quantity.String() + " " + e.Unit
		}
		label += fmt.Sprintf("\n%s@%d", e.Proof.Stream, e.Proof.Version)
		fmt.Fprintf(&b, "\t%s -> %s [label=%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(label))
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func shape(k NodeKind) string {
	switch k {
	case NodeBatch:
		return "ellipse"
	case NodeContainer:
		return "box3d"
	case NodeShipment:
		return "house"
	}
	return "box"
}

// dotQuote writes s as a DOT string: quotes and backslashes escaped, line
// breaks as DOT's \n, other control characters dropped.
func dotQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
