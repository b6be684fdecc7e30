package mes

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// The streams that hold facts gates read. Every fact has its own stream, so
// every fact has its own audit trail.
func LotStream(id string) string       { return "lot/" + id }
func EquipmentStream(id string) string { return "equipment/" + id }
func PersonStream(id string) string    { return "person/" + id }

// Event types of the fact streams. Each is the own event of a transition of
// the fact models (LotModel, EquipmentModel, PersonModel), and carries its
// fact in the Data of the transition payload, as noted.
const (
	EventLotReceived     = "lot.received"      // LotReceived
	EventLotReleased     = "lot.released"      // {}
	EventLotRejected     = "lot.rejected"      // {}
	EventLotHeld         = "lot.held"          // {"reason"}
	EventLotHoldReleased = "lot.hold-released" // {}
	EventLotConsumed     = "lot.consumed"      // Consumption, written with a consuming transition

	EventEquipmentRegistered = "equipment.registered" // {"status"}
	EventEquipmentStatus     = "equipment.status"     // {"status"}
	EventEquipmentCalibrated = "equipment.calibrated" // {"status","due"}
	EventEquipmentCleaned    = "equipment.cleaned"    // {"status","until"}

	EventPersonRegistered  = "person.registered"   // {"name"}
	EventPersonRoleGranted = "person.role-granted" // {"role"}
	EventPersonRoleRevoked = "person.role-revoked" // {"role"}
	EventPersonTrained     = "person.trained"      // {"skill","until"}

	EventExceptionOpened = "exception.opened" // {"id","kind","summary"}
	EventExceptionClosed = "exception.closed" // {"id"}
)

// LotReceived is the payload of EventLotReceived.
type LotReceived struct {
	Material string          `json:"material"`
	Quantity decimal.Decimal `json:"quantity"`
	Unit     string          `json:"unit"`
	Expiry   time.Time       `json:"expiry,omitzero"`
}

// Consumption is a quantity of a lot taken into a subject.
type Consumption struct {
	Lot      string          `json:"lot"`
	Quantity decimal.Decimal `json:"quantity"`
	Unit     string          `json:"unit"`
	Into     string          `json:"into,omitempty"` // the consuming subject; set by the engine
}

