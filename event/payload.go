package event

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
)

// Payload is one of the payloads of this package: *Transition, *Signature,
// *Consumed or *Marker.
type Payload interface{ payload() }

// Transition is the payload of a transition's own record, and of a denied
// attempt (type Denied). The other records of an allowed transition (its
// extra types) carry the same payload.
type Transition struct {
	CommandID    string `json:"command_id"`
	Model        string `json:"model"`
	ModelVersion int    `json:"model_version"`
	Step         string `json:"step,omitempty"`
	// Critical marks a critical step (a critical tracking event of FSMA
	// 204); the lot graph reports it.
	Critical bool              `json:"critical,omitempty"`
	Command  gate.Command      `json:"command"`
	From     gate.State        `json:"from"`
	To       gate.State        `json:"to,omitempty"` // empty for a denied attempt
	Refs     map[string]string `json:"refs,omitempty"`
	Reasons  []gate.Reason     `json:"reasons,omitempty"` // why it was denied
	Data     json.RawMessage   `json:"data,omitempty"`    // the model's content
	Override *Override         `json:"override,omitempty"`
	// IdentitySource, Quantities and Nodes are the material flow of an
	// allowed transition, as the lot graph reads it: how the identities of
	// its links were established, the quantity along each link, and what
	// the things it names are.
	IdentitySource string     `json:"identity_source,omitempty"`
	Quantities     []Quantity `json:"quantities,omitempty"`
	Nodes          []Node     `json:"nodes,omitempty"`
	// Location is where the transition happened and where its things are
	// after it; References are the business documents it belongs to.
	Location   *Location   `json:"location,omitempty"`
	References []Reference `json:"references,omitempty"`
}

// Place is a place of the plant or of a trading partner: a GS1 GLN (13
// digits, its check digit right) with an optional extension (GS1 AI 254:
// a dock, room, line or station within it), or, without a GLN, an id of
// the site's own. Description is the place as a person reads it (FSMA 204
// "location description": business name and address).
type Place struct {
	GLN         string `json:"gln,omitempty"`
	Extension   string `json:"ext,omitempty"`
	ID          string `json:"id,omitempty"`
	Description string `json:"description,omitempty"`
}

// Location is where a transition happened: ReadPoint is where it was
// observed (the station, line or equipment), BizLocation where its things
// are after it (the site, area or room). EPCIS exports them as readPoint
// and bizLocation.
type Location struct {
	ReadPoint   *Place `json:"read_point,omitempty"`
	BizLocation *Place `json:"biz_location,omitempty"`
}

// Reference is a business document a transition belongs to (FSMA 204
// "reference document"; an EPCIS business transaction): its type, one of
// ReferenceTypes, and its number.
type Reference struct {
	Type   string `json:"type"`
	Number string `json:"number"`
}

// ReferenceTypes are the document types a Reference may name: the
// business transaction types of GS1's Core Business Vocabulary (purchase
// order, despatch advice, invoice, bill of lading, production order,
// receiving advice, return authorisation, certificate).
var ReferenceTypes = []string{"po", "desadv", "inv", "bol", "prodorder", "recadv", "rma", "cert"}

// Landing is what a first land-based receiver records of food caught at
// sea (FSMA 204, 21 CFR 1.1335): the harvest dates and area of the trip,
// the vessel, and when the catch was landed.
type Landing struct {
	HarvestStart time.Time `json:"harvest_start"`
	HarvestEnd   time.Time `json:"harvest_end"`
	HarvestArea  string    `json:"harvest_area"` // such as NMFS ocean coordinates
	Vessel       string    `json:"vessel,omitempty"`
	Landed       time.Time `json:"landed"`
}

// Override is what an allowed transition records of the override that let
// it pass: why, the failures it overrode, and the deviation it opened.
type Override struct {
	Reason     string        `json:"reason"`
	Overridden []gate.Reason `json:"overridden"`
	Exception  string        `json:"exception"`
}

// Quantity is the quantity that moved along one link of a transition,
// matched to the link by From and To.
type Quantity struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	Quantity decimal.Decimal `json:"quantity"`
	Unit     string          `json:"unit"`
}

