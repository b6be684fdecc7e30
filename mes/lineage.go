package mes

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/quantity"
	"github.com/interlock-mes/interlock/storage"
)

// Link kinds the engine writes for material flow; package genealogy reads
// them. A link points the way material flows.
const ()

// Event types of lots made by a transition.
const ()

// Commands of the lot model for lots made from other lots.
const (
	CmdProduce Command = "produce"
	CmdSplit   Command = "split"
	CmdMerge   Command = "merge"
)

// Codes of production checks.
const (
	CodeLotExists       gate.Code = "production.lot-exists"
	CodeSplitNotLot     gate.Code = "production.split-not-a-lot"
	CodeSplitOverParent gate.Code = "production.split-over-available"
)

// Production is a lot a transition makes: a batch's output (link kind
// event.LinkProduced, the default) or a part of the subject lot split off
// (event.LinkSplit). The lot must not exist yet; the engine writes its first
// record, event.LotProduced, into its stream in the same append, and the lot
// starts in quarantine.
type Production struct {
	Lot      string          `json:"lot"`
	Material string          `json:"material"`
	Quantity decimal.Decimal `json:"quantity"`
	Unit     string          `json:"unit"`
	Expiry   time.Time       `json:"expiry,omitzero"`
	GTIN     string          `json:"gtin,omitempty"`
	Kind     string          `json:"kind,omitempty"` // event.LinkProduced or event.LinkSplit; "" is event.LinkProduced
}

// Declaration says what the subject of a transition is, for the lot graph
// (package genealogy): a received lot with its supplier and the supplier's
// lot number, a batch, a container, or a shipment with its customer.
// Declarations add to what is known of a node; they never overwrite it.
type Declaration struct {
	Kind        string // "lot", "batch", "container" or "shipment"
	Material    string
	GTIN        string // 14 digits, when the material has one
	Supplier    string
	SupplierLot string // the supplier's own lot number
	Customer    string // of a shipment
	// Description is the product as a person reads it (FSMA 204 product
	// description): name, brand, pack size. Optional.
	Description string
	// LotSource is where the lot's number was assigned (FSMA 204
	// traceability lot code source), such as the supplier's plant.
	// Optional; only for a lot.
	LotSource *event.Place
	// Landing is the catch of a first land-based receiver (FSMA 204,
	// 21 CFR 1.1335). Optional; only for a lot.
	Landing *event.Landing
	// Destination is where a shipment goes (its ship-to place). Optional;
	// only for a shipment.
	Destination *event.Place
	// IdentitySource says how the supplier lot number or the subject's
	// identity was established: gate.SourceScanner, gate.SourceDevice or
	// gate.SourceManual. Required.
	IdentitySource gate.Source
}

func (d *Declaration) validate() error {
	switch {
	case !slices.Contains([]string{"lot", "batch", "container", "shipment"}, d.Kind):
		return invalidRequest("Declare", "declaration kind %q is not lot, batch, container or shipment", d.Kind)
	case d.IdentitySource != gate.SourceScanner && d.IdentitySource != gate.SourceDevice && d.IdentitySource != gate.SourceManual:
		return invalidRequest("Declare", "declaration identity source %q is not scanner, device or manual", d.IdentitySource)
	case d.Kind != "shipment" && d.Customer != "":
		return invalidRequest("Declare", "only a shipment has a customer; the subject is declared a %s", d.Kind)
	case d.Kind != "lot" && (d.Supplier != "" || d.SupplierLot != ""):
		return invalidRequest("Declare", "only a lot has a supplier; the subject is declared a %s", d.Kind)
	case d.Kind != "lot" && (d.LotSource != nil || d.Landing != nil):
		return invalidRequest("Declare", "only a lot has a lot source or a landing; the subject is declared a %s", d.Kind)
	case d.Kind != "shipment" && d.Destination != nil:
		return invalidRequest("Declare", "only a shipment has a destination; the subject is declared a %s", d.Kind)
	case len(d.Description) > maxText:
		return invalidRequest("Declare", "description is %d bytes, over %d", len(d.Description), maxText)
	}
	if d.LotSource != nil {
		if err := checkPlace("Declare", "lot source", d.LotSource); err != nil {
			return err
		}
	}
	if d.Destination != nil {
		if err := checkPlace("Declare", "destination", d.Destination); err != nil {
			return err
		}
	}
	if l := d.Landing; l != nil {
		switch {
		case l.HarvestStart.IsZero() || l.HarvestEnd.IsZero() || l.Landed.IsZero():
			return invalidRequest("Declare", "a landing needs its harvest start and end and the time landed")
		case l.HarvestEnd.Before(l.HarvestStart) || l.Landed.Before(l.HarvestEnd):
			return invalidRequest("Declare", "a landing's harvest must end after it starts, and before the catch is landed")
		case l.HarvestArea == "" || len(l.HarvestArea) > maxText:
			return invalidRequest("Declare", "a landing needs a harvest area of at most %d bytes", maxText)
		case len(l.Vessel) > maxText:
			return invalidRequest("Declare", "a landing's vessel is over %d bytes", maxText)
		}
	}
	return nil
}

