package mqtt_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/edge/mqtt"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/packml"
	"github.com/interlock-mes/interlock/mes/weigh"
	"github.com/interlock-mes/interlock/storage/memory"
)

// Example binds scale SC-01 to the weighing step S10 of batch-B42, run by
// operator op-7, and packer PK-01 to its PackML machine, and ingests their
// messages from the broker until interrupted. A real Binder reads what is
// running on the equipment from the integrator's dispatch.
func Example() {
	engine, err := mes.New(memory.New(nil), nil)
	if err != nil {
		log.Fatal(err)
	}
	step, err := weigh.Step(weigh.Spec{Name: "weigh-API-100", Version: 1, Material: "API-100", Role: "operator", Skill: "dispensing",
		Tolerance: gate.Tolerance{Target: decimal.RequireFromString("12.5"), Below: decimal.RequireFromString("0.05"),
			Above: decimal.RequireFromString("0.05"), Unit: "kg", Bounds: gate.Inclusive}})
	if err != nil {
		log.Fatal(err)
	}
	machine, err := packml.Model()
	if err != nil {
		log.Fatal(err)
	}
	bind := func(_ context.Context, m *mqtt.Message) (mes.Request, error) {
		switch {
		case m.Equipment == "SC-01" && m.Reading != nil:
			// The step is bound to the operator who started it: the
			// reading completes it in their name, with the scale's
			// evidence (source device, instrument SC-01).
			return mes.Request{Model: step, Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
				Refs:    map[string]string{"lot": "L7", "scale": "SC-01"},
				Consume: []event.Consumption{{Lot: "L7", Quantity: m.Reading.Value, Unit: m.Reading.Unit}}}, nil
		case m.Equipment == "PK-01" && m.Change != nil:
			// The command is m.Command, the one that explains the change;
			// the actor is "device:PK-01".
			return mes.Request{Model: machine, Subject: "packml-PK-01"}, nil
		}
		return mes.Request{}, fmt.Errorf("%s: %w", m.Equipment, mqtt.ErrUnbound)
	}
	in, err := mqtt.New(engine, &mqtt.Config{
		Broker:    "tcp://127.0.0.1:1883",
		ClientID:  "interlock-ingester-plant-1",
		Site:      "plant-1",
		Equipment: []string{"SC-01", "PK-01"},
		Binder:    bind,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scale publishes on", in.Topic("SC-01", mqtt.KindReading))
	fmt.Println("dead letters on", in.DeadLetterTopic())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := in.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
