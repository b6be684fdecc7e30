package review_test

import (
	"context"
	"fmt"
	"io"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/storage/memory"
)

// A batch whose label count was first submitted without one, then typed
// by hand: both are exceptions a reviewer must see.
func Example() {
	ctx := context.Background()
	store := memory.New(nil)
	engine, err := mes.New(store, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	model, err := mes.NewModel("label-check", 1).
		States("ready", "counted").Initial("ready").Final("counted").
		Permit("ready", "count", "counted", mes.Recording("labels.counted"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "labels"})).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	count := mes.Request{ID: "count-1", Model: model, Subject: "B-1", Command: "count", Actor: "op-7"}
	if _, err := engine.Execute(ctx, count); err != nil {
		fmt.Println("denied:", err)
	}
	count.ID = "count-2"
	count.Evidence = []gate.Evidence{{Name: "labels", HasValue: true, Value: decimal.NewFromInt(40), Unit: "pcs", Source: gate.SourceManual}}
	if _, err := engine.Execute(ctx, count); err != nil {
		fmt.Println(err)
		return
	}

	rep, err := review.Build(ctx, store, "B-1", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range rep.Exceptions {
		fmt.Printf("%s: %s\n", e.Kind, e.Summary)
	}
	fmt.Println("state:", rep.State, "- chains verified:", rep.Integrity.OK)
	// The same report as a page to read and print:
	if err := review.WriteHTML(io.Discard, rep); err != nil {
		fmt.Println(err)
	}
	// Output:
	// denied: mes: count on B-1 denied in state "ready": 1 gate(s) failed, first evidence.missing: the transition needs evidence "labels" and none was given
	// denied-attempt: op-7's count was denied: evidence.missing
	// manual-entry: op-7's count recorded labels 40 pcs entered by hand
	// state: counted - chains verified: true
}
