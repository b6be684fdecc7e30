package genealogy

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"

	"github.com/shopspring/decimal"
)

// ExportConfig configures an Exporter. The zero value is valid.
type ExportConfig struct {
	// Clock gives the creation date of EPCIS documents. Default: time.Now.
	Clock func() time.Time
	// IDBase prefixes the URIs of things that have no GS1 key: a lot
	// without a GTIN is IDBase+"lot/"+id, a batch IDBase+"batch/"+id, a
	// party IDBase+"party/"+id. It must be an absolute URI ending in "/".
	// Default: DefaultIDBase.
	IDBase string
	// Units maps the units of the record to UN/CEFACT codes, which EPCIS
	// requires. Default: DefaultUnits(). A quantity in a unit the map lacks
	// fails the export with ErrUnit.
	Units map[string]string
}

// DefaultIDBase is the IDBase of a config that leaves it empty. The .invalid
// top-level domain can never resolve: set a domain you own.
const DefaultIDBase = "https://id.interlock.invalid/"

// DefaultUnits returns the unit codes of a config that leaves Units nil.
// Each call returns a new map.
func DefaultUnits() map[string]string { return maps.Clone(defaultUnits) }

var defaultUnits = map[string]string{
	"kg": "KGM", "g": "GRM", "mg": "MGM", "t": "TNE", "l": "LTR", "ml": "MLT", "m3": "MTQ", "ea": "H87", "pcs": "H87",
}

// ErrUnit is matched by export errors for a unit without a UN/CEFACT code.
var ErrUnit = fmt.Errorf("genealogy: unit has no UN/CEFACT code: %w", interlock.ErrInvalid)

// Exporter writes traces as GS1 EPCIS 2.0 JSON-LD, CSV and Graphviz DOT.
type Exporter struct {
	g     *Graph
	clock func() time.Time
	base  string
	units map[string]string
}

var uomPattern = regexp.MustCompile(`^[A-Z0-9]{2,3}$`)

// NewExporter returns an exporter of g's traces. cfg may be nil. It returns
// an error naming the field for an IDBase that is not an absolute URI
// ending in "/" or a unit code that is not two or three capitals or digits.
func NewExporter(g *Graph, cfg *ExportConfig) (*Exporter, error) {
	if g == nil {
		return nil, errors.New("genealogy: NewExporter: graph is nil")
	}
	c := ExportConfig{}
	if cfg != nil {
		c = *cfg
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.IDBase == "" {
		c.IDBase = DefaultIDBase
	}
	if u, err := url.Parse(c.IDBase); err != nil || !u.IsAbs() || c.IDBase[len(c.IDBase)-1] != '/' {
		return nil, fmt.Errorf("genealogy: NewExporter: ExportConfig.IDBase: %q is not an absolute URI ending in /", c.IDBase)
	}
	if c.Units == nil {
		c.Units = defaultUnits
	}
	for unit, code := range c.Units {
		if !uomPattern.MatchString(code) {
			return nil, fmt.Errorf("genealogy: NewExporter: ExportConfig.Units[%q]: %q is not a UN/CEFACT code", unit, code)
		}
	}
	return &Exporter{g: g, clock: c.Clock, base: c.IDBase, units: c.Units}, nil
}

var digits18 = regexp.MustCompile(`^[0-9]{18}$`)

// uri names node n: a GS1 Digital Link URI when it has a GS1 key (an SSCC
// for a container whose id is 18 digits, a GTIN and lot for a lot: the
// supplier's lot number for a received lot that has one), else a URI under
// IDBase.
func (x *Exporter) uri(n uint32) string {
	g := x.g
	id := g.nodes.name(n)
	switch g.kindOf(n) {
	case NodeContainer:
		// A container's number is its id without the engine's stream
		// prefix (event.ContainerStream).
		id = strings.TrimPrefix(id, event.ContainerStream(""))
		if digits18.MatchString(id) {
			return "https://id.gs1.org/00/" + id
		}
		return x.base + "container/" + url.PathEscape(id)
	case NodeBatch:
		// A batch or shipment named by the convention's stream prefix
		// ("batch/B-1") is named by its number alone, as lots are.
		return x.base + "batch/" + url.PathEscape(strings.TrimPrefix(id, "batch/"))
	case NodeShipment:
		return x.base + "shipment/" + url.PathEscape(strings.TrimPrefix(id, "shipment/"))
	}
	// A lot's number is its id without the engine's stream prefix
	// (event.LotStream): "lot/FG-1" is lot FG-1.
	lot := strings.TrimPrefix(id, event.LotStream(""))
	if d, ok := g.details[n]; ok && d.gtin != 0 {
		// A received lot with the supplier's GTIN and lot number is named
		// as its label names it: the supplier's lot is its traceability
		// lot code for every partner downstream.
		if d.supplierLot != 0 {
			lot = g.strs.name(d.supplierLot)
		}
		return "https://id.gs1.org/01/" + g.strs.name(d.gtin) + "/10/" + url.PathEscape(lot)
	}
	return x.base + "lot/" + url.PathEscape(lot)
}

func (x *Exporter) party(name string) string { return x.base + "party/" + url.PathEscape(name) }

// place names a place: its GS1 Digital Link URI when it has a GLN (with
// its extension as AI 254), else a URI under IDBase.
func (x *Exporter) place(p *event.Place) string {
	if p.GLN != "" {
		u := "https://id.gs1.org/414/" + p.GLN
		if p.Extension != "" {
			u += "/254/" + url.PathEscape(p.Extension)
		}
		return u
	}
	return x.base + "location/" + url.PathEscape(p.ID)
}

// bizStep names a business step of this site's vocabulary under IDBase,
// for the link kinds CBV has no step for.
func (x *Exporter) bizStep(k Kind) string { return x.base + "bizstep/" + string(k) }

// docURI names a business document under IDBase.
func (x *Exporter) docURI(r event.Reference) string {
	return x.base + "document/" + url.PathEscape(r.Type) + "/" + url.PathEscape(r.Number)
}

func (x *Exporter) uom(unit string) (string, error) {
	if unit == "" {
		return "", nil
	}
	code, ok := x.units[unit]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnit, unit)
	}
	return code, nil
}

