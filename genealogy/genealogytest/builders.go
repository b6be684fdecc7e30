package genealogytest

import (
	"encoding/json"
	"fmt"

	"github.com/interlock-mes/interlock/event"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
	"github.com/shopspring/decimal"
)

// ErrConservation is matched by errors for a split or merge whose quantities
// do not add up.
var ErrConservation = fmt.Errorf("genealogytest: quantity not conserved: %w", interlock.ErrInvalid)

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
	IdentitySource        genealogy.Source
}

// ErrSpec is matched by errors for an event description the builders reject.
var ErrSpec = fmt.Errorf("genealogytest: event not valid: %w", interlock.ErrInvalid)

func specErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSpec}, args...)...)
}

func checkSource(s genealogy.Source) error {
	switch s {
	case genealogy.SourceScan, genealogy.SourceDevice, genealogy.SourceManual:
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

func newEvent(typ, actor string, p event.Transition, links []audit.Link) (storage.Event, error) {
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
	return newEvent(event.LotReceived, actor, event.Transition{
		IdentitySource: string(r.IdentitySource),
		Nodes: []event.Node{{
			ID: r.Lot, Kind: string(genealogy.NodeLot), Material: r.Material, GTIN: r.GTIN,
			Supplier: r.Supplier, SupplierLot: r.SupplierLot, Quantity: &q, Unit: r.Unit,
		}},
	}, nil)
}

// SplitEvent builds the event that splits quantity of parent into new child
// lots. The children's quantities must add up to quantity exactly: otherwise
// the error matches ErrConservation (a *ConservationError). It returns an
// error matching ErrSpec for no children, a child that repeats or is the
// parent, or a quantity that is not positive.
func SplitEvent(actor, parent string, quantity decimal.Decimal, unit string, children []Portion, src genealogy.Source) (storage.Event, error) {
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
	p := event.Transition{IdentitySource: string(src)}
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
		links = append(links, audit.Link{From: parent, To: c.Lot, Kind: string(genealogy.Split)})
		p.Quantities = append(p.Quantities, event.Quantity{From: parent, To: c.Lot, Quantity: c.Quantity, Unit: unit})
		p.Nodes = append(p.Nodes, event.Node{ID: c.Lot, Kind: string(genealogy.NodeLot), Quantity: &q, Unit: unit})
	}
	if !sum.Equal(quantity) {
		return storage.Event{}, &ConservationError{Lot: parent, Want: quantity, Got: sum, Unit: unit}
	}
	return newEvent(event.LotSplit, actor, p, links)
}

// MergeEvent builds the event that merges parents into a new lot, whose
// quantity is the sum of the parents' portions and which links to every
// parent. It returns an error matching ErrSpec for fewer than two parents, a
// parent that repeats or is the new lot, or a quantity that is not positive.
func MergeEvent(actor, lot, unit string, parents []Portion, src genealogy.Source) (storage.Event, error) {
	if lot == "" {
		return storage.Event{}, specErr("merge: empty lot")
	}
	if len(parents) < 2 {
		return storage.Event{}, specErr("merge into %s: %d parents, want at least 2", lot, len(parents))
	}
	if err := checkSource(src); err != nil {
		return storage.Event{}, err
	}
	p := event.Transition{IdentitySource: string(src)}
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
		links = append(links, audit.Link{From: par.Lot, To: lot, Kind: string(genealogy.Merged)})
		p.Quantities = append(p.Quantities, event.Quantity{From: par.Lot, To: lot, Quantity: par.Quantity, Unit: unit})
	}
	p.Nodes = []event.Node{{ID: lot, Kind: string(genealogy.NodeLot), Quantity: &sum, Unit: unit}}
	return newEvent(event.LotMerged, actor, p, links)
}

// Flow describes a consumption, production, transfer, packing or shipment:
// links of one kind from each input to To.
type Flow struct {
	Kind genealogy.Kind
	// Inputs are the things that went into To, with their quantities; a
	// zero quantity means the event does not record one.
	Inputs []Portion
	Unit   string
	To     string
	// ToKind declares what To is; NodeUnknown leaves it undeclared.
	ToKind         genealogy.NodeKind
	Step           string
	Critical       bool
	IdentitySource genealogy.Source
	// Customer is the customer of a shipment (Kind Shipped).
	Customer string
}

// FlowEvent builds the event for f, of the type the vocabulary gives its
// kind. It returns an error matching ErrSpec for a kind that is not a flow
// kind (or is Produced, Split or Merged, which have their own builders), no inputs, an
// empty or repeated input, or an unknown source.
func FlowEvent(actor string, f Flow) (storage.Event, error) {
	typ := map[genealogy.Kind]string{
		genealogy.Consumed: event.LotConsumed, genealogy.Transferred: event.LotTransferred,
		genealogy.Packed: event.LotPacked, genealogy.Shipped: event.ShipmentShipped,
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
	p := event.Transition{IdentitySource: string(f.IdentitySource), Step: f.Step, Critical: f.Critical}
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
			p.Quantities = append(p.Quantities, event.Quantity{From: in.Lot, To: f.To, Quantity: in.Quantity, Unit: f.Unit})
		}
	}
	if f.ToKind != genealogy.NodeUnknown || f.Customer != "" {
		p.Nodes = []event.Node{{ID: f.To, Kind: string(f.ToKind), Customer: f.Customer}}
	}
	return newEvent(typ, actor, p, links)
}

// AnnotationEvent builds a hold, deviation or rework event (typ is event.LotHeld,
// event.DeviationOpened or event.LotReworked) with Concerns links from exception (the id of
// the hold, deviation or rework, usually its stream) to each lot. It returns
// an error matching ErrSpec for another type, an empty exception or reason,
// or no lots.
func AnnotationEvent(actor, typ, exception, reason string, lots ...string) (storage.Event, error) {
	if typ != event.LotHeld && typ != event.DeviationOpened && typ != event.LotReworked {
		return storage.Event{}, specErr("annotation type %q: want %s, %s or %s", typ, event.LotHeld, event.DeviationOpened, event.LotReworked)
	}
	if exception == "" || reason == "" || len(lots) == 0 {
		return storage.Event{}, specErr("%s: needs an exception id, a reason and at least one lot", typ)
	}
	links := make([]audit.Link, 0, len(lots))
	for _, l := range lots {
		if l == "" {
			return storage.Event{}, specErr("%s: empty lot", typ)
		}
		links = append(links, audit.Link{From: exception, To: l, Kind: string(genealogy.Concerns)})
	}
	data, err := json.Marshal(map[string]string{"reason": reason})
	if err != nil {
		return storage.Event{}, fmt.Errorf("encode reason: %w", err)
	}
	return newEvent(typ, actor, event.Transition{Data: data}, links)
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
func ProduceEvent(actor, batch, unit, step string, outputs []Output, src genealogy.Source) (storage.Event, error) {
	if batch == "" || len(outputs) == 0 {
		return storage.Event{}, specErr("production: needs a batch and at least one output")
	}
	if err := checkSource(src); err != nil {
		return storage.Event{}, err
	}
	p := event.Transition{IdentitySource: string(src), Step: step}
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
		links = append(links, audit.Link{From: batch, To: o.Lot, Kind: string(genealogy.Produced)})
		p.Quantities = append(p.Quantities, event.Quantity{From: batch, To: o.Lot, Quantity: q, Unit: unit})
		p.Nodes = append(p.Nodes, event.Node{ID: o.Lot, Kind: string(genealogy.NodeLot), Material: o.Material, GTIN: o.GTIN, Quantity: &q, Unit: unit})
	}
	return newEvent(event.LotProduced, actor, p, links)
}
