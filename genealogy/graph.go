package genealogy

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/storage"
)

// Config configures a Graph. The zero value is valid.
type Config struct {
	// PageSize is how many records Build and Update read per ReadAll call
	// when the store cannot Scan. It must not be negative. Default: 10000.
	PageSize int
}

// DefaultPageSize is the PageSize of a Config that leaves it zero.
const DefaultPageSize = 10000

// proof is the compact form of a proving event: one per record with links.
type proof struct {
	stream   uint32 // in Graph.nodes: streams are mostly named as things are
	version  int64
	position int64
	hash     audit.Hash
	micros   int64  // record time, Unix microseconds
	typ      uint32 // in Graph.strs
	step     uint32 // in Graph.strs
	source   uint8  // index in sources
	critical bool
}

var sources = []Source{"", SourceScan, SourceDevice, SourceManual}

// details are the rarer facts about a node, kept apart so that the million
// plain lots of a plant cost nothing here; the ids are in Graph.strs.
type details struct {
	gtin, supplier, customer, supplierLot, description uint32
	lotSource, destination                             *event.Place
	landing                                            *event.Landing
}

// proofExtra is where an event happened and the documents it belongs to,
// for the few events that say.
type proofExtra struct {
	location   *event.Location
	references []event.Reference
}

// annotation is a hold, deviation or rework concerning a node.
type annotation struct {
	exception uint32 // node id of the exception
	proof     uint32
	reason    string
}

// Graph is the lot graph: every flow link of the record, with the event that
// proves it, in compact arrays (node ids interned to dense integers,
// adjacency in CSR form both ways) so that a million lots fit in a few
// hundred megabytes and a trace touches only the edges it returns. It is
// safe for concurrent use: traces share a read lock, Update and Apply take
// the write lock.
type Graph struct {
	store    storage.Reader
	pageSize int

	mu    sync.RWMutex
	nodes interner
	strs  interner // types, steps, materials, parties, supplier lots
	units interner // units of quantities: few, so a qty holds its id in 16 bits
	last  int64    // position of the last record applied

	kind     []uint8  // by node, index in nodeKinds
	material []uint32 // by node, in strs
	byMat    map[uint32][]uint32
	nodeQty  []qty // by node: the quantity it was received or made with
	wideNode map[uint32]wideQty
	details  map[uint32]details
	notes    map[uint32][]annotation

	// Edges, in the order (position, from, to, kind) of their links.
	eFrom, eTo []uint32
	eKind      []uint8
	eProof     []uint32
	eQty       []qty
	wide       map[uint32]wideQty // quantities too wide for a qty

	proofs    []proof
	extras    map[uint32]proofExtra // by proof, when it has any
	firstEdge []uint32              // by proof: its first edge; its edges run to the next proof's
	origin    map[uint32]uint32     // received node → the proof of its receipt

	// CSR adjacency of the edges below csrEdges; later edges are in the
	// tail maps until the next compaction. An entry carries the far end
	// and the kind with the edge id, so that a trace reads no other array
	// for the edges it skips or has seen the far end of.
	outOff, inOff   []uint32
	outAdj, inAdj   []adj
	csrEdges        int
	indexed         int // edges in the CSR arrays or the tail maps
	tailOut, tailIn map[uint32][]adj

	visits  sync.Pool  // *visit
	scratch rawPayload // decoding buffer, guarded by mu
}

// adj is one adjacency entry: the far end of an edge, and the edge id
// shifted left by kindBits with the kind index below it.
type adj struct{ far, ek uint32 }

const (
	kindBits = 3
	kindMask = 1<<kindBits - 1
	// MaxEdges bounds the edges a graph holds, so that an edge id fits an
	// adjacency entry beside its kind.
	MaxEdges = 1 << (32 - kindBits)
)

func (a adj) edge() uint32 { return a.ek >> kindBits }
func (a adj) kind() uint32 { return a.ek & kindMask }

