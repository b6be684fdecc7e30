package genealogy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// Kind is the kind of a link the graph follows. A link always points the way
// material flows: From went into, or became part of, To.
type Kind string

// The link kinds of the genealogy vocabulary.
const (
	// Consumed: a lot or container (From) was consumed into a batch (To).
	Consumed Kind = "consumed"
	// Produced: a batch (From) produced a lot (To).
	Produced Kind = "produced"
	// Transferred: material moved from one lot or container to another
	// without changing what it is.
	Transferred Kind = "transferred"
	// Split: a parent lot (From) gave part of its quantity to a child lot (To).
	Split Kind = "split"
	// Merged: a parent lot (From) became part of a new merged lot (To).
	Merged Kind = "merged"
	// Packed: a lot or item (From) was packed into a container, case or
	// pallet (To): EPCIS aggregation.
	Packed Kind = "packed"
	// Shipped: a lot or container (From) left in a shipment (To).
	Shipped Kind = "shipped"
	// Concerns links an exception (a hold, a deviation, rework) to the lot it
	// is about. It is not material flow: traces never follow it, they report
	// it as an annotation of the lot.
	Concerns Kind = "concerns"
)

// flowKinds are the kinds a trace follows, in a fixed order: a kind's index
// is its bit in a kind mask.
var flowKinds = []Kind{Consumed, Produced, Transferred, Split, Merged, Packed, Shipped}

func kindIndex(k Kind) int { return slices.Index(flowKinds, k) }

// NodeKind says what a node of the graph is.
type NodeKind string

// The node kinds. A node whose kind no event declared is NodeUnknown.
const (
	NodeUnknown   NodeKind = ""
	NodeLot       NodeKind = "lot"       // a lot of material, received or made
	NodeContainer NodeKind = "container" // a container, case or pallet (SSCC)
	NodeBatch     NodeKind = "batch"     // a process order or batch
	NodeShipment  NodeKind = "shipment"  // a shipment to a customer
)

// Source says where the identity of a thing in an event came from.
type Source string

// The identity sources. Manual identities are allowed where the model allows
// them and are flagged for review, so a trace reports them.
const (
	SourceScan   Source = "scan"
	SourceDevice Source = "device"
	SourceManual Source = "manual"
)

// Event types of the vocabulary. The graph reads links and payloads from
// events of any type; these are the types the builders in this file write
// and the exporters map to EPCIS.
const (
	TypeReceived    = "lot.received"     // ObjectEvent ADD, receiving
	TypeConsumed    = "lot.consumed"     // input side of a TransformationEvent
	TypeProduced    = "lot.produced"     // output side of a TransformationEvent, commissioning
	TypeTransferred = "lot.transferred"  // ObjectEvent OBSERVE, transferring
	TypeSplit       = "lot.split"        // TransformationEvent
	TypeMerged      = "lot.merged"       // TransformationEvent
	TypePacked      = "lot.packed"       // AggregationEvent ADD, packing
	TypeShipped     = "shipment.shipped" // ObjectEvent OBSERVE, shipping
	TypeHold        = "lot.held"         // annotation: a hold
	TypeDeviation   = "deviation.opened" // annotation: a deviation
	TypeRework      = "lot.reworked"     // annotation: rework
)

// Payload is the part of an event's payload the graph reads. Events written
// by the engine carry more; unknown fields are ignored.
type Payload struct {
	// IdentitySource says how the identities of the event's links were
	// established. Required on events with flow links.
	IdentitySource Source `json:"identity_source,omitempty"`
	// Step is the execution step that made the event (a batch step that
	// consumed a lot); Critical marks a critical step.
	Step     string `json:"step,omitempty"`
	Critical bool   `json:"critical,omitempty"`
	// Quantities give the quantity that moved along each link, matched by
	// From and To.
	Quantities []LinkQuantity `json:"quantities,omitempty"`
	// Nodes declare what the things the event names are.
	Nodes []NodeInfo `json:"nodes,omitempty"`
	// Reason is the reason of a hold, deviation or rework.
	Reason string `json:"reason,omitempty"`
}