// maxText bounds a description, a reference number and a place id.
const maxText = 512

// checkPlace returns a *RequestError for a place that is not one: it has a
// GLN (13 digits, the check digit right) with an optional extension of up
// to 20 characters of GS1's character set 82, or else an id of its own.
func checkPlace(field, what string, p *event.Place) error {
	switch {
	case p.GLN == "" && p.ID == "":
		return invalidRequest(field, "%s has neither a GLN nor an id", what)
	case p.GLN != "" && p.ID != "":
		return invalidRequest(field, "%s has both a GLN and an id; give one", what)
	case p.GLN != "" && !validGLN(p.GLN):
		return invalidRequest(field, "%s GLN %q is not 13 digits with a valid check digit", what, p.GLN)
	case p.Extension != "" && p.GLN == "":
		return invalidRequest(field, "%s has an extension but no GLN", what)
	case len(p.Extension) > 20 || strings.IndexFunc(p.Extension, func(r rune) bool { return !strings.ContainsRune(cset82, r) }) >= 0:
		return invalidRequest(field, "%s extension %q is not 1 to 20 characters of GS1's character set 82", what, p.Extension)
	case len(p.ID) > maxText || len(p.Description) > maxText:
		return invalidRequest(field, "%s id or description is over %d bytes", what, maxText)
	}
	return nil
}

// cset82 is GS1's character set 82, the characters of an AI 254 extension.
const cset82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// validGLN reports whether s is 13 digits whose last is the GS1 check
// digit of the others.
func validGLN(s string) bool {
	if len(s) != 13 {
		return false
	}
	sum := 0
	for i := 0; i < 12; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return s[12] == byte('0'+(10-sum%10)%10)
}

// validateContext checks a request's location and references.
func (r *Request) validateContext() error {
	if l := r.Location; l != nil {
		if l.ReadPoint == nil && l.BizLocation == nil {
			return invalidRequest("Location", "a location names neither a read point nor a business location")
		}
		if l.ReadPoint != nil {
			if err := checkPlace("Location", "read point", l.ReadPoint); err != nil {
				return err
			}
		}
		if l.BizLocation != nil {
			if err := checkPlace("Location", "business location", l.BizLocation); err != nil {
				return err
			}
		}
	}
	for i, ref := range r.References {
		switch {
		case !slices.Contains(event.ReferenceTypes, ref.Type):
			return invalidRequest("References", "reference %d: type %q is not one of %v", i, ref.Type, event.ReferenceTypes)
		case ref.Number == "" || len(ref.Number) > maxText:
			return invalidRequest("References", "reference %d (%s) needs a number of at most %d bytes", i, ref.Type, maxText)
		case slices.Contains(r.References[:i], ref):
			return invalidRequest("References", "reference %s %s is given twice", ref.Type, ref.Number)
		}
	}
	return nil
}

