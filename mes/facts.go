package mes

import (
	"bytes"
	"context"
	"encoding/json"
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

// Event types of the fact streams. Each is the own event of a transition of
// the fact models (LotModel, EquipmentModel, PersonModel), and carries its
// fact in the Data of the transition payload, as noted.
const ()

// factPayload is the union of the fields fact events carry.
type factPayload struct {
	event.Receipt
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
	// Consequence is an exception marker's: what opening it does to the
	// subject.
	Consequence string `json:"consequence"`
	// MinWeight and MinWeightUnit are a scale's minimum weight, which each
	// calibration determines (USP <41>): a calibration without them leaves
	// the scale with none set.
	MinWeight     decimal.Decimal `json:"min_weight"`
	MinWeightUnit string          `json:"min_weight_unit"`
	// Location is the place equipment is registered at (register and
	// status data).
	Location *event.Place `json:"location"`

	quantities []event.Quantity // the transition's material flow, beside its data
}

// streamFacts implements gate.Facts from the store and remembers the version
// of every stream it read, so that the append can assert them. Within one
// attempt every read of a stream sees the same version.
type streamFacts struct {
	store storage.Reader
	// cache, when set, holds facts folded earlier; unless fresh is set they
	// are trusted without reading the store (the append asserts their
	// version). fresh reads every fact stream from its cached version on.
	cache          *cache
	fresh          bool
	subject        string
	subjectRecords []audit.Record
	// loaded holds the records of other streams read whole.
	loaded map[string][]audit.Record
	// facts holds the facts read in this attempt; a command reads a few,
	// which factsBuf holds without growing a slice.
	facts    []readFact
	factsBuf [6]readFact
}

// readFact is a fact read in an attempt.
type readFact struct {
	key factKey
	factEntry
}

// RecordReader is what the engine's facts give gates beyond gate.Facts:
// the records of a stream as the attempt read them. The subject's are those
// the append asserts; another stream read whole is asserted at its version
// too. A gate that needs whole records type-asserts it.
type RecordReader interface {
	Records(ctx context.Context, stream string) ([]audit.Record, error)
}

// Facts is the fact set of one attempt: what gates read, with every
// stream's version remembered.
type Facts interface {
	gate.Facts
	RecordReader
}

// NewFacts returns the facts the engine's gates read, over store, for an
// attempt on subject whose records are recs (which it reads as they are,
// without loading them again). It lets a caller evaluate gates outside a
// command, as release readiness does.
func NewFacts(store storage.Reader, subject string, recs []audit.Record) Facts {
	return newStreamFacts(store, subject, recs)
}

// Records implements RecordReader.
func (f *streamFacts) Records(ctx context.Context, stream string) ([]audit.Record, error) {
	return f.load(ctx, stream)
}

func newStreamFacts(s storage.Reader, subject string, subjectRecords []audit.Record) *streamFacts {
	f := &streamFacts{}
	f.init(s, subject, subjectRecords)
	return f
}

// init makes f the facts of an attempt on subject over s.
func (f *streamFacts) init(s storage.Reader, subject string, subjectRecords []audit.Record) {
	*f = streamFacts{store: s, subject: subject, subjectRecords: subjectRecords}
	f.facts = f.factsBuf[:0]
}

func (f *streamFacts) load(ctx context.Context, stream string) ([]audit.Record, error) {
	if stream == f.subject {
		return f.subjectRecords, nil
	}
	if recs, ok := f.loaded[stream]; ok {
		return recs, nil
	}
	recs, err := f.store.Load(ctx, stream, 1)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	if f.loaded == nil {
		f.loaded = map[string][]audit.Record{}
	}
	f.loaded[stream] = recs
	return recs, nil
}

// version returns the version at which stream was read in this attempt.
func (f *streamFacts) version(stream string) int64 {
	if k, ok := factKeyOf(stream); ok {
		for i := range f.facts {
			if f.facts[i].key == k {
				return f.facts[i].version
			}
		}
	}
	return int64(len(f.loaded[stream]))
}

// reads appends to out the version of every stream read other than the
// subject: an attempt calls it once, for its append.
func (f *streamFacts) reads(out []storage.StreamVersion) []storage.StreamVersion {
	for s, recs := range f.loaded {
		out = append(out, storage.StreamVersion{Stream: s, Version: int64(len(recs))})
	}
	for i := range f.facts {
		s := f.facts[i].stream
		if _, dup := f.loaded[s]; !dup && s != f.subject {
			out = append(out, storage.StreamVersion{Stream: s, Version: f.facts[i].version})
		}
	}
	return out
}

// The kinds of fact stream.
type factKind int

const (
	factNone factKind = iota
	factLot
	factEquipment
	factPerson
)

// factKey names a fact stream without building its name.
type factKey struct {
	kind factKind
	id   string
}

func (k factKey) stream() string {
	switch k.kind {
	case factLot:
		return event.LotStream(k.id)
	case factEquipment:
		return event.EquipmentStream(k.id)
	case factPerson:
		return event.PersonStream(k.id)
	}
	return ""
}

// factKeyOf parses a fact stream's name.
func factKeyOf(stream string) (factKey, bool) {
	for _, p := range [...]struct {
		prefix string
		kind   factKind
	}{{"lot/", factLot}, {"equipment/", factEquipment}, {"person/", factPerson}} {
		if id, ok := strings.CutPrefix(stream, p.prefix); ok {
			return factKey{p.kind, id}, true
		}
	}
	return factKey{}, false
}

// fact returns the fact k as of this attempt: from the records already
// loaded, from the cache, or read from the store (only what was appended
// after the cached version).
func (f *streamFacts) fact(ctx context.Context, k factKey) (factEntry, error) {
	for i := range f.facts {
		if f.facts[i].key == k {
			return f.facts[i].factEntry, nil
		}
	}
	var e factEntry
	recs, whole := []audit.Record(nil), false
	if f.subject != "" && factKeyMatches(k, f.subject) {
		recs, whole = f.subjectRecords, true
	} else if f.loaded != nil {
		recs, whole = f.loaded[k.stream()]
	}
	if whole {
		// The subject, or a stream read whole: its records decide.
		e = newFactEntry(k)
		for i := range recs {
			if err := e.apply(k.kind, &recs[i]); err != nil {
				return factEntry{}, err
			}
		}
		e.version = int64(len(recs))
	} else {
		cached, ok := factEntry{}, false
		if f.cache != nil {
			cached, ok = f.cache.fact(k)
		}
		if ok {
			e = cached
		} else {
			e = newFactEntry(k)
		}
		if !ok || f.fresh {
			recs, err := f.store.Load(ctx, e.stream, e.version+1)
			if err != nil {
				return factEntry{}, fmt.Errorf("load %s: %w", e.stream, err)
			}
			if len(recs) > 0 {
				for i := range recs {
					if err := e.apply(k.kind, &recs[i]); err != nil {
						return factEntry{}, err
					}
				}
				e.version = recs[len(recs)-1].Version
			}
			if f.cache != nil && e.version > 0 {
				f.cache.putFact(k, e)
			}
		}
	}
	f.facts = append(f.facts, readFact{key: k, factEntry: e})
	return e, nil
}

// factKeyMatches reports whether stream is the stream of k.
func factKeyMatches(k factKey, stream string) bool {
	sk, ok := factKeyOf(stream)
	return ok && sk == k
}

func newFactEntry(k factKey) factEntry {
	e := factEntry{stream: k.stream()}
	id := k.id
	switch k.kind {
	case factLot:
		e.lot = &gate.Lot{ID: id, Status: gate.LotQuarantine}
	case factEquipment:
		e.eq = &gate.Equipment{ID: id, Status: gate.EquipmentAvailable, Calibration: gate.CalibrationUnknown, Clean: gate.Dirty}
	case factPerson:
		e.person = &gate.Person{ID: id, Training: map[string]time.Time{}}
	}
	return e
}

// decodeFact reads the fact an event carries in its Data.
func decodeFact(r *audit.Record) (factPayload, error) {
	var p struct {
		Data       factPayload      `json:"data"`
		Quantities []event.Quantity `json:"quantities"`
	}
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return factPayload{}, fmt.Errorf("%s v%d (%s): %w", r.Stream, r.Version, r.Type, err)
	}
	p.Data.quantities = p.Quantities
	return p.Data, nil
}