// LinkQuantity is the quantity that moved along one link of an event.
type LinkQuantity struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	Quantity decimal.Decimal `json:"quantity"`
	Unit     string          `json:"unit"`
}

// NodeInfo declares what a node is. Later declarations of a node fill the
// fields earlier ones left empty; they never overwrite one.
type NodeInfo struct {
	ID       string   `json:"id"`
	Kind     NodeKind `json:"kind"`
	Material string   `json:"material,omitempty"`
	// GTIN is the GS1 trade item number of the material, 14 digits, when it
	// has one: exports then name the lot by a GS1 Digital Link URI.
	GTIN string `json:"gtin,omitempty"`
	// Supplier and SupplierLot are the supplier and the supplier's own lot
	// number of a received lot.
	Supplier    string `json:"supplier,omitempty"`
	SupplierLot string `json:"supplier_lot,omitempty"`
	// Customer is the customer a shipment went to.
	Customer string `json:"customer,omitempty"`
	// Quantity and Unit are the quantity a lot was received or made with.
	Quantity *decimal.Decimal `json:"quantity,omitempty"`
	Unit     string           `json:"unit,omitempty"`
}

// ErrPayload is matched by errors for a payload the graph cannot read.
var ErrPayload = errors.New("genealogy: payload not valid")

// PayloadError says which record's payload could not be read and why.
type PayloadError struct {
	Stream  string
	Version int64
	Reason  string
}

// Error implements error.
func (e *PayloadError) Error() string {
	return fmt.Sprintf("genealogy: payload of %s@%d: %s", e.Stream, e.Version, e.Reason)
}

// Unwrap makes the error match ErrPayload.
func (e *PayloadError) Unwrap() error { return ErrPayload }

// ParsePayload reads the genealogy part of an event payload. null and an
// empty payload give a zero Payload. It returns an error matching ErrPayload
// for JSON that is not an object, a quantity that is not a decimal, is
// negative or has no unit, an unknown identity source or node kind, or a
// node without an id.
func ParsePayload(raw json.RawMessage) (Payload, error) {
	var p Payload
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return p, nil
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return Payload{}, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	switch p.IdentitySource {
	case "", SourceScan, SourceDevice, SourceManual:
	default:
		return Payload{}, fmt.Errorf("%w: identity_source %q is not scan, device or manual", ErrPayload, p.IdentitySource)
	}
	for i, n := range p.Nodes {
		if n.ID == "" {
			return Payload{}, fmt.Errorf("%w: nodes[%d]: empty id", ErrPayload, i)
		}
		if n.Quantity != nil && n.Quantity.IsNegative() {
			return Payload{}, fmt.Errorf("%w: nodes[%d]: quantity %s is negative", ErrPayload, i, n.Quantity)
		}
		if n.Quantity != nil && n.Unit == "" {
			return Payload{}, fmt.Errorf("%w: nodes[%d]: quantity without a unit", ErrPayload, i)
		}
		switch n.Kind {
		case NodeUnknown, NodeLot, NodeContainer, NodeBatch, NodeShipment:
		default:
			return Payload{}, fmt.Errorf("%w: nodes[%d]: kind %q is not lot, container, batch or shipment", ErrPayload, i, n.Kind)
		}
	}
	for i, q := range p.Quantities {
		if q.Quantity.IsNegative() {
			return Payload{}, fmt.Errorf("%w: quantities[%d]: %s is negative", ErrPayload, i, q.Quantity)
		}
		if q.Unit == "" {
			return Payload{}, fmt.Errorf("%w: quantities[%d]: no unit", ErrPayload, i)
		}
	}
	return p, nil
}

// ErrConservation is matched by errors for a split or merge whose quantities
// do not add up.
var ErrConservation = errors.New("genealogy: quantity not conserved")

// ConservationError carries the quantities of a split or merge that do not
// add up.
type ConservationError struct {
	Lot       string
	Want, Got decimal.Decimal
	Unit      string
}

