package plc

import (
	"fmt"
	"slices"
	"time"

	"github.com/interlock-mes/interlock/device/packml"

	"github.com/shopspring/decimal"
)

// EventKind says what an equipment event reports.
type EventKind string

// The kinds of equipment event.
const (
	EventRunning         EventKind = "running"          // the running tag became non-zero
	EventStopped         EventKind = "stopped"          // the running tag became zero
	EventFault           EventKind = "fault"            // a fault code appeared, or the device could not be read
	EventFaultCleared    EventKind = "fault-cleared"    // the fault code went back to zero, or reading works again
	EventCounts          EventKind = "counts"           // the good or reject count moved
	EventParameterChange EventKind = "parameter-change" // a parameter tag changed value
	EventPackMLState     EventKind = "packml-state"     // the PackML state register changed
	EventInvalidValue    EventKind = "invalid-value"    // a tag holds a value its role cannot mean
)

// TagValue is one tag's reading behind an event: the raw values as the
// device sent them and what they decode to.
type TagValue struct {
	Tag   string
	Raw   []uint16 // register words in address order, or 0/1 for a bit; nil when the read failed
	Value decimal.Decimal
	Unit  string
}

// Fault describes a fault or its clearing. Exactly one of Code and Err is
// set: Code for a fault the device reports in its fault-code tag, Err for a
// failure to talk to the device.
type Fault struct {
	Code int64 // the device's fault code; a bool fault tag reports 1
	Err  error // a *RequestError or *ConnectError; see Poller.Poll
}

// Counts is the state of the production counters after a change. Counters
// are cumulative in the device; a counter that goes down was reset there,
// and its delta is then its new value (the parts counted since the reset).
type Counts struct {
	Good, Reject           decimal.Decimal
	GoodDelta, RejectDelta decimal.Decimal
	GoodReset, RejectReset bool // the counter went down since the last read
}

// ParameterChange is a parameter tag's move from Old to New. On the first
// read there is no old value: First is true and Old is zero.
type ParameterChange struct {
	Name     string
	Old, New decimal.Decimal
	Unit     string
	First    bool
}

// Event is one decision-grade fact about a piece of equipment,
// derived from its tags. Only the detail field that matches Kind is set.
//
// Events report changes between successive reads. The first read reports
// the running state, an active fault, the PackML state and every parameter
// (with First set); counters start there and report only later moves. A
// change seen once is not reported again, and values kept through a lost
// connection are compared with the first read after it. Within one read the
// events come in this order: communication restored; values that would not
// decode; running or stopped; fault cleared, then fault; PackML state or
// invalid state number; counts; parameters in tag-map order.
type Event struct {
	Equipment string
	Kind      EventKind
	Time      time.Time  // from the poller's device.Clock, UTC; never a device time
	Tags      []TagValue // the tags and raw values behind the event

	Fault     *Fault           // EventFault, EventFaultCleared
	Counts    *Counts          // EventCounts
	Parameter *ParameterChange // EventParameterChange
	PackML    *packml.Change   // EventPackMLState
	Invalid   error            // EventInvalidValue: why the value means nothing, such as *packml.InvalidStateError
}

// normaliser turns successive snapshots of tag values into events. It keeps
// the last value of every tag so that changes are reported once, and so
// that counter deltas span a lost connection.
type normaliser struct {
	equipment string
	tags      []Tag // the tags with a role, in map order
	last      map[string]TagValue
	state     packml.State // last valid PackML state
	commErr   error        // the communication fault in force, if any
	undecoded map[string][]uint16
}

// badRead is a tag whose raw value would not decode, such as a float32
// holding NaN.
type badRead struct {
	value TagValue // Value is zero
	err   error
}

func newNormaliser(equipment string, tags []Tag) *normaliser {
	return &normaliser{equipment: equipment, tags: tags, last: make(map[string]TagValue), undecoded: make(map[string][]uint16)}
}