// qty is a quantity as coefficient × 10^exp with an interned unit (0: none),
// so that an edge's quantity costs 8 bytes and no pointer; a quantity that
// does not fit is in a wide map, its qty's exp set to wideExp.
type qty struct {
	coef int32
	exp  int16
	unit uint16
}

type wideQty struct {
	v    decimal.Decimal
	unit string
}

// wideExp marks a qty whose value is in a wide map.
const wideExp = math.MinInt16

var nodeKinds = []NodeKind{NodeUnknown, NodeLot, NodeContainer, NodeBatch, NodeShipment}

func (g *Graph) kindOf(n uint32) NodeKind { return nodeKinds[g.kind[n]] }

// New returns an empty graph that reads store. cfg may be nil. It returns an
// error for a nil store or a Config field that is not valid, naming it.
func New(store storage.Reader, cfg *Config) (*Graph, error) {
	if store == nil {
		return nil, errors.New("genealogy: New: store is nil")
	}
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.PageSize < 0:
		return nil, fmt.Errorf("genealogy: New: Config.PageSize: %d is negative", c.PageSize)
	case c.PageSize == 0:
		c.PageSize = DefaultPageSize
	}
	return &Graph{
		store:    store,
		pageSize: c.PageSize,
		nodes:    newInterner(),
		strs:     newInterner(),
		units:    newInterner(),
		kind:     []uint8{0},
		material: []uint32{0},
		byMat:    map[uint32][]uint32{},
		details:  map[uint32]details{},
		wideNode: map[uint32]wideQty{},
		nodeQty:  []qty{{}},
		notes:    map[uint32][]annotation{},
		wide:     map[uint32]wideQty{},
		origin:   map[uint32]uint32{},
		extras:   map[uint32]proofExtra{},
		outOff:   []uint32{0, 0},
		inOff:    []uint32{0, 0},
		tailOut:  map[uint32][]adj{},
		tailIn:   map[uint32][]adj{},
	}, nil
}

// Build returns a graph of every record store holds: New, then Update.
func Build(ctx context.Context, store storage.Reader, cfg *Config) (*Graph, error) {
	g, err := New(store, cfg)
	if err != nil {
		return nil, err
	}
	if err := g.Update(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Update applies the records appended since the last one the graph holds,
// reading them in global order (with the store's Scan when it has one).
// It returns a *PayloadError when a record's payload cannot be read; the
// records before it stay applied.
func (g *Graph) Update(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.compact(false)
	if sc, ok := g.store.(storage.Scanner); ok {
		err := sc.Scan(ctx, g.last, func(r *audit.Record) error { return g.apply(r) })
		if err != nil {
			return fmt.Errorf("genealogy: update: %w", err)
		}
		return nil
	}
	for {
		recs, err := g.store.ReadAll(ctx, g.last, g.pageSize)
		if err != nil {
			return fmt.Errorf("genealogy: update: %w", err)
		}
		for i := range recs {
			if err := g.apply(&recs[i]); err != nil {
				return fmt.Errorf("genealogy: update: %w", err)
			}
		}
		if len(recs) < g.pageSize {
			return nil
		}
	}
}

// Apply adds records to the graph, such as those an append just returned,
// so that the graph is current without reading the store. Records at or
// below the last position applied are skipped, so applying a record twice
// changes nothing; records must come in position order. It returns a
// *PayloadError when a record's payload cannot be read.
func (g *Graph) Apply(records ...audit.Record) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.compact(false)
	for i := range records {
		if err := g.apply(&records[i]); err != nil {
			return err
		}
	}
	return nil
}

// Position returns the global position of the last record the graph holds.
func (g *Graph) Position() int64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.last
}

func (g *Graph) nodeString(id string) uint32 {
	return g.node(unsafe.Slice(unsafe.StringData(id), len(id)))
}