// flowed sums the quantities of p that left (out) or reached stream, in
// unit, or in the unit of the first of them when unit is empty, converting
// each exactly (quantity.Convert). It returns an error for a quantity in a
// unit that cannot be converted: quantities are never added raw.
func (p *factPayload) flowed(stream string, out bool, unit string) (decimal.Decimal, string, error) {
	sum := decimal.Zero
	for _, q := range p.quantities {
		if (out && q.From == stream) || (!out && q.To == stream) {
			if unit == "" {
				unit = q.Unit
			}
			c, ok := quantity.Convert(q.Quantity, q.Unit, unit)
			if !ok {
				return decimal.Zero, "", fmt.Errorf("%s %s cannot be added to a quantity in %s", q.Quantity, q.Unit, unit)
			}
			sum = sum.Add(c)
		}
	}
	return sum, unit, nil
}

// apply folds one record of a fact stream into e. Person's map and slice
// are changed in place: callers clone a cached entry first.
func (e *factEntry) apply(kind factKind, r *audit.Record) error {
	switch kind {
	case factLot:
		return e.applyLot(r)
	case factEquipment:
		return e.applyEquipment(r)
	case factPerson:
		return e.applyPerson(r)
	}
	return nil
}

func (e *factEntry) applyLot(r *audit.Record) error {
	switch r.Type {
	case event.LotReceived, event.LotProduced, event.LotSplit, event.LotMerged, event.LotReleased, event.LotRejected,
		event.LotHeld, event.LotHoldReleased, event.LotConsumed:
	default:
		return nil
	}
	p, err := decodeFact(r)
	if err != nil {
		return err
	}
	changed := *e.lot
	lot := &changed
	e.lot = lot
	switch r.Type {
	case event.LotReceived, event.LotProduced:
		lot.Material, lot.Available, lot.Unit, lot.Expiry = p.Material, p.Quantity, p.Unit, p.Expiry
	case event.LotSplit:
		q, _, err := p.flowed(r.Stream, true, lot.Unit)
		if err != nil {
			return fmt.Errorf("%s v%d: split: %w", r.Stream, r.Version, err)
		}
		lot.Available = lot.Available.Sub(q)
	case event.LotMerged:
		q, unit, err := p.flowed(r.Stream, false, "")
		if err != nil {
			return fmt.Errorf("%s v%d: merge: %w", r.Stream, r.Version, err)
		}
		lot.Material, lot.Available, lot.Unit, lot.Expiry = p.Material, q, unit, p.Expiry
	case event.LotReleased:
		lot.Status = gate.LotReleased
	case event.LotRejected:
		lot.Status = gate.LotRejected
	case event.LotHeld:
		lot.OnHold, lot.HoldReason = true, p.Reason
	case event.LotHoldReleased:
		lot.OnHold, lot.HoldReason = false, ""
	case event.LotConsumed:
		q, ok := p.Quantity, true
		if p.Unit != "" && lot.Unit != "" {
			q, ok = quantity.Convert(p.Quantity, p.Unit, lot.Unit)
		}
		if !ok {
			return fmt.Errorf("%s v%d: %s %s cannot be taken from a lot kept in %s", r.Stream, r.Version, p.Quantity, p.Unit, lot.Unit)
		}
		lot.Available = lot.Available.Sub(q)
	}
	return nil
}

