package plc

import (
	"errors"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/device/packml"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
)

func TestPackMLStateNumbers(t *testing.T) {
	t.Parallel()
	want := []packml.State{
		"Clearing", "Stopped", "Starting", "Idle", "Suspended", "Execute",
		"Stopping", "Aborting", "Aborted", "Holding", "Held", "Unholding",
		"Suspending", "Unsuspending", "Resetting", "Completing", "Complete",
	}
	if diff := cmp.Diff(want, packml.States()); diff != "" {
		t.Errorf("packml.States (-want +got):\n%s", diff)
	}
	for i, s := range want {
		got, err := packml.StateFromNumber(int64(i + 1))
		if err != nil || got != s {
			t.Errorf("packml.StateFromNumber(%d) = %q, %v; want %q", i+1, got, err, s)
		}
		if s.Number() != i+1 {
			t.Errorf("%s.Number() = %d, want %d", s, s.Number(), i+1)
		}
	}
	for _, n := range []int64{0, 18, -1, 65535} {
		var inv *packml.InvalidStateError
		if _, err := packml.StateFromNumber(n); !errors.As(err, &inv) || !inv.Value.Equal(decimal.NewFromInt(n)) {
			t.Errorf("packml.StateFromNumber(%d) error = %v, want *packml.InvalidStateError with the value", n, err)
		}
	}
	if packml.State("Running").Number() != 0 {
		t.Error(`packml.State("Running").Number() != 0`)
	}
}

// eventCmpOpts compares events with errors matched by errors.Is, so a table
// can name the sentinel or type behind a wrapped error.
var eventCmpOpts = cmp.Options{cmpopts.EquateErrors(), cmpopts.EquateEmpty()}

