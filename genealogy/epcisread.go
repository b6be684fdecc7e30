package genealogy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"
)

// ErrEPCIS is matched by the errors of ReadEPCIS.
var ErrEPCIS = fmt.Errorf("genealogy: EPCIS document not readable: %w", interlock.ErrInvalid)

// EPCISLink is a link read back from an EPCIS document: From went into, or
// became part of, To, as the graph names them.
type EPCISLink struct {
	From, To string
	Kind     Kind
	Quantity *decimal.Decimal // nil when the event gave none (a container moved whole)
	Unit     string
	Time     time.Time
	EventID  string
}

// EPCISReceipt is a lot a receiving event observed.
type EPCISReceipt struct {
	Lot      string
	Quantity *decimal.Decimal
	Unit     string
	Time     time.Time
	EventID  string
}

// EPCISContent is what ReadEPCIS reads from a document.
type EPCISContent struct {
	Links    []EPCISLink
	Receipts []EPCISReceipt
}

// maxEPCISBytes bounds the document ReadEPCIS reads.
const maxEPCISBytes = 64 << 20

// ReadEPCIS reads back an EPCIS 2.0 JSON-LD document in the profile this
// exporter writes (the same IDBase and units): each event's links, named
// as the graph names their nodes, with their quantities in the record's
// units, and the lots each receiving event observed. Every event's eventID
// must be its event hash, so a changed event is refused rather than read.
// Exporting a trace and reading it back gives the trace's links and
// receipts again. Identifiers outside this profile (EPC URNs, another
// IDBase), unknown units, event types or steps, and malformed documents
// are refused with an error matching ErrEPCIS. A received lot named by its
// supplier's GTIN and lot number reads back as the graph's lot. Where
// several units share a
// UN/CEFACT code, the code reads back as the first of them in sorted
// order.
func (x *Exporter) ReadEPCIS(doc []byte) (*EPCISContent, error) {
	if len(doc) > maxEPCISBytes {
		return nil, fmt.Errorf("%w: %d bytes is over the limit of %d", ErrEPCIS, len(doc), maxEPCISBytes)
	}
	var d struct {
		Type string `json:"type"`
		Body struct {
			EventList []json.RawMessage `json:"eventList"`
		} `json:"epcisBody"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEPCIS, err)
	}
	if d.Type != "EPCISDocument" {
		return nil, fmt.Errorf("%w: type %q, want EPCISDocument", ErrEPCIS, d.Type)
	}
	r := epcisReader{x: x, units: map[string]string{}}
	for unit, code := range x.units {
		if u, ok := r.units[code]; !ok || unit < u {
			r.units[code] = unit
		}
	}
	out := &EPCISContent{}
	for i, raw := range d.Body.EventList {
		if err := r.event(raw, out); err != nil {
			return nil, fmt.Errorf("%w: event %d: %v", ErrEPCIS, i, err)
		}
	}
	return out, nil
}

type epcisReader struct {
	x     *Exporter
	units map[string]string // UN/CEFACT code → unit
	bySup map[[2]string]string
}

// known reports whether the graph has a node named id.
func (r *epcisReader) known(id string) bool {
	r.x.g.mu.RLock()
	defer r.x.g.mu.RUnlock()
	_, ok := r.x.g.nodes.lookupString(id)
	return ok
}

// supplierLots maps a GTIN and a supplier's lot number to the lot of the
// graph received with them, read once per document.
func (r *epcisReader) supplierLots() map[[2]string]string {
	if r.bySup != nil {
		return r.bySup
	}
	g := r.x.g
	g.mu.RLock()
	defer g.mu.RUnlock()
	r.bySup = map[[2]string]string{}
	for n, d := range g.details {
		if d.gtin != 0 && d.supplierLot != 0 {
			r.bySup[[2]string{g.strs.name(d.gtin), g.strs.name(d.supplierLot)}] = g.nodes.name(n)
		}
	}
	return r.bySup
}

// node returns the graph's id of the thing uri names.
func (r *epcisReader) node(uri string) (string, error) {
	const dl = "https://id.gs1.org/"
	if rest, ok := strings.CutPrefix(uri, dl); ok {
		switch parts := strings.Split(rest, "/"); {
		case len(parts) == 2 && parts[0] == "00" && digits18.MatchString(parts[1]):
			return event.ContainerStream(parts[1]), nil
		case len(parts) == 4 && parts[0] == "01" && parts[2] == "10":
			lot, err := url.PathUnescape(parts[3])
			if err != nil || lot == "" {
				return "", fmt.Errorf("%q: bad lot number", uri)
			}
			// A received lot is named by its supplier's lot number.
			if n, ok := r.supplierLots()[[2]string{parts[1], lot}]; ok {
				return n, nil
			}
			return event.LotStream(lot), nil
		}
		return "", fmt.Errorf("%q is not an SSCC or a GTIN with a lot", uri)
	}
	rest, ok := strings.CutPrefix(uri, r.x.base)
	if !ok {
		return "", fmt.Errorf("%q is neither a GS1 Digital Link nor under %s", uri, r.x.base)
	}
	kind, esc, ok := strings.Cut(rest, "/")
	id, err := url.PathUnescape(esc)
	if !ok || err != nil || id == "" || strings.Contains(esc, "/") {
		return "", fmt.Errorf("%q does not name one thing under %s", uri, r.x.base)
	}
	switch kind {
	case "lot":
		return event.LotStream(id), nil
	case "container":
		return event.ContainerStream(id), nil
	case "batch", "shipment":
		// Named by its number: the graph's node is "batch/<number>" when
		// the subject followed that convention, else the number itself.
		if r.known(kind + "/" + id) {
			return kind + "/" + id, nil
		}
		return id, nil
	}
	return "", fmt.Errorf("%q: %q is not lot, container, batch or shipment", uri, kind)
}

// quantity reads a quantity element: its node, and its quantity and unit
// when it has them.
func (r *epcisReader) quantity(q epcisQuantity) (string, *decimal.Decimal, string, error) {
	n, err := r.node(q.Class)
	if err != nil {
		return "", nil, "", err
	}
	if q.Quantity == "" {
		if q.UOM != "" {
			return "", nil, "", fmt.Errorf("%s: a unit without a quantity", q.Class)
		}
		return n, nil, "", nil
	}
	v, err := decimal.NewFromString(string(q.Quantity))
	if err != nil || v.IsNegative() {
		return "", nil, "", fmt.Errorf("%s: quantity %q is not a non-negative number", q.Class, q.Quantity)
	}
	unit, ok := r.units[q.UOM]
	if !ok {
		return "", nil, "", fmt.Errorf("%s: unit code %q is not one of this exporter's", q.Class, q.UOM)
	}
	return n, &v, unit, nil
}

type epcisQuantity struct {
	Class    string      `json:"epcClass"`
	Quantity json.Number `json:"quantity"`
	UOM      string      `json:"uom"`
}

// readEvent is EPCISEvent with quantities kept as written.
type readEvent struct {
	EPCISEvent
	QuantityList       []epcisQuantity `json:"quantityList"`
	ChildQuantityList  []epcisQuantity `json:"childQuantityList"`
	InputQuantityList  []epcisQuantity `json:"inputQuantityList"`
	OutputQuantityList []epcisQuantity `json:"outputQuantityList"`
}

func (r *epcisReader) event(raw json.RawMessage, out *EPCISContent) error {
	var ev readEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return err
	}
	// The hash is over the event as written: rebuild its quantity lists.
	conv := func(qs []epcisQuantity) ([]QuantityElement, error) {
		var out []QuantityElement
		for _, q := range qs {
			qe := QuantityElement{EPCClass: q.Class, UOM: q.UOM}
			if q.Quantity != "" {
				v, err := decimal.NewFromString(string(q.Quantity))
				if err != nil {
					return nil, fmt.Errorf("%s: quantity %q: %v", q.Class, q.Quantity, err)
				}
				qe.Quantity = &v
			}
			out = append(out, qe)
		}
		return out, nil
	}
	var err error
	e := ev.EPCISEvent
	for _, l := range []struct {
		dst *[]QuantityElement
		src []epcisQuantity
	}{{&e.QuantityList, ev.QuantityList}, {&e.ChildQuantityList, ev.ChildQuantityList},
		{&e.InputQuantityList, ev.InputQuantityList}, {&e.OutputQuantityList, ev.OutputQuantityList}} {
		if *l.dst, err = conv(l.src); err != nil {
			return err
		}
	}
	id := e.EventID
	e.EventID = ""
	want, err := EventHash(&e)
	if err != nil {
		return err
	}
	if id != want {
		return fmt.Errorf("eventID %s is not the event's hash %s: the event was changed", id, want)
	}
	at, err := time.Parse(time.RFC3339Nano, e.EventTime)
	if err != nil {
		return fmt.Errorf("eventTime %q: %v", e.EventTime, err)
	}
	link := func(from, to string, k Kind, q *decimal.Decimal, unit string) {
		out.Links = append(out.Links, EPCISLink{From: from, To: to, Kind: k, Quantity: q, Unit: unit, Time: at, EventID: id})
	}
	switch {
	case e.Type == "ObjectEvent" && e.BizStep == "receiving":
		for _, q := range ev.QuantityList {
			n, v, unit, err := r.quantity(q)
			if err != nil {
				return err
			}
			out.Receipts = append(out.Receipts, EPCISReceipt{Lot: n, Quantity: v, Unit: unit, Time: at, EventID: id})
		}
	case e.Type == "ObjectEvent" && e.BizStep == "shipping":
		var shipment string
		for _, b := range e.BizTransactionList {
			if b.Type == "desadv" && strings.HasPrefix(b.BizTransaction, r.x.base+"shipment/") {
				if shipment, err = r.node(b.BizTransaction); err != nil {
					return err
				}
			}
		}
		if shipment == "" {
			return fmt.Errorf("a shipping event names no shipment (a desadv under %sshipment/)", r.x.base)
		}
		for _, c := range e.EPCList {
			n, err := r.node(c)
			if err != nil {
				return err
			}
			link(n, shipment, Shipped, nil, "")
		}
		for _, q := range ev.QuantityList {
			n, v, unit, err := r.quantity(q)
			if err != nil {
				return err
			}
			link(n, shipment, Shipped, v, unit)
		}
	case e.Type == "AggregationEvent" && e.BizStep == "packing":
		parent, err := r.node(e.ParentID)
		if err != nil {
			return err
		}
		for _, c := range e.ChildEPCs {
			n, err := r.node(c)
			if err != nil {
				return err
			}
			link(n, parent, Packed, nil, "")
		}
		for _, q := range ev.ChildQuantityList {
			n, v, unit, err := r.quantity(q)
			if err != nil {
				return err
			}
			link(n, parent, Packed, v, unit)
		}
	case e.Type == "TransformationEvent":
		return r.transformation(&e, ev.InputQuantityList, ev.OutputQuantityList, link)
	default:
		return fmt.Errorf("%s with step %q is not one this exporter writes", e.Type, e.BizStep)
	}
	return nil
}

// transformation reads a TransformationEvent: through its
// transformationID (a batch consumed its inputs and produced its outputs),
// or, for a split, merge or transfer (named by this site's step), from
// each input to each output.
func (r *epcisReader) transformation(e *EPCISEvent, inputs, outputs []epcisQuantity, link func(string, string, Kind, *decimal.Decimal, string)) error {
	type item struct {
		n    string
		v    *decimal.Decimal
		unit string
	}
	read := func(qs []epcisQuantity) ([]item, error) {
		var out []item
		for _, q := range qs {
			n, v, unit, err := r.quantity(q)
			if err != nil {
				return nil, err
			}
			out = append(out, item{n, v, unit})
		}
		return out, nil
	}
	in, err := read(inputs)
	if err != nil {
		return err
	}
	outs, err := read(outputs)
	if err != nil {
		return err
	}
	if e.TransformationID != "" {
		batch, err := r.node(e.TransformationID)
		if err != nil {
			return err
		}
		for _, i := range in {
			link(i.n, batch, Consumed, i.v, i.unit)
		}
		for _, o := range outs {
			link(batch, o.n, Produced, o.v, o.unit)
		}
		return nil
	}
	var k Kind
	for _, c := range []Kind{Split, Merged, Transferred} {
		if e.BizStep == r.x.bizStep(c) {
			k = c
		}
	}
	switch {
	case k == "":
		return fmt.Errorf("a transformation without a transformationID has step %q, not a split, merge or transfer of %s", e.BizStep, r.x.base)
	case len(in) == 1:
		// One parent: each output took its own quantity from it.
		for _, o := range outs {
			link(in[0].n, o.n, k, o.v, o.unit)
		}
	case len(outs) == 1:
		// One result: each input gave its own quantity to it.
		for _, i := range in {
			link(i.n, outs[0].n, k, i.v, i.unit)
		}
	default:
		return fmt.Errorf("a %s from %d inputs to %d outputs cannot be read as links", k, len(in), len(outs))
	}
	return nil
}

// SortLinks orders links by time, then from, to and kind, so that two
// reads of the same links compare equal.
func SortLinks(ls []EPCISLink) {
	slices.SortFunc(ls, func(a, b EPCISLink) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.From, b.From), strings.Compare(a.To, b.To), strings.Compare(string(a.Kind), string(b.Kind)))
	})
}
