package gate_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
)

// now is the system time of every test attempt.
var now = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// errStore stands for a lookup that failed: the store is unreachable.
var errStore = errors.New("store offline")

// fakeFacts is the Facts seam as the engine would implement it from its
// streams, held in maps. A missing key is unknown; err, when set, makes
// every lookup fail.
type fakeFacts struct {
	lots       map[string]gate.Lot
	equipment  map[string]gate.Equipment
	people     map[string]gate.Person
	exceptions map[string][]gate.Exception
	steps      map[string][]gate.Step
	history    map[string][]gate.Event
	err        error
}

var _ gate.Facts = (*fakeFacts)(nil)

func lookup[T any](f *fakeFacts, ctx context.Context, m map[string]T, kind, id string) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if f.err != nil {
		return zero, f.err
	}
	v, ok := m[id]
	if !ok {
		return zero, fmt.Errorf("%s %s: %w", kind, id, gate.ErrUnknown)
	}
	return v, nil
}

func (f *fakeFacts) Lot(ctx context.Context, id string) (gate.Lot, error) {
	return lookup(f, ctx, f.lots, "lot", id)
}

func (f *fakeFacts) Equipment(ctx context.Context, id string) (gate.Equipment, error) {
	return lookup(f, ctx, f.equipment, "equipment", id)
}

func (f *fakeFacts) Person(ctx context.Context, id string) (gate.Person, error) {
	return lookup(f, ctx, f.people, "person", id)
}

func (f *fakeFacts) OpenExceptions(ctx context.Context, subject string) ([]gate.Exception, error) {
	return lookup(f, ctx, f.exceptions, "subject", subject)
}

func (f *fakeFacts) Steps(ctx context.Context, subject string) ([]gate.Step, error) {
	return lookup(f, ctx, f.steps, "subject", subject)
}

func (f *fakeFacts) History(ctx context.Context, subject string) ([]gate.Event, error) {
	return lookup(f, ctx, f.history, "subject", subject)
}

// world returns facts under which every built-in gate passes for attempt().
func world() *fakeFacts {
	return &fakeFacts{
		lots: map[string]gate.Lot{
			"lot-L7": {
				ID: "lot-L7", Material: "MAT-100", Status: gate.LotReleased,
				Expiry:    time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
				Available: decimal.RequireFromString("250"), Unit: "kg",
			},
		},
		equipment: map[string]gate.Equipment{
			"SC-01": {
				ID: "SC-01", Status: gate.EquipmentAvailable,
				Calibration: gate.CalibrationValid, CalibrationDue: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
				Clean: gate.Clean, CleanUntil: now.Add(8 * time.Hour),
			},
		},
		people: map[string]gate.Person{
			"alice": {ID: "alice", Name: "Alice Martin", Roles: []string{"operator"},
				Training: map[string]time.Time{"dispensing": time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}},
		},
		exceptions: map[string][]gate.Exception{"batch-B42": {}},
		steps: map[string][]gate.Step{"batch-B42": {
			{ID: "S10", State: gate.StepComplete, Performer: "bob"},
			{ID: "S20", State: gate.StepVerified, Performer: "bob"},
		}},
		history: map[string][]gate.Event{"batch-B42": {
			{Type: "step-completed", Actor: "bob", Time: now.Add(-time.Hour)},
		}},
	}
}

// attempt returns an attempt under which every built-in gate passes in
// world().
func attempt() *gate.Attempt {
	return &gate.Attempt{
		Actor: "alice",
		Roles: []string{"operator"},
		Transition: gate.Transition{
			From: "in-progress", To: "complete", Command: "complete-step",
		},
		Subject: "batch-B42",
		Refs:    map[string]string{"lot": "lot-L7", "equipment": "SC-01", "step": "S30"},
		Evidence: []gate.Evidence{
			{Name: "lot-scan", Identity: "lot-L7", Source: gate.SourceScanner, Instrument: "SCN-3"},
			{Name: "scale-scan", Identity: "SC-01", Source: gate.SourceScanner, Instrument: "SCN-3"},
			{Name: "net-weight", HasValue: true, Value: decimal.RequireFromString("12.50"), Unit: "kg",
				Source: gate.SourceDevice, Instrument: "SC-01", Stable: true},
		},
		Time: now,
	}
}

// checkCase is one row of a gate's table: how the attempt and the facts
// differ from the passing ones, and the verdict or error expected.
type checkCase struct {
	name    string
	attempt func(*gate.Attempt) // nil leaves attempt() as is
	facts   func(*fakeFacts)    // nil leaves world() as is
	want    []gate.Reason       // nil: the gate passes
	wantErr string              // the error's text when the check cannot be made
}

// runChecks checks g against every case.
func runChecks(t *testing.T, g gate.Gate, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, f := attempt(), world()
			if tc.attempt != nil {
				tc.attempt(a)
			}
			if tc.facts != nil {
				tc.facts(f)
			}
			v, err := g.Check(t.Context(), a, f)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Check error = %v, want %q", err, tc.wantErr)
				}
				if !errors.Is(err, errStore) {
					t.Errorf("Check error %v does not match errStore", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if diff := cmp.Diff(tc.want, v.Reasons); diff != "" {
				t.Errorf("Check reasons (-want +got):\n%s", diff)
			}
			if got, want := v.Passed(), tc.want == nil; got != want {
				t.Errorf("Passed() = %v, want %v", got, want)
			}
		})
	}
}

// mustGate fails the test when a constructor refuses a valid definition.
func mustGate(t *testing.T) func(gate.Gate, error) gate.Gate {
	return func(g gate.Gate, err error) gate.Gate {
		t.Helper()
		if err != nil {
			t.Fatalf("constructor: %v", err)
		}
		return g
	}
}

// wantConstructorErrors checks that each bad definition is refused with the
// error text given.
func wantConstructorErrors(t *testing.T, cases map[string]func() (gate.Gate, error), want map[string]string) {
	t.Helper()
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g, err := build()
			if err == nil {
				t.Fatalf("constructor accepted a bad definition and returned %v", g)
			}
			if g != nil {
				t.Errorf("constructor returned a gate %v with its error", g)
			}
			if w, ok := want[name]; ok && err.Error() != w {
				t.Errorf("error = %q, want %q", err, w)
			}
		})
	}
}

func TestFactsUnknownIsAVerdictNotAnError(t *testing.T) {
	t.Parallel()
	// A Facts implementation may return ErrUnknown bare or wrapped; both are
	// a failing verdict.
	for _, unknown := range []error{gate.ErrUnknown, fmt.Errorf("lot x: %w", gate.ErrUnknown)} {
		f := world()
		f.err = unknown
		g := mustGate(t)(gate.LotUsable(gate.FromRef("lot")))
		v, err := g.Check(t.Context(), attempt(), f)
		if err != nil {
			t.Fatalf("Check with %v: error %v, want a verdict", unknown, err)
		}
		want := []gate.Reason{{Gate: "lot-usable", Code: gate.CodeLotUnknown, Message: "lot lot-L7 is not known"}}
		if diff := cmp.Diff(want, v.Reasons); diff != "" {
			t.Errorf("reasons with %v (-want +got):\n%s", unknown, diff)
		}
	}
}

func TestFactsCancelledContextIsAnError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	g := mustGate(t)(gate.LotUsable(gate.FromRef("lot")))
	_, err := g.Check(ctx, attempt(), world())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Check error = %v, want context.Canceled", err)
	}
}