func (g *Graph) node(id []byte) uint32 {
	n := g.nodes.id(id)
	if int(n) == len(g.kind) {
		g.kind = append(g.kind, 0)
		g.material = append(g.material, 0)
		g.nodeQty = append(g.nodeQty, qty{})
	}
	return n
}

func (g *Graph) apply(r *audit.Record) error {
	if r.Position <= g.last {
		return nil
	}
	// The position moves only past a record the graph took (or had no use
	// for): a record whose payload cannot be read stops the graph before
	// it, and every later Update reports it again, rather than leave its
	// edges out for good.
	// A record with links, a receipt, or one that declares what its
	// subject is (even without moving material).
	relevant := r.Type == event.LotReceived || bytes.Contains(r.Payload, []byte(`"nodes":`))
	for _, l := range r.Links {
		if kindIndex(Kind(l.Kind)) >= 0 || Kind(l.Kind) == Concerns {
			relevant = true
			break
		}
	}
	if !relevant {
		g.last = r.Position
		return nil
	}
	p := &g.scratch
	if err := decodePayload(r.Payload, p); err != nil {
		return &PayloadError{Stream: r.Stream, Version: r.Version, Reason: err.Error()}
	}
	if err := p.check(); err != nil {
		return &PayloadError{Stream: r.Stream, Version: r.Version, Reason: err.Error()}
	}
	edges := 0
	for _, l := range r.Links {
		if kindIndex(Kind(l.Kind)) >= 0 {
			edges++
		}
	}
	if len(g.eFrom)+edges > MaxEdges {
		return &PayloadError{Stream: r.Stream, Version: r.Version, Reason: fmt.Sprintf("the graph holds %d edges, its limit", MaxEdges)}
	}
	// Nothing below fails: the record is taken whole.
	g.last = r.Position
	pi := uint32(len(g.proofs))
	g.proofs = append(g.proofs, proof{
		stream: g.nodeString(r.Stream), version: r.Version, position: r.Position, hash: r.Hash,
		micros: r.Time.UnixMicro(), typ: g.strs.idString(r.Type), step: g.strs.id(p.step),
		source: uint8(slices.Index(sources, Source(p.source))), critical: p.critical,
	})
	g.firstEdge = append(g.firstEdge, uint32(len(g.eFrom)))
	if p.location != nil || len(p.references) > 0 {
		// Decoded afresh for this record: the graph may keep them.
		g.extras[pi] = proofExtra{location: p.location, references: p.references}
	}
	for i := range p.nodes {
		n := g.declare(&p.nodes[i])
		if r.Type == event.LotReceived {
			g.origin[n] = pi
		}
	}
	// Links of one event go in (from, to, kind) order, so that edge ids
	// follow the order backend.Walk sorts by.
	links := r.Links
	if !slices.IsSortedFunc(links, compareLinks) {
		links = slices.Clone(links)
		slices.SortStableFunc(links, compareLinks)
	}
	for _, l := range links {
		if Kind(l.Kind) == Concerns {
			ex, lot := g.nodeString(l.From), g.nodeString(l.To)
			g.notes[lot] = append(g.notes[lot], annotation{exception: ex, proof: pi, reason: string(p.reason)})
			continue
		}
		k := kindIndex(Kind(l.Kind))
		if k < 0 {
			continue
		}
		from, to := g.nodeString(l.From), g.nodeString(l.To)
		e := uint32(len(g.eFrom))
		g.eFrom = append(g.eFrom, from)
		g.eTo = append(g.eTo, to)
		g.eKind = append(g.eKind, uint8(k))
		g.eProof = append(g.eProof, pi)
		q, wide := g.qtyOf(p.quantities, l)
		g.eQty = append(g.eQty, q)
		if wide != nil {
			g.wide[e] = *wide
		}
	}
	g.inherit(g.firstEdge[pi], uint32(len(g.eFrom)))
	return nil
}