func TestNormaliser(t *testing.T) {
	t.Parallel()
	tags := []Tag{
		{Name: "run", Area: AreaCoil, Type: TypeBool, Role: RoleRunning},
		{Name: "fault", Area: AreaHoldingRegister, Type: TypeUint16, Role: RoleFaultCode},
		{Name: "state", Area: AreaHoldingRegister, Address: 1, Type: TypeUint16, Role: RolePackMLState},
		{Name: "good", Area: AreaHoldingRegister, Address: 2, Type: TypeUint16, Role: RoleGoodCount},
		{Name: "reject", Area: AreaHoldingRegister, Address: 3, Type: TypeUint16, Role: RoleRejectCount},
		{Name: "speed", Area: AreaHoldingRegister, Address: 4, Type: TypeInt16, Scale: scaleOf("0.1"), Unit: "m/min", Role: RoleParameter},
	}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	val := func(name string, raw uint16) TagValue {
		t := tags[0]
		for _, x := range tags {
			if x.Name == name {
				t = x
			}
		}
		v, err := DecodeTag(t, []uint16{raw})
		if err != nil {
			panic(err)
		}
		return TagValue{Tag: name, Raw: []uint16{raw}, Value: v, Unit: t.Unit}
	}
	snap := func(run, fault, state, good, reject, speed uint16) map[string]TagValue {
		return map[string]TagValue{
			"run": val("run", run), "fault": val("fault", fault), "state": val("state", state),
			"good": val("good", good), "reject": val("reject", reject), "speed": val("speed", speed),
		}
	}
	d := decimal.NewFromInt
	ev := func(kind EventKind, tags ...TagValue) Event {
		return Event{Equipment: "EQ", Kind: kind, Time: at, Tags: tags}
	}
	with := func(e Event, f func(*Event)) Event { f(&e); return e }

	type step struct {
		values map[string]TagValue
		err    error // a communication failure instead of values
		want   []Event
	}
	commErr := &RequestError{Equipment: "EQ", Err: ExceptionIllegalDataAddress}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "FirstReadReportsState", steps: []step{{
			values: snap(1, 0, 6, 10, 1, 125),
			want: []Event{
				ev(EventRunning, val("run", 1)),
				with(ev(EventPackMLState, val("state", 6)), func(e *Event) { e.PackML = &packml.Change{To: packml.Execute} }),
				with(ev(EventParameterChange, val("speed", 125)), func(e *Event) {
					e.Parameter = &ParameterChange{Name: "speed", New: decimal.RequireFromString("12.5"), Unit: "m/min", First: true}
				}),
			},
		}}},
		{name: "NoChangeNoEvents", steps: []step{
			{values: snap(0, 0, 2, 0, 0, 0), want: []Event{
				ev(EventStopped, val("run", 0)),
				with(ev(EventPackMLState, val("state", 2)), func(e *Event) { e.PackML = &packml.Change{To: packml.Stopped} }),
				with(ev(EventParameterChange, val("speed", 0)), func(e *Event) {
					e.Parameter = &ParameterChange{Name: "speed", Unit: "m/min", First: true}
				}),
			}},
			{values: snap(0, 0, 2, 0, 0, 0)},
		}},
		{name: "EveryKindOfChange", steps: []step{
			{values: snap(0, 0, 4, 100, 5, 50), want: []Event{
				ev(EventStopped, val("run", 0)),
				with(ev(EventPackMLState, val("state", 4)), func(e *Event) { e.PackML = &packml.Change{To: packml.Idle} }),
				with(ev(EventParameterChange, val("speed", 50)), func(e *Event) {
					e.Parameter = &ParameterChange{Name: "speed", New: d(5), Unit: "m/min", First: true}
				}),
			}},
			{values: snap(1, 17, 6, 103, 7, 0xFFF6), want: []Event{
				ev(EventRunning, val("run", 1)),
				with(ev(EventFault, val("fault", 17)), func(e *Event) { e.Fault = &Fault{Code: 17} }),
				with(ev(EventPackMLState, val("state", 6)), func(e *Event) { e.PackML = &packml.Change{From: packml.Idle, To: packml.Execute} }),
				with(ev(EventCounts, val("good", 103), val("reject", 7)), func(e *Event) {
					e.Counts = &Counts{Good: d(103), Reject: d(7), GoodDelta: d(3), RejectDelta: d(2)}
				}),
				with(ev(EventParameterChange, val("speed", 0xFFF6)), func(e *Event) {
					e.Parameter = &ParameterChange{Name: "speed", Old: d(5), New: d(-1), Unit: "m/min"}
				}),
			}},
			{values: snap(1, 21, 6, 103, 7, 0xFFF6), want: []Event{
				with(ev(EventFaultCleared, val("fault", 21)), func(e *Event) { e.Fault = &Fault{Code: 17} }),
				with(ev(EventFault, val("fault", 21)), func(e *Event) { e.Fault = &Fault{Code: 21} }),
			}},
			{values: snap(1, 0, 6, 2, 7, 0xFFF6), want: []Event{
				with(ev(EventFaultCleared, val("fault", 0)), func(e *Event) { e.Fault = &Fault{Code: 21} }),
				with(ev(EventCounts, val("good", 2), val("reject", 7)), func(e *Event) {
					e.Counts = &Counts{Good: d(2), Reject: d(7), GoodDelta: d(2), GoodReset: true}
				}),
			}},
		}},
		{name: "InvalidPackMLState", steps: []step{
			{values: snap(0, 0, 0, 0, 0, 0), want: []Event{
				ev(EventStopped, val("run", 0)),
				with(ev(EventInvalidValue, val("state", 0)), func(e *Event) { e.Invalid = &packml.InvalidStateError{Value: d(0)} }),
				with(ev(EventParameterChange, val("speed", 0)), func(e *Event) {
					e.Parameter = &ParameterChange{Name: "speed", Unit: "m/min", First: true}
				}),
			}},
			{values: snap(0, 0, 0, 0, 0, 0)},
			{values: snap(0, 0, 18, 0, 0, 0), want: []Event{
				with(ev(EventInvalidValue, val("state", 18)), func(e *Event) { e.Invalid = &packml.InvalidStateError{Value: d(18)} }),
			}},
			{values: snap(0, 0, 15, 0, 0, 0), want: []Event{
				with(ev(EventPackMLState, val("state", 15)), func(e *Event) { e.PackML = &packml.Change{To: packml.Resetting} }),
			}},
		}},
		{name: "CountsSpanAnOutage", steps: []step{
			{values: snap(1, 0, 6, 10, 0, 0), want: []Event{
				ev(EventRunning, val("run", 1)),
				with(ev(EventPackMLState, val("state", 6)), func(e *Event) { e.PackML = &packml.Change{To: packml.Execute} }),
				with(ev(EventParameterChange, val("speed", 0)), func(e *Event) {
					e.Parameter = &ParameterChange{Name: "speed", Unit: "m/min", First: true}
				}),
			}},
			{err: commErr, want: []Event{
				with(ev(EventFault), func(e *Event) { e.Fault = &Fault{Err: commErr} }),
			}},
			{err: commErr}, // one outage, one fault event
			{values: snap(1, 0, 6, 25, 0, 0), want: []Event{
				with(ev(EventFaultCleared), func(e *Event) { e.Fault = &Fault{Err: commErr} }),
				with(ev(EventCounts, val("good", 25), val("reject", 0)), func(e *Event) {
					e.Counts = &Counts{Good: d(25), GoodDelta: d(15)}
				}),
			}},
		}},
		{name: "RunningIntegerOnlyZeroMatters", steps: []step{
			{values: map[string]TagValue{"run": val("run", 1)}, want: []Event{ev(EventRunning, val("run", 1))}},
			{values: map[string]TagValue{"run": val("run", 1)}},
			{values: map[string]TagValue{"run": val("run", 0)}, want: []Event{ev(EventStopped, val("run", 0))}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNormaliser("EQ", tags)
			for i, s := range tt.steps {
				var got []Event
				if s.err != nil {
					got = n.fail(at, s.err, nil)
				} else {
					got = n.observe(at, s.values, nil)
				}
				if diff := cmp.Diff(s.want, got, eventCmpOpts); diff != "" {
					t.Errorf("step %d events (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestNormaliserUndecodable(t *testing.T) {
	t.Parallel()
	tags := []Tag{{Name: "temp", Area: AreaInputRegister, Type: TypeFloat32, WordOrder: HighWordFirst, Role: RoleParameter}}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	n := newNormaliser("EQ", tags)
	nan := badRead{value: TagValue{Tag: "temp", Raw: []uint16{0x7FC0, 0}}, err: ErrNotFinite}
	want := []Event{{Equipment: "EQ", Kind: EventInvalidValue, Time: at, Tags: []TagValue{nan.value}, Invalid: ErrNotFinite}}
	if diff := cmp.Diff(want, n.observe(at, nil, []badRead{nan}), eventCmpOpts); diff != "" {
		t.Errorf("first NaN (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Event(nil), n.observe(at, nil, []badRead{nan}), eventCmpOpts); diff != "" {
		t.Errorf("same NaN again (-want +got):\n%s", diff)
	}
	good := TagValue{Tag: "temp", Raw: []uint16{0x3F80, 0}, Value: decimal.NewFromInt(1)}
	want = []Event{{Equipment: "EQ", Kind: EventParameterChange, Time: at, Tags: []TagValue{good},
		Parameter: &ParameterChange{Name: "temp", New: decimal.NewFromInt(1), First: true}}}
	if diff := cmp.Diff(want, n.observe(at, map[string]TagValue{"temp": good}, nil), eventCmpOpts); diff != "" {
		t.Errorf("decodable again (-want +got):\n%s", diff)
	}
	want = []Event{{Equipment: "EQ", Kind: EventInvalidValue, Time: at, Tags: []TagValue{nan.value}, Invalid: ErrNotFinite}}
	if diff := cmp.Diff(want, n.observe(at, nil, []badRead{nan}), eventCmpOpts); diff != "" {
		t.Errorf("NaN after a good value (-want +got):\n%s", diff)
	}
}

// TestNormaliserOrderIsNotTheMapOrder: a tag map that lists the PackML
// state, then the fault, then the running flag still gives running, fault,
// state, in the documented order.
func TestNormaliserOrderIsNotTheMapOrder(t *testing.T) {
	t.Parallel()
	tags := []Tag{
		{Name: "speed", Area: AreaHoldingRegister, Address: 4, Type: TypeInt16, Role: RoleParameter},
		{Name: "state", Area: AreaHoldingRegister, Address: 1, Type: TypeUint16, Role: RolePackMLState},
		{Name: "fault", Area: AreaHoldingRegister, Type: TypeUint16, Role: RoleFaultCode},
		{Name: "run", Area: AreaCoil, Type: TypeBool, Role: RoleRunning},
	}
	n := newNormaliser("FILL-1", tags)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	values := map[string]TagValue{
		"speed": {Tag: "speed", Value: decimal.NewFromInt(12)},
		"state": {Tag: "state", Value: decimal.NewFromInt(6)},
		"fault": {Tag: "fault", Value: decimal.NewFromInt(3)},
		"run":   {Tag: "run", Value: decimal.NewFromInt(1)},
	}
	var got []EventKind
	for _, e := range n.observe(at, values, nil) {
		got = append(got, e.Kind)
	}
	want := []EventKind{EventRunning, EventFault, EventPackMLState, EventParameterChange}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event order (-want +got):\n%s", diff)
	}
}