// genealogySource maps an evidence source to the lot graph's identity
// sources.
func genealogySource(s gate.Source) string {
	switch s {
	case gate.SourceScanner:
		return "scan"
	case gate.SourceDevice:
		return "device"
	}
	return "manual"
}

func consumptionKind(c event.Consumption) string {
	if c.Kind == "" {
		return event.LinkConsumed
	}
	return c.Kind
}

func productionKind(p Production) string {
	if p.Kind == "" {
		return event.LinkProduced
	}
	return p.Kind
}

// validateFlows checks the material a request moves.
func (r *Request) validateFlows() error {
	if err := r.validateContext(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, c := range r.Consume {
		if c.Container != "" {
			switch {
			case c.Lot != "":
				return invalidRequest("Consume", "consumption %d names both lot %q and container %q; give one", i, c.Lot, c.Container)
			case !c.Quantity.IsZero() || c.Unit != "":
				return invalidRequest("Consume", "container %q moves whole: it takes no quantity or unit", c.Container)
			case seen["container/"+c.Container]:
				return invalidRequest("Consume", "container %q is moved twice in one command", c.Container)
			case event.ContainerStream(c.Container) == r.Subject:
				return invalidRequest("Consume", "container %q cannot be moved into itself", c.Container)
			case !slices.Contains([]string{event.LinkShipped, event.LinkPacked, event.LinkTransferred}, c.Kind):
				return invalidRequest("Consume", "container %q: kind %q is not shipped, packed or transferred", c.Container, c.Kind)
			}
			seen["container/"+c.Container] = true
			continue
		}
		switch {
		case c.Lot == "":
			return invalidRequest("Consume", "consumption %d names no lot", i)
		case seen[c.Lot]:
			return invalidRequest("Consume", "lot %q is consumed twice in one command; give the total once", c.Lot)
		case !c.Quantity.IsPositive():
			return invalidRequest("Consume", "consumption of lot %q: quantity %s is not positive", c.Lot, c.Quantity)
		case !quantity.InBounds(c.Quantity):
			return invalidRequest("Consume", "consumption of lot %q: quantity is out of bounds (at most %d digits, exponent within ±%d)", c.Lot, quantity.MaxDigits, quantity.MaxExponent)
		case c.Unit == "":
			return invalidRequest("Consume", "consumption of lot %q has no unit", c.Lot)
		case event.LotStream(c.Lot) == r.Subject:
			return invalidRequest("Consume", "lot %q cannot be consumed into itself", c.Lot)
		case !slices.Contains([]string{event.LinkConsumed, event.LinkMerged, event.LinkShipped, event.LinkPacked, event.LinkTransferred}, consumptionKind(c)):
			return invalidRequest("Consume", "consumption of lot %q: kind %q is not one of consumed, merged, shipped, packed, transferred", c.Lot, c.Kind)
		}
		seen[c.Lot] = true
	}
	for i, p := range r.Produce {
		switch {
		case p.Lot == "":
			return invalidRequest("Produce", "production %d names no lot", i)
		case seen[p.Lot]:
			return invalidRequest("Produce", "lot %q is named twice in one command's material", p.Lot)
		case event.LotStream(p.Lot) == r.Subject:
			return invalidRequest("Produce", "lot %q cannot be produced by itself", p.Lot)
		case !p.Quantity.IsPositive():
			return invalidRequest("Produce", "production of lot %q: quantity %s is not positive", p.Lot, p.Quantity)
		case !quantity.InBounds(p.Quantity):
			return invalidRequest("Produce", "production of lot %q: quantity is out of bounds (at most %d digits, exponent within ±%d)", p.Lot, quantity.MaxDigits, quantity.MaxExponent)
		case p.Unit == "":
			return invalidRequest("Produce", "production of lot %q has no unit", p.Lot)
		case p.Material == "":
			return invalidRequest("Produce", "production of lot %q names no material", p.Lot)
		case productionKind(p) != event.LinkProduced && productionKind(p) != event.LinkSplit:
			return invalidRequest("Produce", "production of lot %q: kind %q is not produced or split", p.Lot, p.Kind)
		}
		seen[p.Lot] = true
	}
	if r.Declare != nil {
		if err := r.Declare.validate(); err != nil {
			return err
		}
	}
	return nil
}

// checkProductions checks that every lot to be made is new, and that a
// split takes no more from the subject lot than it holds, in its unit.
func checkProductions(ctx context.Context, req *Request, facts *streamFacts) ([]gate.Reason, error) {
	var reasons []gate.Reason
	split, unit := decimal.Zero, ""
	for _, p := range req.Produce {
		_, err := facts.Lot(ctx, p.Lot)
		switch {
		case err == nil:
			reasons = append(reasons, gate.Reason{Gate: "production", Code: CodeLotExists,
				Message: fmt.Sprintf("lot %s exists already; a transition can only make new lots", p.Lot)})
		case !errors.Is(err, gate.ErrUnknown):
			return nil, err
		}
		if productionKind(p) == event.LinkSplit {
			split, unit = split.Add(p.Quantity), p.Unit
		}
	}
	if unit == "" {
		return reasons, nil
	}
	k, ok := factKeyOf(req.Subject)
	if !ok || k.kind != factLot {
		return append(reasons, gate.Reason{Gate: "production", Code: CodeSplitNotLot,
			Message: fmt.Sprintf("only a lot can be split; %s is not one", req.Subject)}), nil
	}
	parent, err := facts.Lot(ctx, k.id)
	if err != nil {
		if errors.Is(err, gate.ErrUnknown) {
			return append(reasons, gate.Reason{Gate: "production", Code: CodeSplitNotLot,
				Message: fmt.Sprintf("lot %s has not been received", k.id)}), nil
		}
		return nil, err
	}
	for _, p := range req.Produce {
		if productionKind(p) == event.LinkSplit && p.Unit != parent.Unit {
			reasons = append(reasons, gate.Reason{Gate: "production", Code: CodeUnitMismatch,
				Message: fmt.Sprintf("lot %s is kept in %s; a part of %s %s cannot be split from it", k.id, parent.Unit, p.Quantity, p.Unit)})
		}
	}
	if parent.Available.LessThan(split) {
		reasons = append(reasons, gate.Reason{Gate: "production", Code: CodeSplitOverParent,
			Message: fmt.Sprintf("lot %s holds %s %s; parts of %s %s cannot be split from it", k.id, parent.Available, parent.Unit, split, unit)})
	}
	return reasons, nil
}

// lineage fills the members of the transition's payload that record its
// material flow, and returns the links of its own event.
func lineage(req *Request, p *event.Transition) []audit.Link {
	flow := len(req.Consume) > 0 || len(req.Produce) > 0
	// What the command's data says the subject is (a receipt: material,
	// quantity, unit).
	var d struct {
		Material string           `json:"material"`
		GTIN     string           `json:"gtin"`
		Quantity *decimal.Decimal `json:"quantity"`
		Unit     string           `json:"unit"`
	}
	if (req.Model.kind != "" || req.Declare != nil) && len(req.Data) > 0 && json.Unmarshal(req.Data, &d) != nil {
		d.Material, d.GTIN, d.Quantity, d.Unit = "", "", nil, ""
	}
	// The quantity a lot is received with, when the command moves no
	// material (a produced lot's is its production's).
	withQuantity := func(n *event.Node) {
		if !flow && n.Kind == "lot" && d.Quantity != nil && d.Unit != "" {
			n.Quantity, n.Unit = d.Quantity, d.Unit
		}
	}
	if dc := req.Declare; dc != nil {
		n := event.Node{ID: req.Subject, Kind: dc.Kind, Material: cmp.Or(dc.Material, d.Material), GTIN: cmp.Or(dc.GTIN, d.GTIN),
			Supplier: dc.Supplier, SupplierLot: dc.SupplierLot, Customer: dc.Customer, Description: dc.Description,
			LotSource: dc.LotSource, Landing: dc.Landing, Destination: dc.Destination}
		withQuantity(&n)
		p.Nodes = append(p.Nodes, n)
		p.IdentitySource = genealogySource(dc.IdentitySource)
	}
	// A model that says what its subjects are declares the subject of a
	// transition that moves material, and a lot whose command's data names
	// its material (a receipt: material, quantity, unit), unless the
	// request declared it: the lot graph then knows a batch as a batch and
	// a received lot with its quantity.
	if req.Declare == nil && req.Model.kind != "" && (flow || (req.Model.kind == "lot" && d.Material != "")) {
		n := event.Node{ID: req.Subject, Kind: req.Model.kind, Material: d.Material, GTIN: d.GTIN}
		withQuantity(&n)
		p.Nodes = append(p.Nodes, n)
	}
	if !flow {
		return nil
	}
	links := make([]audit.Link, 0, len(req.Consume)+len(req.Produce))
	for _, c := range req.Consume {
		if c.Container != "" {
			// A whole container: a link, no quantity.
			links = append(links, audit.Link{From: event.ContainerStream(c.Container), To: req.Subject, Kind: c.Kind})
			continue
		}
		from := event.LotStream(c.Lot)
		links = append(links, audit.Link{From: from, To: req.Subject, Kind: consumptionKind(c)})
		p.Quantities = append(p.Quantities, event.Quantity{From: from, To: req.Subject, Quantity: c.Quantity, Unit: c.Unit})
	}
	for _, pr := range req.Produce {
		to := event.LotStream(pr.Lot)
		q := pr.Quantity
		links = append(links, audit.Link{From: req.Subject, To: to, Kind: productionKind(pr)})
		p.Quantities = append(p.Quantities, event.Quantity{From: req.Subject, To: to, Quantity: q, Unit: pr.Unit})
		p.Nodes = append(p.Nodes, event.Node{ID: to, Kind: "lot", Material: pr.Material, GTIN: pr.GTIN, Quantity: &q, Unit: pr.Unit})
	}
	if req.Declare == nil || len(req.Consume) > 0 {
		p.IdentitySource = identitySource(req)
	}
	return links
}

// identitySource says how the identities of the consumed lots were
// established: "scan" when every one was scanned (evidence from a scanner
// whose identity is the lot), "device" when each was scanned or read by a
// device, "manual" otherwise. Lots the transition makes are named by the
// system: a transition that only makes lots is "device".
func identitySource(req *Request) string {
	out := "device"
	allScanned := true
	for _, c := range req.Consume {
		src := gate.Source("")
		for _, ev := range req.Evidence {
			if ev.Identity == c.Lot || ev.Identity == event.LotStream(c.Lot) {
				src = ev.Source
				if src == gate.SourceScanner {
					break
				}
			}
		}
		switch src {
		case gate.SourceScanner:
		case gate.SourceDevice:
			allScanned = false
		default:
			return "manual"
		}
	}
	if len(req.Consume) > 0 && allScanned {
		out = "scan"
	}
	return out
}

// productionAppends returns the first record of every lot the transition
// makes: the lot model's produce transition, run as part of this one.
func productionAppends(req *Request) ([]storage.StreamAppend, error) {
	out := make([]storage.StreamAppend, 0, len(req.Produce))
	for _, p := range req.Produce {
		data, err := json.Marshal(event.Receipt{Material: p.Material, Quantity: p.Quantity, Unit: p.Unit, Expiry: p.Expiry})
		if err != nil {
			return nil, fmt.Errorf("mes: encode production of %s: %w", p.Lot, err)
		}
		payload, err := json.Marshal(event.Transition{CommandID: req.ID, Model: "lot", ModelVersion: 1,
			Command: CmdProduce, From: FactNew, To: LotQuarantine, Refs: map[string]string{"from": req.Subject}, Data: data})
		if err != nil {
			return nil, fmt.Errorf("mes: encode production of %s: %w", p.Lot, err)
		}
		out = append(out, storage.StreamAppend{Stream: event.LotStream(p.Lot), ExpectedVersion: 0,
			Events: []storage.Event{{Type: event.LotProduced, Actor: req.Actor, Payload: payload}}})
	}
	return out, nil
}