// inherit gives a lot split from a parent, or merged from parents, the
// material and GTIN its event did not declare: a split child's are its
// parent's, a merged lot's those its parents share. Edges [first, end) are
// one event's. So a split child of a GTIN lot keeps its Digital Link name,
// and WhereUsed finds a merged lot by its material.
func (g *Graph) inherit(first, end uint32) {
	type from struct {
		material, gtin uint32
		mixedMat       bool // the parents differ in material
		mixedGTIN      bool // or in GTIN
	}
	var heirs map[uint32]*from
	for e := first; e < end; e++ {
		k := flowKinds[g.eKind[e]]
		if k != Split && k != Merged {
			continue
		}
		to, parent := g.eTo[e], g.eFrom[e]
		if heirs == nil {
			heirs = map[uint32]*from{}
		}
		pm, pg := g.material[parent], g.details[parent].gtin
		h, ok := heirs[to]
		if !ok {
			heirs[to] = &from{material: pm, gtin: pg}
			continue
		}
		h.mixedMat = h.mixedMat || h.material != pm
		h.mixedGTIN = h.mixedGTIN || h.gtin != pg
	}
	// In node order, so that byMat's order does not depend on map order.
	for _, n := range slices.Sorted(maps.Keys(heirs)) {
		h := heirs[n]
		if g.material[n] == 0 && h.material != 0 && !h.mixedMat {
			g.material[n] = h.material
			g.byMat[h.material] = append(g.byMat[h.material], n)
		}
		if h.gtin != 0 && !h.mixedGTIN {
			if d := g.details[n]; d.gtin == 0 {
				d.gtin = h.gtin
				g.details[n] = d
			}
		}
	}
}

func compareLinks(a, b audit.Link) int {
	return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To), strings.Compare(a.Kind, b.Kind))
}

// qtyOf returns the quantity of link l, and the wide form when it does not
// fit a qty.
func (g *Graph) qtyOf(qs []rawQuantity, l audit.Link) (qty, *wideQty) {
	for _, q := range qs {
		if string(q.from) == l.From && string(q.to) == l.To && q.q.set {
			return g.compactQty(q.q, q.unit)
		}
	}
	return qty{}, nil
}

func (g *Graph) compactQty(n num, unit []byte) (qty, *wideQty) {
	u := g.units.id(unit) // never 0: check rejects a quantity without a unit
	if n.wide == nil && n.coef >= math.MinInt32 && n.coef <= math.MaxInt32 && n.exp > wideExp && n.exp <= math.MaxInt16 && u <= math.MaxUint16 {
		return qty{coef: int32(n.coef), exp: int16(n.exp), unit: uint16(u)}, nil
	}
	return qty{exp: wideExp, unit: 1}, &wideQty{v: n.decimal(), unit: string(unit)}
}

func (g *Graph) quantity(e uint32) (decimal.Decimal, string) {
	return g.qtyValue(g.eQty[e], g.wide, e)
}

func (g *Graph) nodeQuantity(n uint32) (decimal.Decimal, string) {
	return g.qtyValue(g.nodeQty[n], g.wideNode, n)
}

func (g *Graph) qtyValue(q qty, wide map[uint32]wideQty, key uint32) (decimal.Decimal, string) {
	switch {
	case q.unit == 0:
		return decimal.Decimal{}, ""
	case q.exp == wideExp:
		w := wide[key]
		return w.v, w.unit
	}
	return decimal.New(int64(q.coef), int32(q.exp)), g.units.name(uint32(q.unit))
}

