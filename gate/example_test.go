package gate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
)

// shopFloor is what an engine would read from its streams, reduced to what
// the examples need.
type shopFloor struct {
	lots      map[string]gate.Lot
	equipment map[string]gate.Equipment
	people    map[string]gate.Person
}

func (s shopFloor) Lot(_ context.Context, id string) (gate.Lot, error) {
	if l, ok := s.lots[id]; ok {
		return l, nil
	}
	return gate.Lot{}, fmt.Errorf("lot %s: %w", id, gate.ErrUnknown)
}

func (s shopFloor) Equipment(_ context.Context, id string) (gate.Equipment, error) {
	if e, ok := s.equipment[id]; ok {
		return e, nil
	}
	return gate.Equipment{}, fmt.Errorf("equipment %s: %w", id, gate.ErrUnknown)
}

func (s shopFloor) Person(_ context.Context, id string) (gate.Person, error) {
	if p, ok := s.people[id]; ok {
		return p, nil
	}
	return gate.Person{}, fmt.Errorf("person %s: %w", id, gate.ErrUnknown)
}

func (shopFloor) OpenExceptions(context.Context, string) ([]gate.Exception, error) { return nil, nil }
func (shopFloor) Steps(context.Context, string) ([]gate.Step, error)               { return nil, nil }
func (shopFloor) History(context.Context, string) ([]gate.Event, error)            { return nil, nil }

// The gates of a dispensing step: every failure is reported, each with its
// gate, its code and a sentence.
func Example() {
	var errs []error
	build := func(g gate.Gate, err error) gate.Gate {
		errs = append(errs, err)
		return g
	}
	dispense := build(gate.All(
		build(gate.RequireRole("operator")),
		build(gate.TrainingCurrent("dispensing")),
		build(gate.EquipmentReady(gate.FromRef("scale"))),
		build(gate.LotUsable(gate.FromRef("lot"), "MAT-100")),
		build(gate.EvidencePresent("lot-scan", gate.FromRef("lot"))),
		build(gate.RequireSource("weight", gate.SourceDevice)),
		build(gate.WithinTolerance("weight", gate.Tolerance{
			Target: decimal.RequireFromString("12.50"),
			Below:  decimal.RequireFromString("0.05"),
			Above:  decimal.RequireFromString("0.05"),
			Unit:   "kg",
			Bounds: gate.Inclusive,
		})),
	))
	if err := errors.Join(errs...); err != nil {
		log.Fatal(err)
	}

	floor := shopFloor{
		lots: map[string]gate.Lot{"lot-L7": {
			ID: "lot-L7", Material: "MAT-100", Status: gate.LotReleased,
			Expiry: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
		}},
		equipment: map[string]gate.Equipment{"SC-01": {
			ID: "SC-01", Status: gate.EquipmentAvailable,
			Calibration: gate.CalibrationValid, CalibrationDue: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
			Clean: gate.Clean,
		}},
		people: map[string]gate.Person{"alice": {
			ID: "alice", Training: map[string]time.Time{"dispensing": time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		}},
	}
	attempt := &gate.Attempt{
		Actor:      "alice",
		Roles:      []string{"operator"},
		Transition: gate.Transition{From: "in-progress", To: "complete", Command: "complete-step"},
		Subject:    "batch-B42",
		Refs:       map[string]string{"lot": "lot-L7", "scale": "SC-01"},
		Evidence: []gate.Evidence{
			{Name: "lot-scan", Identity: "lot-L7", Source: gate.SourceScanner},
			{Name: "weight", HasValue: true, Value: decimal.RequireFromString("12.61"), Unit: "kg",
				Source: gate.SourceManual},
		},
		Time: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC),
	}

	verdict, err := dispense.Check(context.Background(), attempt, floor)
	if err != nil {
		log.Fatal(err) // a lookup failed: neither allowed nor denied
	}
	fmt.Println("passed:", verdict.Passed())
	for _, r := range verdict.Reasons {
		fmt.Printf("%s %s: %s\n", r.Gate, r.Code, r.Message)
	}
	// Output:
	// passed: false
	// lot-usable lot.expired: lot lot-L7 expired on 2026-06-30
	// require-source evidence.source-not-allowed: evidence weight came from manual; only device is accepted
	// within-tolerance value.above-upper-limit: weight 12.61 kg is above the upper limit 12.55 kg (inclusive)
}

// A custom gate: a Func given a name with Named, so its reasons say which
// gate failed.
func ExampleNamed() {
	dayShift, err := gate.Named("day-shift-only", gate.Func(
		func(_ context.Context, a *gate.Attempt, _ gate.Facts) (gate.Verdict, error) {
			if h := a.Time.Hour(); h < 6 || h >= 22 {
				return gate.Fail(gate.Reason{
					Code:    "shift.closed",
					Message: fmt.Sprintf("%s is outside the day shift (06:00–22:00)", a.Time.Format("15:04")),
				}), nil
			}
			return gate.Pass(), nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	a := &gate.Attempt{Actor: "alice", Time: time.Date(2026, 7, 1, 23, 30, 0, 0, time.UTC)}
	v, err := dayShift.Check(context.Background(), a, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Reasons[0].Gate, v.Reasons[0].Code, v.Reasons[0].Message)
	// Output:
	// day-shift-only shift.closed 23:30 is outside the day shift (06:00–22:00)
}

// Four eyes: a different person must verify a completed step.
func ExampleDistinctActor() {
	fourEyes, err := gate.DistinctActor("step-completed")
	if err != nil {
		log.Fatal(err)
	}
	history := historyOf{"batch-B42": {
		{Type: "step-completed", Actor: "alice", Time: time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)},
	}}
	for _, actor := range []string{"alice", "bob"} {
		a := &gate.Attempt{
			Actor: actor, Subject: "batch-B42",
			Transition: gate.Transition{From: "complete", To: "verified", Command: "verify-step"},
			Time:       time.Date(2026, 7, 1, 9, 5, 0, 0, time.UTC),
		}
		v, err := fourEyes.Check(context.Background(), a, history)
		if err != nil {
			log.Fatal(err)
		}
		if v.Passed() {
			fmt.Println(actor, "may verify")
			continue
		}
		fmt.Println(v.Reasons[0].Message)
	}
	// Output:
	// alice recorded step-completed on batch-B42 at 2026-07-01T09:00:00Z, so another person must verify-step
	// bob may verify
}

// historyOf is Facts that know only histories.
type historyOf map[string][]gate.Event

func (h historyOf) History(_ context.Context, subject string) ([]gate.Event, error) {
	es, ok := h[subject]
	if !ok {
		return nil, fmt.Errorf("subject %s: %w", subject, gate.ErrUnknown)
	}
	return es, nil
}
func (historyOf) Lot(context.Context, string) (gate.Lot, error) { return gate.Lot{}, gate.ErrUnknown }
func (historyOf) Equipment(context.Context, string) (gate.Equipment, error) {
	return gate.Equipment{}, gate.ErrUnknown
}
func (historyOf) Person(context.Context, string) (gate.Person, error) {
	return gate.Person{}, gate.ErrUnknown
}
func (historyOf) OpenExceptions(context.Context, string) ([]gate.Exception, error) {
	return nil, gate.ErrUnknown
}
func (historyOf) Steps(context.Context, string) ([]gate.Step, error) { return nil, gate.ErrUnknown }
