package genealogy_test

import (
	"context"
	"fmt"
	"log"

	"github.com/interlock-mes/interlock/genealogy/genealogytest"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// A supplier lot goes into a batch that makes a finished lot: the forward
// trace names every link and the record that proves it.
func Example() {
	ctx := context.Background()
	store := memory.New(nil)
	kg := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	appendTo := func(stream string, version int64) func(storage.Event, error) {
		return func(ev storage.Event, err error) {
			if err != nil {
				log.Fatal(err)
			}
			req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: version, Events: []storage.Event{ev}}}}
			if _, err := store.Append(ctx, req); err != nil {
				log.Fatal(err)
			}
		}
	}
	appendTo("LOT-1", 0)(genealogytest.ReceiveEvent("receiving", genealogytest.Receipt{
		Lot: "LOT-1", Material: "API", Supplier: "Acme", SupplierLot: "A-77",
		Quantity: kg("10"), Unit: "kg", IdentitySource: genealogy.SourceScan,
	}))
	appendTo("BATCH-1", 0)(genealogytest.FlowEvent("operator", genealogytest.Flow{
		Kind: genealogy.Consumed, Inputs: []genealogytest.Portion{{Lot: "LOT-1", Quantity: kg("2.5")}}, Unit: "kg",
		To: "BATCH-1", ToKind: genealogy.NodeBatch, Step: "charge", Critical: true, IdentitySource: genealogy.SourceScan,
	}))
	appendTo("BATCH-1", 1)(genealogytest.ProduceEvent("operator", "BATCH-1", "kg", "discharge",
		[]genealogytest.Output{{Lot: "FG-1", Material: "Tablets", Quantity: kg("2.4")}}, genealogy.SourceDevice))

	g, err := genealogy.Build(ctx, store, nil)
	if err != nil {
		log.Fatal(err)
	}
	tr, err := g.Forward(ctx, "LOT-1")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range tr.Edges() {
		fmt.Printf("%d %s -%s %s %s-> %s  (%s@%d, %s)\n", e.Depth, e.From, e.Kind, e.Quantity, e.Unit, e.To, e.Proof.Stream, e.Proof.Version, e.Proof.IdentitySource)
	}
	fmt.Println("finished:", g.Finished(tr))
	// Output:
	// 1 LOT-1 -consumed 2.5 kg-> BATCH-1  (BATCH-1@1, scan)
	// 2 BATCH-1 -produced 2.4 kg-> FG-1  (BATCH-1@2, device)
	// finished: [FG-1]
}