func (g *Graph) declare(n *rawNode) uint32 {
	id := g.node(n.id)
	if g.kind[id] == 0 {
		g.kind[id] = uint8(slices.Index(nodeKinds, NodeKind(n.kind))) // check made it one of them
	}
	if len(n.material) > 0 && g.material[id] == 0 {
		m := g.strs.id(n.material)
		g.material[id] = m
		g.byMat[m] = append(g.byMat[m], id)
	}
	if n.q.set && g.nodeQty[id].unit == 0 {
		q, wide := g.compactQty(n.q, n.unit)
		if wide != nil {
			g.wideNode[id] = *wide
		}
		g.nodeQty[id] = q
	}
	if len(n.gtin)+len(n.supplier)+len(n.supplierLot)+len(n.customer)+len(n.description) == 0 && n.lotSource == nil && n.landing == nil && n.destination == nil {
		return id
	}
	d := g.details[id]
	fill := func(dst *uint32, v []byte) {
		if *dst == 0 {
			*dst = g.strs.id(v)
		}
	}
	fill(&d.gtin, n.gtin)
	fill(&d.supplier, n.supplier)
	fill(&d.customer, n.customer)
	fill(&d.supplierLot, n.supplierLot)
	fill(&d.description, n.description)
	if d.lotSource == nil {
		d.lotSource = n.lotSource
	}
	if d.landing == nil {
		d.landing = n.landing
	}
	if d.destination == nil {
		d.destination = n.destination
	}
	g.details[id] = d
	return id
}

// compact indexes the edges apply added: it rebuilds the CSR arrays to hold
// every edge when the tail would grow past an eighth of them (or always,
// when force is set), and otherwise adds them to the tail maps, so that
// traces stay on the flat arrays while Apply stays cheap.
func (g *Graph) compact(force bool) {
	tail := len(g.eFrom) - g.csrEdges
	if tail == 0 {
		return
	}
	if !force && tail*8 < g.csrEdges {
		for e := g.indexed; e < len(g.eFrom); e++ {
			ek := uint32(e)<<kindBits | uint32(g.eKind[e])
			from, to := g.eFrom[e], g.eTo[e]
			g.tailOut[from] = append(g.tailOut[from], adj{far: to, ek: ek})
			g.tailIn[to] = append(g.tailIn[to], adj{far: from, ek: ek})
		}
		g.indexed = len(g.eFrom)
		return
	}
	g.shrink()
	n := len(g.kind)
	g.outOff, g.outAdj = csr(n, g.eFrom, g.eTo, g.eKind, g.outOff[:0])
	g.inOff, g.inAdj = csr(n, g.eTo, g.eFrom, g.eKind, g.inOff[:0])
	g.csrEdges = len(g.eFrom)
	g.indexed = g.csrEdges
	clear(g.tailOut)
	clear(g.tailIn)
}

// shrink trims the spare capacity append left in the big arrays (up to as
// much again as they hold): at a million lots that is a hundred megabytes
// the graph would keep for nothing. It runs with each full rebuild, rare
// enough that the copy does not matter.
func (g *Graph) shrink() {
	trim(&g.eFrom)
	trim(&g.eTo)
	trim(&g.eKind)
	trim(&g.eProof)
	trim(&g.eQty)
	trim(&g.proofs)
	trim(&g.firstEdge)
	trim(&g.kind)
	trim(&g.material)
	trim(&g.nodeQty)
	trim(&g.nodes.arena)
	trim(&g.nodes.ends)
}

func trim[T any](s *[]T) {
	if cap(*s)-len(*s) > len(*s)/8 {
		*s = slices.Clone(*s)
	}
}

// csr returns offsets and adjacency entries grouped by near end; within a
// node the edge ids stay in ascending order.
func csr(n int, end, far []uint32, kind []uint8, off []uint32) ([]uint32, []adj) {
	off = slices.Grow(off, n+1)[:n+1]
	clear(off)
	for _, v := range end {
		off[v+1]++
	}
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	entries := make([]adj, len(end))
	pos := slices.Clone(off[:n])
	for e, v := range end {
		entries[pos[v]] = adj{far: far[e], ek: uint32(e)<<kindBits | uint32(kind[e])}
		pos[v]++
	}
	return off, entries
}