// Error implements error.
func (e *ConservationError) Error() string {
	return fmt.Sprintf("genealogy: %s: parts add up to %s %s, want %s %s", e.Lot, e.Got, e.Unit, e.Want, e.Unit)
}

// Unwrap makes the error match ErrConservation.
func (e *ConservationError) Unwrap() error { return ErrConservation }

// Portion is a quantity of one lot.
type Portion struct {
	Lot      string
	Quantity decimal.Decimal
}

// Receipt describes a supplier lot received into the plant.
type Receipt struct {
	Lot, Material, GTIN   string
	Supplier, SupplierLot string
	Quantity              decimal.Decimal
	Unit                  string
	IdentitySource        Source
}

// ErrSpec is matched by errors for an event description the builders reject.
var ErrSpec = errors.New("genealogy: event not valid")

func specErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSpec}, args...)...)
}

func checkSource(s Source) error {
	switch s {
	case SourceScan, SourceDevice, SourceManual:
		return nil
	}
	return specErr("identity source %q is not scan, device or manual", s)
}

func checkQuantity(what string, q decimal.Decimal, unit string) error {
	if !q.IsPositive() {
		return specErr("%s: quantity %s is not positive", what, q)
	}
	if unit == "" {
		return specErr("%s: empty unit", what)
	}
	return nil
}

func event(typ, actor string, p Payload, links []audit.Link) (storage.Event, error) {
	if actor == "" {
		return storage.Event{}, specErr("empty actor")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return storage.Event{}, fmt.Errorf("encode payload: %w", err)
	}
	return storage.Event{Type: typ, Actor: actor, Payload: b, Links: links}, nil
}

// ReceiveEvent builds the event that records a supplier lot's receipt: the
// supplier's lot number and the identity source are recorded with it. It
// returns an error matching ErrSpec for an empty lot, supplier or supplier
// lot, a quantity that is not positive or an unknown source.
func ReceiveEvent(actor string, r Receipt) (storage.Event, error) {
	switch {
	case r.Lot == "":
		return storage.Event{}, specErr("receipt: empty lot")
	case r.Supplier == "" || r.SupplierLot == "":
		return storage.Event{}, specErr("receipt of %s: a supplier and the supplier's lot number are required", r.Lot)
	}
	if err := checkQuantity("receipt of "+r.Lot, r.Quantity, r.Unit); err != nil {
		return storage.Event{}, err
	}
	if err := checkSource(r.IdentitySource); err != nil {
		return storage.Event{}, err
	}
	q := r.Quantity
	return event(TypeReceived, actor, Payload{
		IdentitySource: r.IdentitySource,
		Nodes: []NodeInfo{{
			ID: r.Lot, Kind: NodeLot, Material: r.Material, GTIN: r.GTIN,
			Supplier: r.Supplier, SupplierLot: r.SupplierLot, Quantity: &q, Unit: r.Unit,
		}},
	}, nil)
}

// SplitEvent builds the event that splits quantity of parent into new child
// lots. The children's quantities must add up to quantity exactly: otherwise
// the error matches ErrConservation (a *ConservationError). It returns an
// error matching ErrSpec for no children, a child that repeats or is the
// parent, or a quantity that is not positive.
func SplitEvent(actor, parent string, quantity decimal.Decimal, unit string, children []Portion, src Source) (storage.Event, error) {
	if parent == "" {
		return storage.Event{}, specErr("split: empty parent")
	}
	if len(children) == 0 {
		return storage.Event{}, specErr("split of %s: no children", parent)
	}
	if err := checkQuantity("split of "+parent, quantity, unit); err != nil {
		return storage.Event{}, err
	}
	if err := checkSource(src); err != nil {
		return storage.Event{}, err
	}
	p := Payload{IdentitySource: src}
	links := make([]audit.Link, 0, len(children))
	sum := decimal.Zero
	seen := map[string]bool{parent: true}
	for _, c := range children {
		if c.Lot == "" || seen[c.Lot] {
			return storage.Event{}, specErr("split of %s: child %q is empty, repeated or the parent", parent, c.Lot)
		}
		seen[c.Lot] = true
		if err := checkQuantity("split child "+c.Lot, c.Quantity, unit); err != nil {
			return storage.Event{}, err
		}
		sum = sum.Add(c.Quantity)
		q := c.Quantity
		links = append(links, audit.Link{From: parent, To: c.Lot, Kind: string(Split)})
		p.Quantities = append(p.Quantities, LinkQuantity{From: parent, To: c.Lot, Quantity: c.Quantity, Unit: unit})
		p.Nodes = append(p.Nodes, NodeInfo{ID: c.Lot, Kind: NodeLot, Quantity: &q, Unit: unit})
	}
	if !sum.Equal(quantity) {
		return storage.Event{}, &ConservationError{Lot: parent, Want: quantity, Got: sum, Unit: unit}
	}
	return event(TypeSplit, actor, p, links)
}