// observe compares a full read of every tag with the previous one and
// returns the events in the order Event documents.
//
// A tag in bad keeps its last good value; it is reported as an invalid value
// once for each raw value it takes that will not decode.
func (n *normaliser) observe(now time.Time, values map[string]TagValue, bad []badRead) []Event {
	var evs []Event
	ev := func(kind EventKind, tags ...TagValue) Event {
		return Event{Equipment: n.equipment, Kind: kind, Time: now, Tags: tags}
	}
	if n.commErr != nil {
		e := ev(EventFaultCleared)
		e.Fault = &Fault{Err: n.commErr}
		evs = append(evs, e)
		n.commErr = nil
	}
	for name := range values {
		delete(n.undecoded, name)
	}
	for _, b := range bad {
		if prev, ok := n.undecoded[b.value.Tag]; ok && slices.Equal(prev, b.value.Raw) {
			continue
		}
		n.undecoded[b.value.Tag] = b.value.Raw
		e := ev(EventInvalidValue, b.value)
		e.Invalid = b.err
		evs = append(evs, e)
	}
	// Each role's events go to a bucket, so that they come out in the
	// documented order whatever order the tag map lists the tags in.
	var counts []Tag
	var running, faults, states, params []Event
	for _, t := range n.tags {
		cur, ok := values[t.Name]
		if !ok {
			continue
		}
		prev, seen := n.last[t.Name]
		changed := !seen || !prev.Value.Equal(cur.Value)
		switch t.Role {
		case RoleRunning:
			if !changed || (seen && prev.Value.IsZero() == cur.Value.IsZero()) {
				continue
			}
			kind := EventStopped
			if !cur.Value.IsZero() {
				kind = EventRunning
			}
			running = append(running, ev(kind, cur))
		case RoleFaultCode:
			if !changed {
				continue
			}
			if seen && !prev.Value.IsZero() {
				e := ev(EventFaultCleared, cur)
				e.Fault = &Fault{Code: prev.Value.IntPart()}
				faults = append(faults, e)
			}
			if !cur.Value.IsZero() {
				e := ev(EventFault, cur)
				e.Fault = &Fault{Code: cur.Value.IntPart()}
				faults = append(faults, e)
			}
		case RolePackMLState:
			if !changed {
				continue
			}
			st, err := packMLFromValue(cur.Value)
			if err != nil {
				e := ev(EventInvalidValue, cur)
				e.Invalid = fmt.Errorf("tag %q: %w", t.Name, err)
				states = append(states, e)
				n.state = ""
				continue
			}
			e := ev(EventPackMLState, cur)
			e.PackML = &packml.Change{From: n.state, To: st}
			states = append(states, e)
			n.state = st
		case RoleGoodCount, RoleRejectCount:
			if seen && changed {
				counts = append(counts, t)
			}
		case RoleParameter:
			if !changed {
				continue
			}
			e := ev(EventParameterChange, cur)
			e.Parameter = &ParameterChange{Name: t.Name, Old: prev.Value, New: cur.Value, Unit: t.Unit, First: !seen}
			if !seen {
				e.Parameter.Old = decimal.Decimal{}
			}
			params = append(params, e)
		}
	}
	evs = slices.Concat(evs, running, faults, states)
	if len(counts) > 0 {
		evs = append(evs, n.countEvent(now, values))
	}
	evs = append(evs, params...)
	for name, v := range values {
		n.last[name] = v
	}
	return evs
}

// countEvent reports both counters, whichever of them moved, so that a
// consumer always sees the pair.
func (n *normaliser) countEvent(now time.Time, values map[string]TagValue) Event {
	c := &Counts{}
	e := Event{Equipment: n.equipment, Kind: EventCounts, Time: now, Counts: c}
	for _, t := range n.tags {
		if t.Role != RoleGoodCount && t.Role != RoleRejectCount {
			continue
		}
		cur, ok := values[t.Name]
		if !ok {
			continue
		}
		e.Tags = append(e.Tags, cur)
		delta, reset := decimal.Decimal{}, false
		if prev, seen := n.last[t.Name]; seen {
			delta = cur.Value.Sub(prev.Value)
			if delta.IsNegative() {
				delta, reset = cur.Value, true
			}
		}
		if t.Role == RoleGoodCount {
			c.Good, c.GoodDelta, c.GoodReset = cur.Value, delta, reset
		} else {
			c.Reject, c.RejectDelta, c.RejectReset = cur.Value, delta, reset
		}
	}
	return e
}

// fail records a communication failure and returns the fault event for it,
// or nothing when a failure is already in force: one outage, one event.
func (n *normaliser) fail(now time.Time, err error, tags []TagValue) []Event {
	if n.commErr != nil {
		return nil
	}
	n.commErr = err
	return []Event{{Equipment: n.equipment, Kind: EventFault, Time: now, Tags: tags, Fault: &Fault{Err: err}}}
}

func packMLFromValue(v decimal.Decimal) (packml.State, error) {
	if !v.IsInteger() || v.LessThan(decimal.NewFromInt(1)) || v.GreaterThan(decimal.NewFromInt(int64(len(packml.States())))) {
		return "", &packml.InvalidStateError{Value: v}
	}
	return packml.StateFromNumber(v.IntPart())
}
