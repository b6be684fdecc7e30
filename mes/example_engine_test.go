package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/storage/memory"
)

// Example builds two gated steps of a batch — weigh, then label — and runs
// them: a weight outside the tolerance is denied and recorded, the right one
// passes, and labelling is allowed only once weighing is complete.
func Example() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) }
	store := memory.New(&memory.Config{Clock: clock})
	engine, err := mes.New(store, &mes.Config{Clock: clock})
	if err != nil {
		log.Fatal(err)
	}

	// The operator and her role are facts with their own history.
	people, _ := mes.PersonModel()
	n := 0
	fact := func(cmd mes.Command, data string) {
		n++
		if _, err := engine.Execute(ctx, mes.Request{ID: fmt.Sprint("fact-", n), Model: people,
			Subject: event.PersonStream("op-7"), Command: cmd, Actor: "admin", Data: json.RawMessage(data)}); err != nil {
			log.Fatal(err)
		}
	}
	fact(mes.CmdRegister, `{"name":"Olga Operator"}`)
	fact(mes.CmdGrantRole, `{"role":"operator"}`)

	operator, _ := gate.RequireRole("operator")
	tolerance, _ := gate.WithinTolerance("net-weight", gate.Tolerance{
		Target: decimal.RequireFromString("12.50"), Below: decimal.RequireFromString("0.05"),
		Above: decimal.RequireFromString("0.05"), Unit: "kg", Bounds: gate.Inclusive})
	weighed, _ := gate.PriorSteps([]gate.StepState{gate.StepComplete}, "weigh")
	step := func(name string, gates ...gate.Gate) *mes.Model {
		m, err := mes.NewModel(name, 1).
			States(lifecycle.StepPending, lifecycle.StepComplete).Initial(lifecycle.StepPending).Final(lifecycle.StepComplete).
			Permit(lifecycle.StepPending, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"), mes.WithGates(gates...)).
			Build()
		if err != nil {
			log.Fatal(err)
		}
		return m
	}
	weighStep, labelStep := step("weigh", operator, tolerance), step("label", operator, weighed)

	weigh := func(id, kg string) {
		out, err := engine.Execute(ctx, mes.Request{ID: id, Model: weighStep, Subject: "batch-B42", Step: "weigh",
			Command: mes.CmdComplete, Actor: "op-7",
			Evidence: []gate.Evidence{{Name: "net-weight", HasValue: true, Value: decimal.RequireFromString(kg), Unit: "kg",
				Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}}})
		var denied *mes.DeniedError
		switch {
		case errors.As(err, &denied):
			fmt.Printf("weigh %s kg: denied, %s\n", kg, denied.Reasons[0].Code)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Printf("weigh %s kg: %s -> %s\n", kg, out.From, out.To)
		}
	}
	label := func(id string) {
		out, err := engine.Execute(ctx, mes.Request{ID: id, Model: labelStep, Subject: "batch-B42", Step: "label",
			Command: mes.CmdComplete, Actor: "op-7"})
		var denied *mes.DeniedError
		switch {
		case errors.As(err, &denied):
			fmt.Printf("label: denied, %s\n", denied.Reasons[0].Code)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Printf("label: %s -> %s\n", out.From, out.To)
		}
	}
	label("cmd-1")
	weigh("cmd-2", "12.61")
	weigh("cmd-3", "12.52")
	label("cmd-4")

	recs, _ := store.Load(ctx, "batch-B42", 1)
	for _, r := range recs {
		fmt.Printf("v%d %s by %s\n", r.Version, r.Type, r.Actor)
	}
	// Output:
	// label: denied, step.missing
	// weigh 12.61 kg: denied, value.above-upper-limit
	// weigh 12.52 kg: pending -> complete
	// label: pending -> complete
	// v1 attempt.denied by op-7
	// v2 attempt.denied by op-7
	// v3 step.completed by op-7
	// v4 step.completed by op-7
}