// Node declares what a thing a transition names is. Later declarations of
// a node fill the fields earlier ones left empty; they never overwrite one.
type Node struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // "lot", "batch", "container" or "shipment"
	// Material and GTIN (14 digits, when the material has one) say what a
	// lot is.
	Material string `json:"material,omitempty"`
	GTIN     string `json:"gtin,omitempty"`
	// Supplier and SupplierLot are the supplier and the supplier's own lot
	// number of a received lot.
	Supplier    string `json:"supplier,omitempty"`
	SupplierLot string `json:"supplier_lot,omitempty"`
	// Customer is the customer a shipment went to.
	Customer string `json:"customer,omitempty"`
	// Quantity and Unit are the quantity a lot was received or made with.
	Quantity *decimal.Decimal `json:"quantity,omitempty"`
	Unit     string           `json:"unit,omitempty"`
	// Description is the product as a person reads it (FSMA 204 "product
	// description": name, brand, pack size).
	Description string `json:"description,omitempty"`
	// LotSource is where the lot's number was assigned (FSMA 204
	// "traceability lot code source"): the supplier's site for a received
	// lot.
	LotSource *Place `json:"lot_source,omitempty"`
	// Landing is the catch a first land-based receiver received.
	Landing *Landing `json:"landing,omitempty"`
	// Destination is where a shipment goes (FSMA 204 "immediate
	// subsequent recipient"; EPCIS destination location).
	Destination *Place `json:"destination,omitempty"`
}

// Signature is the payload of a SignatureApplied record: one electronic
// signature of the transition recorded by command CommandID, whose own
// record is version Signs of the same stream.
type Signature struct {
	CommandID string               `json:"command_id"`
	Signs     int64                `json:"signs"`
	Signature *signature.Signature `json:"signature"`
}

// Consumed is the payload of a LotConsumed record: the quantity of the lot
// that command CommandID took.
type Consumed struct {
	CommandID string      `json:"command_id"`
	Data      Consumption `json:"data"`
}

// Consumption is a quantity of a lot taken into a subject.
type Consumption struct {
	Lot string `json:"lot,omitempty"`
	// Container, instead of Lot, moves a whole container (a pallet or
	// case, as packed) into the subject: no quantity leaves any lot, and
	// Quantity and Unit are empty. Kind is LinkShipped or LinkTransferred.
	Container string          `json:"container,omitempty"`
	Quantity  decimal.Decimal `json:"quantity"`
	Unit      string          `json:"unit"`
	Into      string          `json:"into,omitempty"` // the consuming subject; set by the engine
	// Kind is the link from the lot to the subject: LinkConsumed (the
	// default, ""), LinkMerged, LinkShipped, LinkPacked or LinkTransferred.
	// Whatever the kind, the quantity leaves the lot.
	Kind string `json:"kind,omitempty"`
}

// Marker mirrors an exception's opening or closing on the subject it
// concerns (records ExceptionOpened and ExceptionClosed outside the
// exception's own stream), so that gates and release readiness, which
// read the subject, see it: Data holds the exception's id, kind, summary
// and consequence (an ExceptionContext, or {"id"} for a closing).
type Marker struct {
	CommandID string          `json:"command_id"`
	Data      json.RawMessage `json:"data"`
}

// Receipt is the Data of LotReceived and LotProduced: what a lot is and how
// much of it there was.
type Receipt struct {
	Material string          `json:"material"`
	Quantity decimal.Decimal `json:"quantity"`
	Unit     string          `json:"unit"`
	Expiry   time.Time       `json:"expiry,omitzero"`
}

// RecordRef names one record: the cause of an exception, such as the
// denied attempt a rule turned into a deviation.
type RecordRef struct {
	Stream  string `json:"stream"`
	Version int64  `json:"version"`
}

// ExceptionContext is the Data of an exception's opening: what it is,
// whom it concerns, who or what opened it, and what it does to its subject
// (Consequence: "none", "block" or "hold"; empty is "none"). An override
// writes Source "override" and From, the state it overrode in.
type ExceptionContext struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Summary     string          `json:"summary"`
	Subject     string          `json:"subject"`
	Step        string          `json:"step,omitempty"`
	Source      string          `json:"source"`
	Consequence string          `json:"consequence,omitempty"`
	Cause       *RecordRef      `json:"cause,omitempty"`
	Details     json.RawMessage `json:"details,omitempty"`
	From        gate.State      `json:"from,omitempty"`
}

func (*Transition) payload() {}
func (*Signature) payload()  {}
func (*Consumed) payload()   {}
func (*Marker) payload()     {}