// MergeEvent builds the event that merges parents into a new lot, whose
// quantity is the sum of the parents' portions and which links to every
// parent. It returns an error matching ErrSpec for fewer than two parents, a
// parent that repeats or is the new lot, or a quantity that is not positive.
func MergeEvent(actor, lot, unit string, parents []Portion, src Source) (storage.Event, error) {
	if lot == "" {
		return storage.Event{}, specErr("merge: empty lot")
	}
	if len(parents) < 2 {
		return storage.Event{}, specErr("merge into %s: %d parents, want at least 2", lot, len(parents))
	}
	if err := checkSource(src); err != nil {
		return storage.Event{}, err
	}
	p := Payload{IdentitySource: src}
	links := make([]audit.Link, 0, len(parents))
	sum := decimal.Zero
	seen := map[string]bool{lot: true}
	for _, par := range parents {
		if par.Lot == "" || seen[par.Lot] {
			return storage.Event{}, specErr("merge into %s: parent %q is empty, repeated or the new lot", lot, par.Lot)
		}
		seen[par.Lot] = true
		if err := checkQuantity("merge parent "+par.Lot, par.Quantity, unit); err != nil {
			return storage.Event{}, err
		}
		sum = sum.Add(par.Quantity)
		links = append(links, audit.Link{From: par.Lot, To: lot, Kind: string(Merged)})
		p.Quantities = append(p.Quantities, LinkQuantity{From: par.Lot, To: lot, Quantity: par.Quantity, Unit: unit})
	}
	p.Nodes = []NodeInfo{{ID: lot, Kind: NodeLot, Quantity: &sum, Unit: unit}}
	return event(TypeMerged, actor, p, links)
}

// Flow describes a consumption, production, transfer, packing or shipment:
// links of one kind from each input to To.
type Flow struct {
	Kind Kind
	// Inputs are the things that went into To, with their quantities; a
	// zero quantity means the event does not record one.
	Inputs []Portion
	Unit   string
	To     string
	// ToKind declares what To is; NodeUnknown leaves it undeclared.
	ToKind         NodeKind
	Step           string
	Critical       bool
	IdentitySource Source
	// Customer is the customer of a shipment (Kind Shipped).
	Customer string
}