// element is a quantity element for node n with quantity q (unit "" for
// none).
func (x *Exporter) element(n uint32, q decimal.Decimal, unit string) (QuantityElement, error) {
	qe := QuantityElement{EPCClass: x.uri(n)}
	if unit != "" {
		code, err := x.uom(unit)
		if err != nil {
			return qe, err
		}
		qe.Quantity, qe.UOM = &q, code
	}
	return qe, nil
}

// event maps the record behind proof p to one EPCIS event, with its hash as
// its eventID. The caller holds g.mu.
func (x *Exporter) event(p uint32, received map[uint32][]uint32) (EPCISEvent, error) {
	g := x.g
	pr := g.proof(p)
	ev := EPCISEvent{EventTime: hashTime(pr.Time), EventTimeZoneOffset: "+00:00"}
	first, end := g.proofEdges(p)
	var err error
	add := func(list *[]QuantityElement, n uint32, q decimal.Decimal, unit string) {
		if err != nil {
			return
		}
		var qe QuantityElement
		qe, err = x.element(n, q, unit)
		*list = append(*list, qe)
	}
	if first == end {
		// A receipt: the lots it declared, observed as they arrive (the
		// supplier made them; GS1's receiving example observes).
		ev.Type, ev.Action, ev.BizStep = "ObjectEvent", "OBSERVE", "receiving"
		for _, n := range received[p] {
			q, unit := g.nodeQuantity(n)
			add(&ev.QuantityList, n, q, unit)
			if d, ok := g.details[n]; ok && d.supplier != 0 {
				ev.SourceList = append(ev.SourceList, EPCISSource{Type: "owning_party", Source: x.party(g.strs.name(d.supplier))})
			}
			if d, ok := g.details[n]; ok && d.lotSource != nil {
				ev.SourceList = append(ev.SourceList, EPCISSource{Type: "location", Source: x.place(d.lotSource)})
			}
		}
	} else {
		switch k := flowKinds[g.eKind[first]]; k {
		case Consumed, Produced, Split, Merged, Transferred:
			ev.Type = "TransformationEvent"
			switch k {
			case Produced:
				ev.BizStep = "commissioning"
			case Split, Merged, Transferred:
				// CBV has no step for these; a step of this site's own
				// vocabulary keeps the kind, so that the document reads
				// back as the same graph (ReadEPCIS).
				ev.BizStep = x.bizStep(k)
			}
			for e := first; e < end; e++ {
				q, unit := g.quantity(e)
				// By each edge's own kind: an event may consume and
				// produce at once.
				switch flowKinds[g.eKind[e]] {
				case Packed, Shipped:
					err = cmp.Or(err, fmt.Errorf("%s links mixed with %s links in one event", flowKinds[g.eKind[e]], k))
				case Consumed:
					ev.TransformationID = x.uri(g.eTo[e])
					add(&ev.InputQuantityList, g.eFrom[e], q, unit)
				case Produced:
					ev.TransformationID = x.uri(g.eFrom[e])
					add(&ev.OutputQuantityList, g.eTo[e], q, unit)
				default:
					add(&ev.InputQuantityList, g.eFrom[e], q, unit)
					add(&ev.OutputQuantityList, g.eTo[e], q, unit)
				}
			}
			ev.InputQuantityList = mergeElements(ev.InputQuantityList)
			ev.OutputQuantityList = mergeElements(ev.OutputQuantityList)
		case Packed:
			ev.Type, ev.Action, ev.BizStep = "AggregationEvent", "ADD", "packing"
			ev.ParentID = x.uri(g.eTo[first])
			for e := first; e < end; e++ {
				if g.kindOf(g.eFrom[e]) == NodeContainer {
					ev.ChildEPCs = append(ev.ChildEPCs, x.uri(g.eFrom[e]))
					continue
				}
				q, unit := g.quantity(e)
				add(&ev.ChildQuantityList, g.eFrom[e], q, unit)
			}
		case Shipped:
			ev.Type, ev.Action, ev.BizStep, ev.Disposition = "ObjectEvent", "OBSERVE", "shipping", "in_transit"
			to := g.eTo[first]
			ev.BizTransactionList = []BizTransaction{{Type: "desadv", BizTransaction: x.uri(to)}}
			if d, ok := g.details[to]; ok && d.customer != 0 {
				ev.DestinationList = []EPCISDestination{{Type: "owning_party", Destination: x.party(g.strs.name(d.customer))}}
			}
			if d, ok := g.details[to]; ok && d.destination != nil {
				ev.DestinationList = append(ev.DestinationList, EPCISDestination{Type: "location", Destination: x.place(d.destination)})
			}
			for e := first; e < end; e++ {
				if g.kindOf(g.eFrom[e]) == NodeContainer {
					ev.EPCList = append(ev.EPCList, x.uri(g.eFrom[e]))
					continue
				}
				q, unit := g.quantity(e)
				add(&ev.QuantityList, g.eFrom[e], q, unit)
			}
		}
	}
	if l := pr.Location; l != nil {
		if l.ReadPoint != nil {
			ev.ReadPoint = &Location{ID: x.place(l.ReadPoint)}
		}
		if l.BizLocation != nil {
			ev.BizLocation = &Location{ID: x.place(l.BizLocation)}
		}
	}
	for _, r := range pr.References {
		ev.BizTransactionList = append(ev.BizTransactionList, BizTransaction{Type: r.Type, BizTransaction: x.docURI(r)})
	}
	// Receipts have no Source in the domain sense of a lot source for
	// the sources lists: dedupe what several received nodes named.
	ev.SourceList = slices.Compact(ev.SourceList)
	if err != nil {
		return ev, fmt.Errorf("event %s@%d: %w", pr.Stream, pr.Version, err)
	}
	ev.EventID, err = EventHash(&ev)
	return ev, err
}