func (e *factEntry) applyEquipment(r *audit.Record) error {
	switch r.Type {
	case event.EquipmentRegistered, event.EquipmentStatus, "equipment.returned", event.EquipmentCalibrated, event.EquipmentCleaned:
	default:
		return nil
	}
	p, err := decodeFact(r)
	if err != nil {
		return err
	}
	changed := *e.eq
	eq := &changed
	e.eq = eq
	switch r.Type {
	case event.EquipmentRegistered, event.EquipmentStatus:
		if p.Status != "" {
			eq.Status = gate.EquipmentStatus(p.Status)
		}
		if p.Location != nil {
			e.eqPlace = p.Location
		}
	case "equipment.returned":
		eq.Status = gate.EquipmentAvailable
	case event.EquipmentCalibrated:
		eq.Calibration, eq.CalibrationDue = gate.CalibrationStatus(p.Status), p.Due
		eq.MinWeight, eq.MinWeightUnit = p.MinWeight, p.MinWeightUnit
	case event.EquipmentCleaned:
		eq.Clean, eq.CleanUntil = gate.CleanStatus(p.Status), p.Until
	}
	return nil
}

func (e *factEntry) applyPerson(r *audit.Record) error {
	switch r.Type {
	case event.PersonRegistered, event.PersonRoleGranted, event.PersonRoleRevoked, event.PersonTrained:
	default:
		return nil
	}
	d, err := decodeFact(r)
	if err != nil {
		return err
	}
	changed := clonePerson(*e.person)
	p := &changed
	e.person = p
	switch r.Type {
	case event.PersonRegistered:
		p.Name = d.Name
	case event.PersonRoleGranted:
		// Roles are a set: a second grant of a role held changes
		// nothing, and one revocation ends it.
		if !slices.Contains(p.Roles, d.Role) {
			p.Roles = append(p.Roles, d.Role)
		}
	case event.PersonRoleRevoked:
		p.Roles = slices.DeleteFunc(p.Roles, func(r string) bool { return r == d.Role })
	case event.PersonTrained:
		if p.Training == nil {
			p.Training = map[string]time.Time{}
		}
		p.Training[d.Skill] = d.Until
	}
	return nil
}

