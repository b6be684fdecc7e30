package genealogy

import (
	"context"
	"slices"

	"github.com/interlock-mes/interlock/storage"
)

// DefaultDepth is the depth the convenience queries walk: deeper than any
// plant's bill of materials, shallow enough to bound a runaway cycle.
const DefaultDepth = 64

// Backward returns everything that went into lot, with the events (and the
// steps, on consumption edges) that prove each link.
func (g *Graph) Backward(ctx context.Context, lot string) (*Trace, error) {
	return g.Trace(ctx, TraceRequest{From: []string{lot}, Direction: storage.Backward, MaxDepth: DefaultDepth})
}

// Forward returns every lot, batch, container and shipment lot reached.
func (g *Graph) Forward(ctx context.Context, lot string) (*Trace, error) {
	return g.Trace(ctx, TraceRequest{From: []string{lot}, Direction: storage.Forward, MaxDepth: DefaultDepth})
}

// ShippedItem is a lot or container that left in a shipment.
type ShippedItem struct {
	Item     string
	Shipment string
	Customer string
	Proof    Proof
}

// RecallScope is where a suspect lot went, split the way a recall acts on it.
type RecallScope struct {
	Lot string
	// Shipped: what left the plant, with the customer that received it.
	Shipped []ShippedItem
	// Customers are the customers of Shipped, sorted, each once.
	Customers []string
	// InStock are lots and containers the trace reached that went nowhere
	// further: still in the plant.
	InStock []string
	// InProgress are batches the trace reached that have produced nothing
	// yet: work in progress holding the suspect material.
	InProgress []string
	Trace      *Trace
}

// Recall returns the recall scope of lot: a forward trace split into what
// shipped (with customers), what is in stock and what is in work in progress.
// A node counts as in stock or in progress when no flow link leaves it at
// all, not only within the trace's depth.
func (g *Graph) Recall(ctx context.Context, lot string) (*RecallScope, error) {
	t, err := g.Forward(ctx, lot)
	if err != nil {
		return nil, err
	}
	rs := &RecallScope{Lot: lot, Trace: t}
	g.mu.RLock()
	defer g.mu.RUnlock()
	customers := map[string]bool{}
	for _, name := range t.nodesLocked() {
		n, _ := g.nodes.lookupString(name)
		if g.outDegree(n) > 0 {
			continue
		}
		switch g.kindOf(n) {
		case NodeBatch:
			rs.InProgress = append(rs.InProgress, name)
		case NodeShipment:
		default:
			rs.InStock = append(rs.InStock, name)
		}
	}
	for i, e := range t.ids {
		if g.eKind[e] != uint8(kindIndex(Shipped)) {
			continue
		}
		ed := t.edge(i)
		c := ""
		if d, ok := g.details[g.eTo[e]]; ok {
			c = g.strs.name(d.customer)
		}
		rs.Shipped = append(rs.Shipped, ShippedItem{Item: ed.From, Shipment: ed.To, Customer: c, Proof: ed.Proof})
		if c != "" && !customers[c] {
			customers[c] = true
			rs.Customers = append(rs.Customers, c)
		}
	}
	slices.Sort(rs.Customers)
	slices.Sort(rs.InStock)
	slices.Sort(rs.InProgress)
	return rs, nil
}

func (t *Trace) nodesLocked() []string {
	seen := map[uint32]bool{}
	var out []string
	for _, e := range t.ids {
		far := t.g.eTo[e]
		if t.req.Direction == storage.Backward {
			far = t.g.eFrom[e]
		}
		if !seen[far] {
			seen[far] = true
			out = append(out, t.g.nodes.name(far))
		}
	}
	return out
}

func (g *Graph) outDegree(n uint32) int {
	d := len(g.tailOut[n])
	if int(n)+1 < len(g.outOff) {
		d += int(g.outOff[n+1] - g.outOff[n])
	}
	return d
}

// WhereUsed returns the lots of material and a forward trace from all of
// them: every batch, lot and shipment the material reached. A material no
// event declared gives no lots and a nil trace.
func (g *Graph) WhereUsed(ctx context.Context, material string) ([]string, *Trace, error) {
	g.mu.RLock()
	m, ok := g.strs.lookupString(material)
	var lots []string
	if ok && material != "" {
		for _, n := range g.byMat[m] {
			lots = append(lots, g.nodes.name(n))
		}
	}
	g.mu.RUnlock()
	if len(lots) == 0 {
		return nil, nil, nil
	}
	t, err := g.Trace(ctx, TraceRequest{From: lots, Direction: storage.Forward, MaxDepth: DefaultDepth})
	if err != nil {
		return nil, nil, err
	}
	return lots, t, nil
}

// Finished returns the lots among t's nodes that a batch produced (or that
// were split, merged or transferred from such a lot) and that no batch
// consumed and no split, merge or transfer took further (packing and
// shipping may): the finished lots a forward trace reached.
func (g *Graph) Finished(t *Trace) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []string
	for _, name := range t.nodesLocked() {
		n, _ := g.nodes.lookupString(name)
		if g.kindOf(n) != NodeLot {
			continue
		}
		made := g.madeLocked(n, map[uint32]bool{})
		further := false
		g.eachOut(n, func(e uint32) {
			k := flowKinds[g.eKind[e]]
			if k != Packed && k != Shipped {
				further = true
			}
		})
		if made && !further {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// madeLocked reports whether a batch produced lot n, or a lot n was split,
// merged or transferred from.
func (g *Graph) madeLocked(n uint32, seen map[uint32]bool) bool {
	if seen[n] {
		return false
	}
	seen[n] = true
	made := false
	g.eachIn(n, func(e uint32) {
		if made {
			return
		}
		switch flowKinds[g.eKind[e]] {
		case Produced:
			made = true
		case Split, Merged, Transferred:
			made = g.madeLocked(g.eFrom[e], seen)
		}
	})
	return made
}

func (g *Graph) eachIn(n uint32, fn func(e uint32)) {
	if int(n)+1 < len(g.inOff) {
		for _, a := range g.inAdj[g.inOff[n]:g.inOff[n+1]] {
			fn(a.edge())
		}
	}
	for _, a := range g.tailIn[n] {
		fn(a.edge())
	}
}

func (g *Graph) eachOut(n uint32, fn func(e uint32)) {
	if int(n)+1 < len(g.outOff) {
		for _, a := range g.outAdj[g.outOff[n]:g.outOff[n+1]] {
			fn(a.edge())
		}
	}
	for _, a := range g.tailOut[n] {
		fn(a.edge())
	}
}