// mergeElements keeps one element per class, as EPCIS expects, adding the
// quantities of a class named twice.
func mergeElements(qs []QuantityElement) []QuantityElement {
	out := qs[:0]
	for _, q := range qs {
		i := slices.IndexFunc(out, func(o QuantityElement) bool { return o.EPCClass == q.EPCClass && o.UOM == q.UOM })
		if i < 0 {
			out = append(out, q)
			continue
		}
		if out[i].Quantity != nil && q.Quantity != nil {
			s := out[i].Quantity.Add(*q.Quantity)
			out[i].Quantity = &s
		}
	}
	return out
}

// traceProofs returns the proofs of t's edges and the receipts of its
// nodes, in record order. The caller holds g.mu.
func (x *Exporter) traceProofs(t *Trace) []uint32 {
	g := x.g
	seen := map[uint32]bool{}
	var ps []uint32
	add := func(p uint32) {
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	for _, e := range t.ids {
		add(g.eProof[e])
		for _, n := range []uint32{g.eFrom[e], g.eTo[e]} {
			if p, ok := g.origin[n]; ok {
				add(p)
			}
		}
	}
	for _, s := range t.req.From {
		if n, ok := g.nodes.lookupString(s); ok {
			if p, ok := g.origin[n]; ok {
				add(p)
			}
		}
	}
	slices.Sort(ps) // proof ids follow record positions
	return ps
}

type epcisDocument struct {
	Context       []string `json:"@context"`
	Type          string   `json:"type"`
	SchemaVersion string   `json:"schemaVersion"`
	CreationDate  string   `json:"creationDate"`
	Body          struct {
		EventList []EPCISEvent `json:"eventList"`
	} `json:"epcisBody"`
}

// EPCISContext is the JSON-LD context of the documents the exporter writes.
const EPCISContext = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

func (x *Exporter) document(ps []uint32) ([]byte, error) {
	doc := epcisDocument{
		Context: []string{EPCISContext}, Type: "EPCISDocument", SchemaVersion: "2.0",
		CreationDate: hashTime(x.clock()),
	}
	doc.Body.EventList = make([]EPCISEvent, 0, len(ps))
	received := x.g.receivedBy(ps)
	for _, p := range ps {
		ev, err := x.event(p, received)
		if err != nil {
			return nil, fmt.Errorf("genealogy: epcis: %w", err)
		}
		doc.Body.EventList = append(doc.Body.EventList, ev)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// EPCIS returns an EPCIS 2.0 JSON-LD document of the events that prove t's
// links and of the receipts of the lots it reached, in record order: batch
// consumption and production as TransformationEvents (inputs and outputs
// with quantities, the batch as transformationID), splits, merges and
// transfers as TransformationEvents, packing as AggregationEvents, receipts
// and shipments as ObjectEvents (a shipment's customer as its owning-party
// destination). Each event's eventID is its EPCIS event hash. It returns an
// error matching ErrUnit for a unit without a code.
func (x *Exporter) EPCIS(t *Trace) ([]byte, error) {
	x.g.mu.RLock()
	defer x.g.mu.RUnlock()
	return x.document(x.traceProofs(t))
}

// EPCISRange is EPCIS for every event of the graph whose record time is in
// [from, to).
func (x *Exporter) EPCISRange(from, to time.Time) ([]byte, error) {
	x.g.mu.RLock()
	defer x.g.mu.RUnlock()
	var ps []uint32
	lo, hi := from.UnixMicro(), to.UnixMicro()
	for i, p := range x.g.proofs {
		if p.micros >= lo && p.micros < hi && (x.g.proofFlows(uint32(i)) || x.g.strs.name(p.typ) == event.LotReceived) {
			ps = append(ps, uint32(i))
		}
	}
	return x.document(ps)
}

// proofFlows reports whether proof p proves any flow edge (annotations
// prove none and have no EPCIS event).
func (g *Graph) proofFlows(p uint32) bool {
	first, end := g.proofEdges(p)
	return first < end
}

// MarshalJSON writes the quantity as a JSON number, as the EPCIS schema
// requires (decimal.Decimal writes a string).
func (q QuantityElement) MarshalJSON() ([]byte, error) {
	type plain struct {
		EPCClass string       `json:"epcClass"`
		Quantity *json.Number `json:"quantity,omitempty"`
		UOM      string       `json:"uom,omitempty"`
	}
	p := plain{EPCClass: q.EPCClass, UOM: q.UOM}
	if q.Quantity != nil {
		n := json.Number(q.Quantity.String())
		p.Quantity = &n
	}
	return json.Marshal(p)
}

// receivedBy returns the nodes each receipt among ps received, in node
// order. The caller holds g.mu.
func (g *Graph) receivedBy(ps []uint32) map[uint32][]uint32 {
	want := map[uint32]bool{}
	for _, p := range ps {
		if g.proofFlows(p) {
			continue
		}
		want[p] = true
	}
	out := map[uint32][]uint32{}
	if len(want) == 0 {
		return out
	}
	for n, p := range g.origin {
		if want[p] {
			out[p] = append(out[p], n)
		}
	}
	for _, ns := range out {
		slices.Sort(ns)
	}
	return out
}
