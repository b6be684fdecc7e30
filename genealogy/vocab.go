package genealogy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock"

	"github.com/shopspring/decimal"
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
var ErrPayload = fmt.Errorf("genealogy: payload not valid: %w", interlock.ErrInvalid)

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