func (f *streamFacts) Lot(ctx context.Context, id string) (gate.Lot, error) {
	e, err := f.fact(ctx, factKey{factLot, id})
	if err != nil || e.version == 0 {
		return gate.Lot{}, unknown(err, "lot", id)
	}
	return *e.lot, nil
}

func (f *streamFacts) Equipment(ctx context.Context, id string) (gate.Equipment, error) {
	e, err := f.fact(ctx, factKey{factEquipment, id})
	if err != nil || e.version == 0 {
		return gate.Equipment{}, unknown(err, "equipment", id)
	}
	return *e.eq, nil
}

func (f *streamFacts) Person(ctx context.Context, id string) (gate.Person, error) {
	e, err := f.fact(ctx, factKey{factPerson, id})
	if err != nil || e.version == 0 {
		return gate.Person{}, unknown(err, "person", id)
	}
	return *e.person, nil
}

func (f *streamFacts) OpenExceptions(ctx context.Context, subject string) ([]gate.Exception, error) {
	recs, err := f.load(ctx, subject)
	if err != nil {
		return nil, err
	}
	var open []gate.Exception
	for i := range recs {
		if t := recs[i].Type; t != event.ExceptionOpened && t != event.ExceptionClosed {
			continue
		}
		p, err := decodeFact(&recs[i])
		if err != nil {
			return nil, err
		}
		if recs[i].Type == event.ExceptionOpened {
			open = append(open, gate.Exception{ID: p.ID, Kind: p.Kind, Summary: p.Summary, Opened: recs[i].Time, Consequence: p.Consequence})
			continue
		}
		closed, err := f.closingConfirmed(ctx, &recs[i], p.ID)
		if err != nil {
			return nil, err
		}
		if !closed {
			// A closing marker the exception's own stream does not hold
			// closes nothing: only the exception model's approval does.
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

// closingConfirmed reports whether the exception id's own stream holds
// the closing transition that the marker r, on the subject, mirrors: an
// allowed transition of the exception model to "closed" by the marker's
// command. The exception's stream is read as a fact, so its version is
// asserted at append.
func (f *streamFacts) closingConfirmed(ctx context.Context, r *audit.Record, id string) (bool, error) {
	var m event.Marker
	if err := json.Unmarshal(r.Payload, &m); err != nil || m.CommandID == "" {
		return false, nil
	}
	recs, err := f.load(ctx, event.ExceptionStream(id))
	if err != nil {
		return false, err
	}
	var arr [128]byte
	needle, ok := member(arr[:0], "command_id", m.CommandID)
	if !ok {
		return false, nil
	}
	for i := range recs {
		if recs[i].Type == event.Denied || !bytes.Contains(recs[i].Payload, needle) {
			continue
		}
		var t event.Transition
		if err := json.Unmarshal(recs[i].Payload, &t); err != nil {
			continue
		}
		if t.CommandID == m.CommandID && t.Model == exceptionModelName && t.To == exceptionClosed {
			return true, nil
		}
	}
	return false, nil
}

// Steps reads step events of the subject: the step lifecycle's recorded
// events (started, blocked, unblocked, completed, verified, skipped), each
// naming its step in the payload.
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
		case "step.skipped":
			state = gate.StepSkipped
		case "step.blocked":
			state = gate.StepBlocked
		case "step.unblocked":
			state = gate.StepInProgress
		default:
			continue
		}
		var p event.Transition
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