// FlowEvent builds the event for f, of the type the vocabulary gives its
// kind. It returns an error matching ErrSpec for a kind that is not a flow
// kind (or is Produced, Split or Merged, which have their own builders), no inputs, an
// empty or repeated input, or an unknown source.
func FlowEvent(actor string, f Flow) (storage.Event, error) {
	typ := map[Kind]string{
		Consumed: TypeConsumed, Transferred: TypeTransferred,
		Packed: TypePacked, Shipped: TypeShipped,
	}[f.Kind]
	if typ == "" {
		return storage.Event{}, specErr("flow kind %q: want consumed, transferred, packed or shipped", f.Kind)
	}
	if f.To == "" || len(f.Inputs) == 0 {
		return storage.Event{}, specErr("%s flow: needs a target and at least one input", f.Kind)
	}
	if err := checkSource(f.IdentitySource); err != nil {
		return storage.Event{}, err
	}
	p := Payload{IdentitySource: f.IdentitySource, Step: f.Step, Critical: f.Critical}
	links := make([]audit.Link, 0, len(f.Inputs))
	seen := map[string]bool{}
	for _, in := range f.Inputs {
		if in.Lot == "" || seen[in.Lot] {
			return storage.Event{}, specErr("%s flow into %s: input %q is empty or repeated", f.Kind, f.To, in.Lot)
		}
		seen[in.Lot] = true
		links = append(links, audit.Link{From: in.Lot, To: f.To, Kind: string(f.Kind)})
		if !in.Quantity.IsZero() {
			if err := checkQuantity(string(f.Kind)+" "+in.Lot, in.Quantity, f.Unit); err != nil {
				return storage.Event{}, err
			}
			p.Quantities = append(p.Quantities, LinkQuantity{From: in.Lot, To: f.To, Quantity: in.Quantity, Unit: f.Unit})
		}
	}
	if f.ToKind != NodeUnknown || f.Customer != "" {
		p.Nodes = []NodeInfo{{ID: f.To, Kind: f.ToKind, Customer: f.Customer}}
	}
	return event(typ, actor, p, links)
}

// AnnotationEvent builds a hold, deviation or rework event (typ is TypeHold,
// TypeDeviation or TypeRework) with Concerns links from exception (the id of
// the hold, deviation or rework, usually its stream) to each lot. It returns
// an error matching ErrSpec for another type, an empty exception or reason,
// or no lots.
func AnnotationEvent(actor, typ, exception, reason string, lots ...string) (storage.Event, error) {
	if typ != TypeHold && typ != TypeDeviation && typ != TypeRework {
		return storage.Event{}, specErr("annotation type %q: want %s, %s or %s", typ, TypeHold, TypeDeviation, TypeRework)
	}
	if exception == "" || reason == "" || len(lots) == 0 {
		return storage.Event{}, specErr("%s: needs an exception id, a reason and at least one lot", typ)
	}
	links := make([]audit.Link, 0, len(lots))
	for _, l := range lots {
		if l == "" {
			return storage.Event{}, specErr("%s: empty lot", typ)
		}
		links = append(links, audit.Link{From: exception, To: l, Kind: string(Concerns)})
	}
	return event(typ, actor, Payload{Reason: reason}, links)
}

// Output is a lot a batch produced.
type Output struct {
	Lot, Material, GTIN string
	Quantity            decimal.Decimal
}

// ProduceEvent builds the event of batch producing outputs: a Produced link
// from the batch to each, with its quantity, and each output declared a lot
// of its material. It returns an error matching ErrSpec for an empty batch,
// no outputs, an empty or repeated output, a quantity that is not positive
// or an unknown source.
func ProduceEvent(actor, batch, unit, step string, outputs []Output, src Source) (storage.Event, error) {
	if batch == "" || len(outputs) == 0 {
		return storage.Event{}, specErr("production: needs a batch and at least one output")
	}
	if err := checkSource(src); err != nil {
		return storage.Event{}, err
	}
	p := Payload{IdentitySource: src, Step: step}
	links := make([]audit.Link, 0, len(outputs))
	seen := map[string]bool{batch: true}
	for _, o := range outputs {
		if o.Lot == "" || seen[o.Lot] {
			return storage.Event{}, specErr("production of %s: output %q is empty, repeated or the batch", batch, o.Lot)
		}
		seen[o.Lot] = true
		if err := checkQuantity("output "+o.Lot, o.Quantity, unit); err != nil {
			return storage.Event{}, err
		}
		q := o.Quantity
		links = append(links, audit.Link{From: batch, To: o.Lot, Kind: string(Produced)})
		p.Quantities = append(p.Quantities, LinkQuantity{From: batch, To: o.Lot, Quantity: q, Unit: unit})
		p.Nodes = append(p.Nodes, NodeInfo{ID: o.Lot, Kind: NodeLot, Material: o.Material, GTIN: o.GTIN, Quantity: &q, Unit: unit})
	}
	return event(TypeProduced, actor, p, links)
}
