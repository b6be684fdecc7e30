package gate

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/shopspring/decimal"
)

// State is a state of the engine's state machine, such as "ready".
type State string

// Command is the name of the command or trigger that asks for a transition,
// such as "complete-step".
type Command string

// Transition is the move an attempt asks for.
type Transition struct {
	From    State
	To      State
	Command Command
}

// Source says where a piece of evidence came from: interlock.Source, the
// one type device readings carry too.
type Source = interlock.Source

// The sources of evidence (interlock's).
const (
	SourceDevice  = interlock.SourceDevice  // read from an instrument over its protocol
	SourceScanner = interlock.SourceScanner // scanned from a barcode or tag
	SourceManual  = interlock.SourceManual  // typed by a person
	SourceSystem  = interlock.SourceSystem  // derived by Interlock itself
)

// Evidence is one piece of evidence an attempt carries: a scan (Identity), a
// measured value (Value and Unit, with HasValue set), or both.
type Evidence struct {
	// Name is the role the model gives the evidence, such as "lot-scan" or
	// "net-weight"; gates find evidence by it. An attempt should carry one
	// piece of evidence per name: gates fail on duplicates rather than guess.
	Name       string
	Identity   string          // scanned id, such as "lot-L7"; "" when none was scanned
	HasValue   bool            // Value and Unit hold a measurement; without it Value is ignored
	Value      decimal.Decimal // exact measured value
	Unit       string          // unit of Value, such as "kg"; compared as written
	Source     Source          // where the evidence came from
	Instrument string          // id of the instrument that measured or scanned it; "" for manual entry
	Stable     bool            // the instrument reported the value as settled
	// Raw is the instrument's frame the value was read from, as it sent
	// it (device.Reading.RawText: an MT-SICS line as text, a binary frame
	// in hex), so that the record keeps the original beside the value;
	// "" when there is none. At most MaxRawBytes of valid UTF-8.
	Raw string `json:",omitempty"`
	// At is when the instrument gave the reading (device.Reading.Time),
	// in UTC; zero when not said. The record's own time is when the
	// command was recorded.
	At time.Time `json:",omitzero"`
}

// MaxRawBytes bounds Evidence.Raw.
const MaxRawBytes = 1024

// Attempt is what a gate judges: who asks for which transition on what, with
// which evidence, when. The engine fills it; gates only read it.
type Attempt struct {
	Actor      string   // id of the person or system asking
	Roles      []string // roles the actor holds at Time, filled by the engine
	Transition Transition
	Subject    string // the stream acted on, such as "batch-B42"
	// Refs are the named references the model binds for this transition,
	// such as "lot" → "lot-L7", "equipment" → "SC-01", "step" → "S10".
	Refs     map[string]string
	Evidence []Evidence
	// Data is what the command records with the transition, as the caller
	// gave it (a JSON object, or empty): a gate may check it, as the
	// equipment model checks a calibration's. Gates must not change it.
	Data json.RawMessage
	// Consume is what the command takes into the subject, as the request
	// gives it (mes.Request.Consume): a gate may check which lots, and
	// how much of each.
	Consume []Consumption
	Time    time.Time // system time of the attempt, from the engine's clock
}

// Consumption is a quantity of a lot, or a whole container, that an
// attempt takes into its subject.
type Consumption struct {
	Lot       string // the lot's id, such as "L7"; "" for a container
	Container string // a container moved whole; "" for a lot
	Quantity  decimal.Decimal
	Unit      string
}

// ID says where a gate finds the id of the thing it checks (a lot, a piece
// of equipment, an identity to match). Make one with FromRef, FromEvidence or
// Literal; the zero ID is invalid and gate constructors reject it.
type ID struct {
	kind idKind
	name string
}

type idKind int

const (
	idNone idKind = iota
	idRef
	idEvidence
	idLiteral
)

// FromRef reads the id from the attempt's reference of that name
// (Attempt.Refs[name]). An attempt without it fails with CodeRefMissing.
func FromRef(name string) ID { return ID{kind: idRef, name: name} }

// FromEvidence reads the id from the Identity of the attempt's evidence of
// that name. An attempt without that evidence, with several, or with one
// that has no identity fails with CodeEvidenceMissing, CodeEvidenceDuplicate
// or CodeEvidenceNoIdentity.
func FromEvidence(name string) ID { return ID{kind: idEvidence, name: name} }

// Literal is a fixed id, the same for every attempt.
func Literal(id string) ID { return ID{kind: idLiteral, name: id} }

// String describes where the id comes from, for messages and errors.
func (id ID) String() string {
	switch id.kind {
	case idRef:
		return fmt.Sprintf("reference %q", id.name)
	case idEvidence:
		return fmt.Sprintf("identity of evidence %q", id.name)
	case idLiteral:
		return fmt.Sprintf("%q", id.name)
	}
	return "no id"
}

func (id ID) validate() error {
	switch {
	case id.kind == idNone:
		return errors.New("id is not set (use FromRef, FromEvidence or Literal)")
	case id.kind == idLiteral && id.name == "":
		return errors.New("literal id is empty")
	case id.name == "":
		return fmt.Errorf("%s: name is empty", id)
	}
	return nil
}

// resolve returns the id for a, or the reason it cannot be found. what
// names the thing for the message, such as "lot".
func (id ID) resolve(a *Attempt, what string) (string, *Reason) {
	switch id.kind {
	case idRef:
		v, ok := a.Refs[id.name]
		if !ok || v == "" {
			return "", &Reason{Code: CodeRefMissing,
				Message: fmt.Sprintf("the attempt has no reference %q naming the %s", id.name, what)}
		}
		return v, nil
	case idEvidence:
		e, r := findEvidence(a, id.name)
		if r != nil {
			return "", r
		}
		if e.Identity == "" {
			return "", &Reason{Code: CodeEvidenceNoIdentity,
				Message: fmt.Sprintf("evidence %s carries no scanned identity of the %s", id.name, what)}
		}
		return e.Identity, nil
	case idLiteral:
		return id.name, nil
	}
	// Constructors reject the zero ID; a failing reason keeps a gate built
	// some other way closed.
	return "", &Reason{Code: CodeRefMissing, Message: fmt.Sprintf("the gate does not say where to find the %s", what)}
}

// findEvidence returns the one piece of evidence named name, or the reason
// there is not exactly one.
func findEvidence(a *Attempt, name string) (Evidence, *Reason) {
	var found Evidence
	n := 0
	for _, e := range a.Evidence {
		if e.Name == name {
			found = e
			n++
		}
	}
	switch n {
	case 0:
		return Evidence{}, &Reason{Code: CodeEvidenceMissing,
			Message: fmt.Sprintf("the attempt carries no evidence %s", name)}
	case 1:
		return found, nil
	}
	return Evidence{}, &Reason{Code: CodeEvidenceDuplicate,
		Message: fmt.Sprintf("the attempt carries %d pieces of evidence %s where one is expected", n, name)}
}

// formatTime shows a date alone when t is midnight UTC, as expiry and
// validity dates usually are, and an RFC 3339 instant otherwise.
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}
