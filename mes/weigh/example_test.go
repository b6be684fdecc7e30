package weigh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/weigh"
	"github.com/interlock-mes/interlock/storage/memory"
)

// Example_dispensing dispenses 12.5 kg of API-100 from lot L7 on scale
// SC-01, whose calibration set a minimum weight of 0.5 kg. A reading taken
// while the pan still moved is denied and recorded; the settled one
// completes the step, consumes the lot, and puts the tare on the record.
// The readings are those scale.Scale returns for a tare (T) and a weight
// (SI, then S).
func Example_dispensing() {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := memory.New(&memory.Config{Clock: clock})
	engine, err := mes.New(store, &mes.Config{Clock: clock})
	if err != nil {
		log.Fatal(err)
	}

	// Facts, each through its own model: the operator, the lot, the scale.
	people, _ := mes.PersonModel()
	lots, _ := mes.LotModel()
	equipment, _ := mes.EquipmentModel()
	n := 0
	fact := func(m *mes.Model, subject string, cmd mes.Command, data any) {
		n++
		raw, _ := json.Marshal(data)
		if _, err := engine.Execute(ctx, mes.Request{ID: fmt.Sprint("fact-", n), Model: m, Subject: subject,
			Command: cmd, Actor: "admin", Data: raw}); err != nil {
			log.Fatal(err)
		}
	}
	fact(people, event.PersonStream("op-7"), mes.CmdRegister, map[string]string{"name": "Olga Operator"})
	fact(people, event.PersonStream("op-7"), mes.CmdGrantRole, map[string]string{"role": "operator"})
	fact(people, event.PersonStream("op-7"), mes.CmdRecordTrained, map[string]any{"skill": "dispensing", "until": now.Add(24 * time.Hour)})
	fact(lots, event.LotStream("L7"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: decimal.RequireFromString("50"), Unit: "kg"})
	fact(lots, event.LotStream("L7"), mes.CmdRelease, map[string]any{})
	fact(equipment, event.EquipmentStream("SC-01"), mes.CmdRegister, map[string]string{"status": "available"})
	fact(equipment, event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid",
		"due": now.Add(30 * 24 * time.Hour), "min_weight": "0.5", "min_weight_unit": "kg"})
	fact(equipment, event.EquipmentStream("SC-01"), mes.CmdClean, map[string]string{"status": "clean"})

	model, err := weigh.Step(weigh.Spec{Name: "weigh-API-100", Version: 1, Material: "API-100",
		Role: "operator", Skill: "dispensing", Tolerance: gate.Tolerance{Target: decimal.RequireFromString("12.5"),
			Below: decimal.RequireFromString("0.05"), Above: decimal.RequireFromString("0.05"), Unit: "kg", Bounds: gate.Inclusive}})
	if err != nil {
		log.Fatal(err)
	}
	refs := map[string]string{"lot": "L7", "scale": "SC-01"}
	run := func(id string, cmd mes.Command, evidence []gate.Evidence, consume []event.Consumption) {
		out, err := engine.Execute(ctx, mes.Request{ID: id, Model: model, Subject: "batch-B42", Step: "S10",
			Command: cmd, Actor: "op-7", Refs: refs, Evidence: evidence, Consume: consume})
		var denied *mes.DeniedError
		switch {
		case errors.As(err, &denied):
			fmt.Printf("%s: denied, %s\n", cmd, denied.Reasons[0].Code)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Printf("%s: %s -> %s\n", cmd, out.From, out.To)
		}
	}
	run("start", mes.CmdStart, []gate.Evidence{{Name: weigh.DefaultLotScan, Identity: "L7", Source: gate.SourceScanner, Instrument: "SCN-1"}}, nil)

	reading := func(v string, stable bool) device.Reading {
		return device.Reading{Instrument: "SC-01", Value: decimal.RequireFromString(v), Unit: "kg", Stable: stable,
			Time: now, Source: device.SourceDevice}
	}
	tare := reading("1.250", true)
	for i, net := range []device.Reading{reading("12.481", false), reading("12.500", true)} {
		evidence, err := weigh.Evidence(tare, net)
		if err != nil {
			log.Fatal(err)
		}
		run(fmt.Sprint("complete-", i), mes.CmdComplete, evidence,
			[]event.Consumption{{Lot: "L7", Quantity: net.Value, Unit: net.Unit}})
	}

	recs, _ := store.Load(ctx, "batch-B42", 1)
	last := recs[len(recs)-1]
	var evidence []gate.Evidence
	if err := json.Unmarshal(last.Evidence, &evidence); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("v%d %s:", last.Version, last.Type)
	for _, e := range evidence {
		fmt.Printf(" %s %s %s", e.Name, e.Value, e.Unit)
	}
	fmt.Println()
	// Output:
	// start: pending -> in-progress
	// complete: denied, evidence.unstable
	// complete: in-progress -> complete
	// v3 step.completed: tare 1.25 kg gross 13.75 kg net 12.5 kg
}
