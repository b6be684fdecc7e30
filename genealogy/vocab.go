package genealogy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"

	"github.com/shopspring/decimal"
)

// Kind is the kind of a link the graph follows. A link always points the way
// material flows: From went into, or became part of, To.
type Kind string

// The link kinds of the genealogy vocabulary.
const (
	// Consumed: a lot or container (From) was consumed into a batch (To).
	Consumed Kind = event.LinkConsumed
	// Produced: a batch (From) produced a lot (To).
	Produced Kind = event.LinkProduced
	// Transferred: material moved from one lot or container to another
	// without changing what it is.
	Transferred Kind = event.LinkTransferred
	// Split: a parent lot (From) gave part of its quantity to a child lot (To).
	Split Kind = event.LinkSplit
	// Merged: a parent lot (From) became part of a new merged lot (To).
	Merged Kind = event.LinkMerged
	// Packed: a lot or item (From) was packed into a container, case or
	// pallet (To): EPCIS aggregation.
	Packed Kind = event.LinkPacked
	// Shipped: a lot or container (From) left in a shipment (To).
	Shipped Kind = event.LinkShipped
	// Concerns links an exception (a hold, a deviation, rework) to the lot it
	// is about. It is not material flow: traces never follow it, they report
	// it as an annotation of the lot.
	Concerns Kind = event.LinkConcerns
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

// NodeInfo is what the graph knows of a node, gathered from the event.Node
// declarations of the records that name it: later declarations fill the
// fields earlier ones left empty; they never overwrite one.
type NodeInfo struct {
	ID       string
	Kind     NodeKind
	Material string
	// GTIN is the GS1 trade item number of the material, 14 digits, when it
	// has one: exports then name the lot by a GS1 Digital Link URI.
	GTIN string
	// Supplier and SupplierLot are the supplier and the supplier's own lot
	// number of a received lot.
	Supplier    string
	SupplierLot string
	// Customer is the customer a shipment went to.
	Customer string
	// Quantity and Unit are the quantity a lot was received or made with.
	Quantity *decimal.Decimal
	Unit     string
	// Description is the product as a person reads it; LotSource is where
	// the lot's number was assigned; Landing is the catch a first
	// land-based receiver received.
	Description string
	LotSource   *event.Place
	Landing     *event.Landing
	// Destination is where a shipment goes.
	Destination *event.Place
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

// CheckPayload decodes raw, a record's payload, as the event.Transition
// the graph reads it as, and reports whether the graph can: identity
// source scan, device, manual or none; every node declared with an id, a
// known kind, and a unit with any quantity, never negative; every link
// quantity with a unit, never negative. null and an empty payload give a
// zero Transition. It returns an error matching ErrPayload otherwise. The
// graph reads payloads with a faster decoder held to this one by a fuzz
// test.
func CheckPayload(raw json.RawMessage) (*event.Transition, error) {
	var p event.Transition
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return &p, nil
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	if err := checkRead(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// checkRead checks the members of p the graph reads.
func checkRead(p *event.Transition) error {
	switch Source(p.IdentitySource) {
	case "", SourceScan, SourceDevice, SourceManual:
	default:
		return fmt.Errorf("%w: identity_source %q is not scan, device or manual", ErrPayload, p.IdentitySource)
	}
	for i, n := range p.Nodes {
		if n.ID == "" {
			return fmt.Errorf("%w: nodes[%d]: empty id", ErrPayload, i)
		}
		if n.Quantity != nil && n.Quantity.IsNegative() {
			return fmt.Errorf("%w: nodes[%d]: quantity %s is negative", ErrPayload, i, n.Quantity)
		}
		if n.Quantity != nil && n.Unit == "" {
			return fmt.Errorf("%w: nodes[%d]: quantity without a unit", ErrPayload, i)
		}
		switch NodeKind(n.Kind) {
		case NodeUnknown, NodeLot, NodeContainer, NodeBatch, NodeShipment:
		default:
			return fmt.Errorf("%w: nodes[%d]: kind %q is not lot, container, batch or shipment", ErrPayload, i, n.Kind)
		}
	}
	for i, q := range p.Quantities {
		if q.Quantity.IsNegative() {
			return fmt.Errorf("%w: quantities[%d]: %s is negative", ErrPayload, i, q.Quantity)
		}
		if q.Unit == "" {
			return fmt.Errorf("%w: quantities[%d]: no unit", ErrPayload, i)
		}
	}
	return nil
}