// factPayload is the union of the fields fact events carry.
type factPayload struct {
	LotReceived
	Reason  string    `json:"reason"`
	Status  string    `json:"status"`
	Due     time.Time `json:"due"`
	Until   time.Time `json:"until"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Skill   string    `json:"skill"`
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Summary string    `json:"summary"`
}

// streamFacts implements gate.Facts from the store and remembers the version
// of every stream it read, so that the append can assert them.
type streamFacts struct {
	store   storage.Store
	subject string
	// loaded holds the records of every stream read; the subject's are
	// given up front.
	loaded map[string][]audit.Record
}

func newStreamFacts(s storage.Store, subject string, subjectRecords []audit.Record) *streamFacts {
	return &streamFacts{store: s, subject: subject, loaded: map[string][]audit.Record{subject: subjectRecords}}
}

func (f *streamFacts) load(ctx context.Context, stream string) ([]audit.Record, error) {
	if recs, ok := f.loaded[stream]; ok {
		return recs, nil
	}
	recs, err := f.store.Load(ctx, stream, 1)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	f.loaded[stream] = recs
	return recs, nil
}

// reads returns the version of every stream read other than the subject.
func (f *streamFacts) reads() []storage.StreamVersion {
	out := make([]storage.StreamVersion, 0, len(f.loaded))
	for s, recs := range f.loaded {
		if s != f.subject {
			out = append(out, storage.StreamVersion{Stream: s, Version: int64(len(recs))})
		}
	}
	return out
}

// decodeFact reads the fact an event carries in its Data.
func decodeFact(r *audit.Record) (factPayload, error) {
	var p struct {
		Data factPayload `json:"data"`
	}
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return factPayload{}, fmt.Errorf("%s v%d (%s): %w", r.Stream, r.Version, r.Type, err)
	}
	return p.Data, nil
}

func (f *streamFacts) Lot(ctx context.Context, id string) (gate.Lot, error) {
	recs, err := f.load(ctx, LotStream(id))
	if err != nil || len(recs) == 0 {
		return gate.Lot{}, unknown(err, "lot", id)
	}
	lot := gate.Lot{ID: id, Status: gate.LotQuarantine}
	for i := range recs {
		p, err := decodeFact(&recs[i])
		if err != nil {
			return gate.Lot{}, err
		}
		switch recs[i].Type {
		case EventLotReceived:
			lot.Material, lot.Available, lot.Unit, lot.Expiry = p.Material, p.Quantity, p.Unit, p.Expiry
		case EventLotReleased:
			lot.Status = gate.LotReleased
		case EventLotRejected:
			lot.Status = gate.LotRejected
		case EventLotHeld:
			lot.OnHold, lot.HoldReason = true, p.Reason
		case EventLotHoldReleased:
			lot.OnHold, lot.HoldReason = false, ""
		case EventLotConsumed:
			lot.Available = lot.Available.Sub(p.Quantity)
		}
	}
	return lot, nil
}

func (f *streamFacts) Equipment(ctx context.Context, id string) (gate.Equipment, error) {
	recs, err := f.load(ctx, EquipmentStream(id))
	if err != nil || len(recs) == 0 {
		return gate.Equipment{}, unknown(err, "equipment", id)
	}
	eq := gate.Equipment{ID: id, Status: gate.EquipmentAvailable, Calibration: gate.CalibrationUnknown, Clean: gate.Dirty}
	for i := range recs {
		p, err := decodeFact(&recs[i])
		if err != nil {
			return gate.Equipment{}, err
		}
		switch recs[i].Type {
		case EventEquipmentRegistered, EventEquipmentStatus:
			if p.Status != "" {
				eq.Status = gate.EquipmentStatus(p.Status)
			}
		case "equipment.returned":
			eq.Status = gate.EquipmentAvailable
		case EventEquipmentCalibrated:
			eq.Calibration, eq.CalibrationDue = gate.CalibrationStatus(p.Status), p.Due
		case EventEquipmentCleaned:
			eq.Clean, eq.CleanUntil = gate.CleanStatus(p.Status), p.Until
		}
	}
	return eq, nil
}

func (f *streamFacts) Person(ctx context.Context, id string) (gate.Person, error) {
	recs, err := f.load(ctx, PersonStream(id))
	if err != nil || len(recs) == 0 {
		return gate.Person{}, unknown(err, "person", id)
	}
	p := gate.Person{ID: id, Training: map[string]time.Time{}}
	for i := range recs {
		e, err := decodeFact(&recs[i])
		if err != nil {
			return gate.Person{}, err
		}
		switch recs[i].Type {
		case EventPersonRegistered:
			p.Name = e.Name
		case EventPersonRoleGranted:
			p.Roles = append(p.Roles, e.Role)
		case EventPersonRoleRevoked:
			for j, r := range p.Roles {
				if r == e.Role {
					p.Roles = append(p.Roles[:j], p.Roles[j+1:]...)
					break
				}
			}
		case EventPersonTrained:
			p.Training[e.Skill] = e.Until
		}
	}
	return p, nil
}

func (f *streamFacts) OpenExceptions(ctx context.Context, subject string) ([]gate.Exception, error) {
	recs, err := f.load(ctx, subject)
	if err != nil {
		return nil, err
	}
	var open []gate.Exception
	for i := range recs {
		if t := recs[i].Type; t != EventExceptionOpened && t != EventExceptionClosed {
			continue
		}
		p, err := decodeFact(&recs[i])
		if err != nil {
			return nil, err
		}
		if recs[i].Type == EventExceptionOpened {
			open = append(open, gate.Exception{ID: p.ID, Kind: p.Kind, Summary: p.Summary, Opened: recs[i].Time})
			continue
		}
		for j, e := range open {
			if e.ID == p.ID {
				open = append(open[:j], open[j+1:]...)
				break
			}
		}
	}
	return open, nil
}

// Steps reads step events of the subject: the step lifecycle's recorded
// events, each naming its step in the payload.
func (f *streamFacts) Steps(ctx context.Context, subject string) ([]gate.Step, error) {
	recs, err := f.load(ctx, subject)
	if err != nil {
		return nil, err
	}
	var out []gate.Step
	for i := range recs {
		var state gate.StepState
		switch recs[i].Type {
		case "step.started":
			state = gate.StepInProgress
		case "step.completed":
			state = gate.StepComplete
		case "step.verified":
			state = gate.StepVerified
		default:
			continue
		}
		var p transitionPayload
		if err := json.Unmarshal(recs[i].Payload, &p); err != nil {
			return nil, fmt.Errorf("%s v%d (%s): %w", recs[i].Stream, recs[i].Version, recs[i].Type, err)
		}
		out = append(out, gate.Step{ID: p.Step, State: state, Performer: recs[i].Actor})
	}
	return out, nil
}

func (f *streamFacts) History(ctx context.Context, subject string) ([]gate.Event, error) {
	recs, err := f.load(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]gate.Event, len(recs))
	for i, r := range recs {
		out[i] = gate.Event{Type: gate.EventType(r.Type), Actor: r.Actor, Time: r.Time}
	}
	return out, nil
}

// unknown turns an empty stream into gate.ErrUnknown and passes a load
// failure on.
func unknown(err error, what, id string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s %q: %w", what, id, gate.ErrUnknown)
}