// NodeInfo returns what the graph knows of node id, and false when no link
// or declaration names it.
func (g *Graph) NodeInfo(id string) (NodeInfo, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes.lookupString(id)
	if !ok || n == 0 {
		return NodeInfo{}, false
	}
	return g.info(n), true
}

func (g *Graph) info(n uint32) NodeInfo {
	ni := NodeInfo{ID: g.nodes.name(n), Kind: g.kindOf(n), Material: g.strs.name(g.material[n])}
	if d, ok := g.details[n]; ok {
		ni.GTIN, ni.Supplier, ni.Customer = g.strs.name(d.gtin), g.strs.name(d.supplier), g.strs.name(d.customer)
		ni.SupplierLot, ni.Description = g.strs.name(d.supplierLot), g.strs.name(d.description)
		ni.LotSource, ni.Landing, ni.Destination = clonePlace(d.lotSource), cloneLanding(d.landing), clonePlace(d.destination)
	}
	if v, unit := g.nodeQuantity(n); unit != "" {
		ni.Quantity, ni.Unit = &v, unit
	}
	return ni
}

// Annotation is a hold, deviation or rework that concerns a lot.
type Annotation struct {
	Lot       string
	Exception string // the hold, deviation or rework
	Type      string // event.LotHeld, event.DeviationOpened or event.LotReworked (or another event type)
	Reason    string
	Proof     Proof
}

// Annotations returns the holds, deviations and rework concerning each of
// lots, in the order of lots and then of the record.
func (g *Graph) Annotations(lots ...string) []Annotation {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []Annotation
	for _, l := range lots {
		n, ok := g.nodes.lookupString(l)
		if !ok || n == 0 {
			continue
		}
		for _, a := range g.notes[n] {
			pr := g.proof(a.proof)
			out = append(out, Annotation{Lot: l, Exception: g.nodes.name(a.exception), Type: pr.Type, Reason: a.reason, Proof: pr})
		}
	}
	return out
}

// Proof is the event that proves a link, and what it says of the link.
type Proof struct {
	Stream   string
	Version  int64
	Position int64
	Hash     audit.Hash
	Type     string
	Time     time.Time
	// IdentitySource says how the identities were established (scan,
	// device, manual); empty when the event did not say.
	IdentitySource Source
	Step           string
	Critical       bool
	// Location is where the event happened (read point) and where its
	// things are after it (business location); References are the
	// business documents it belongs to. Each is nil when the event did
	// not say.
	Location   *event.Location
	References []event.Reference
}

func (g *Graph) proof(i uint32) Proof {
	p := &g.proofs[i]
	pr := Proof{
		Stream: g.nodes.name(p.stream), Version: p.version, Position: p.position, Hash: p.hash,
		Type: g.strs.name(p.typ), Time: time.UnixMicro(p.micros).UTC(),
		IdentitySource: sources[p.source], Step: g.strs.name(p.step), Critical: p.critical,
	}
	if x, ok := g.extras[i]; ok {
		if l := x.location; l != nil {
			pr.Location = &event.Location{ReadPoint: clonePlace(l.ReadPoint), BizLocation: clonePlace(l.BizLocation)}
		}
		pr.References = slices.Clone(x.references)
	}
	return pr
}

func clonePlace(p *event.Place) *event.Place {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func cloneLanding(l *event.Landing) *event.Landing {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

// Stats counts what the graph holds.
type Stats struct {
	Nodes, Edges, Events int
	Position             int64
}

// Stats returns the graph's counts.
func (g *Graph) Stats() Stats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return Stats{Nodes: len(g.kind) - 1, Edges: len(g.eFrom), Events: len(g.proofs), Position: g.last}
}

// proofEdges returns the edges proof p proves.
func (g *Graph) proofEdges(p uint32) (first, end uint32) {
	first, end = g.firstEdge[p], uint32(len(g.eFrom))
	if int(p)+1 < len(g.firstEdge) {
		end = g.firstEdge[p+1]
	}
	return first, end
}
