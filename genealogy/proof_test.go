package genealogy_test

import (
	"context"
	"testing"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/genealogy/genealogytest"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
)

// The proof plant, small enough to read: a supplier lot of API and a resin
// go into BATCH-1, whose intermediate is split; one half makes FG-1
// (packed on a pallet and shipped to a pharmacy), the other half and a
// filler make FG-2 (in stock, on hold); BATCH-4 is still running on what is
// left of the filler.
const (
	supplierLot = "API-0001"
	sscc        = "106141411234567897"
)

func proofPlant(t testing.TB, store storage.Store) {
	t.Helper()
	ctx := context.Background()
	versions := map[string]int64{}
	write := func(stream string, ev storage.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		_, err = store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: versions[stream], Events: []storage.Event{ev}}}})
		if err != nil {
			t.Fatal(err)
		}
		versions[stream]++
	}
	receive := func(lot, material, supplier, slot, qty string, src genealogy.Source) {
		ev, err := genealogytest.ReceiveEvent("receiving", genealogytest.Receipt{
			Lot: lot, Material: material, Supplier: supplier, SupplierLot: slot,
			Quantity: dec(qty), Unit: "kg", IdentitySource: src,
		})
		write(lot, ev, err)
	}
	consume := func(batch, step string, critical bool, inputs ...genealogytest.Portion) {
		ev, err := genealogytest.FlowEvent("operator", genealogytest.Flow{
			Kind: genealogy.Consumed, Inputs: inputs, Unit: "kg", To: batch, ToKind: genealogy.NodeBatch,
			Step: step, Critical: critical, IdentitySource: genealogy.SourceScan,
		})
		write(batch, ev, err)
	}
	produce := func(batch string, out genealogytest.Output) {
		ev, err := genealogytest.ProduceEvent("operator", batch, "kg", "discharge", []genealogytest.Output{out}, genealogy.SourceDevice)
		write(batch, ev, err)
	}
	p := func(lot, qty string) genealogytest.Portion {
		return genealogytest.Portion{Lot: lot, Quantity: dec(qty)}
	}

	receive(supplierLot, "API", "Acme Pharma", "ACME-4711", "25", genealogy.SourceScan)
	receive("RESIN-1", "Resin", "Polymers Ltd", "PL-88", "500", genealogy.SourceManual)
	receive("FILLER-1", "Filler", "Minerals AG", "MAG-3", "200", genealogy.SourceScan)
	consume("BATCH-1", "S10 charge API", true, p(supplierLot, "25"), p("RESIN-1", "5"))
	produce("BATCH-1", genealogytest.Output{Lot: "INT-1", Material: "Granulate", Quantity: dec("30")})
	ev, err := genealogytest.SplitEvent("operator", "INT-1", dec("30"), "kg", []genealogytest.Portion{p("INT-1A", "20"), p("INT-1B", "10")}, genealogy.SourceScan)
	write("INT-1", ev, err)
	consume("BATCH-2", "S20 compress", true, p("INT-1A", "20"))
	produce("BATCH-2", genealogytest.Output{Lot: "FG-1", Material: "Tablets", GTIN: "09506000134352", Quantity: dec("19.5")})
	consume("BATCH-3", "S20 blend", false, p("INT-1B", "10"), p("FILLER-1", "50"))
	produce("BATCH-3", genealogytest.Output{Lot: "FG-2", Material: "Tablets", Quantity: dec("59.0")})
	consume("BATCH-4", "S20 blend", false, p("FILLER-1", "20"))
	ev, err = genealogytest.FlowEvent("packing", genealogytest.Flow{
		Kind: genealogy.Packed, Inputs: []genealogytest.Portion{p("FG-1", "19.5")}, Unit: "kg", To: sscc,
		ToKind: genealogy.NodeContainer, IdentitySource: genealogy.SourceScan,
	})
	write(sscc, ev, err)
	ev, err = genealogytest.FlowEvent("shipping", genealogytest.Flow{
		Kind: genealogy.Shipped, Inputs: []genealogytest.Portion{{Lot: sscc}}, To: "SHP-1",
		ToKind: genealogy.NodeShipment, Customer: "City Pharmacy", IdentitySource: genealogy.SourceScan,
	})
	write("SHP-1", ev, err)
	ev, err = genealogytest.AnnotationEvent("qa", event.DeviationOpened, "DEV-7", "compression force out of range", "BATCH-2", "FG-1")
	write("DEV-7", ev, err)
	ev, err = genealogytest.AnnotationEvent("qa", event.LotHeld, "HOLD-3", "pending investigation of DEV-7", "FG-2")
	write("HOLD-3", ev, err)
	ev, err = genealogytest.AnnotationEvent("qa", event.LotReworked, "RW-2", "re-sieved", "INT-1B")
	write("RW-2", ev, err)
}

// TestProof is the proof, on every store: from a supplier lot to the
// finished lots and customers it reached; from a finished lot back to every
// consumed lot and critical step; where each link came from; and the holds,
// deviations and rework on the lots of the trace.
func TestProof(t *testing.T) {
	t.Parallel()
	for _, s := range newStores(t) {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			proofPlant(t, s.store)
			g, err := genealogy.Build(ctx, s.store, nil)
			if err != nil {
				t.Fatal(err)
			}

			// Forward: which finished lots used the supplier lot, and where
			// did they go.
			rs, err := g.Recall(ctx, supplierLot)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"FG-1", "FG-2"}, g.Finished(rs.Trace)); diff != "" {
				t.Errorf("finished lots (-want +got):\n%s", diff)
			}
			var shipped [][3]string
			for _, it := range rs.Shipped {
				shipped = append(shipped, [3]string{it.Item, it.Shipment, it.Customer})
			}
			if diff := cmp.Diff([][3]string{{sscc, "SHP-1", "City Pharmacy"}}, shipped); diff != "" {
				t.Errorf("shipped (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"City Pharmacy"}, rs.Customers); diff != "" {
				t.Errorf("customers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"FG-2"}, rs.InStock); diff != "" {
				t.Errorf("in stock (-want +got):\n%s", diff)
			}
			if len(rs.InProgress) != 0 {
				t.Errorf("in progress: got %v, want none (BATCH-4 used only the filler)", rs.InProgress)
			}

			// The filler reaches the batch still running.
			rs, err = g.Recall(ctx, "FILLER-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"BATCH-4"}, rs.InProgress); diff != "" {
				t.Errorf("filler in progress (-want +got):\n%s", diff)
			}

			// Backward: every consumed lot and the critical steps.
			back, err := g.Backward(ctx, "FG-1")
			if err != nil {
				t.Fatal(err)
			}
			var consumed, critical []string
			for _, e := range back.Edges() {
				if e.Kind == genealogy.Consumed {
					consumed = append(consumed, e.From)
					if e.Proof.Critical {
						critical = append(critical, e.To+": "+e.Proof.Step)
					}
				}
			}
			if diff := cmp.Diff([]string{"INT-1A", "API-0001", "RESIN-1"}, consumed); diff != "" {
				t.Errorf("consumed lots (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"BATCH-2: S20 compress", "BATCH-1: S10 charge API", "BATCH-1: S10 charge API"}, critical); diff != "" {
				t.Errorf("critical steps (-want +got):\n%s", diff)
			}

			// Where each link came from: the proving record is on the
			// store, with that hash, and says how identities were taken.
			for _, e := range back.Edges() {
				recs, err := s.store.Load(ctx, e.Proof.Stream, e.Proof.Version)
				if err != nil || len(recs) == 0 {
					t.Fatalf("load %s@%d: %v", e.Proof.Stream, e.Proof.Version, err)
				}
				if recs[0].Hash != e.Proof.Hash || recs[0].Position != e.Proof.Position {
					t.Errorf("%s->%s: proof %s@%d does not match the record", e.From, e.To, e.Proof.Stream, e.Proof.Version)
				}
				if e.Proof.IdentitySource == "" {
					t.Errorf("%s->%s: no identity source", e.From, e.To)
				}
			}
			info, _ := g.NodeInfo(supplierLot)
			if info.SupplierLot != "ACME-4711" || info.Supplier != "Acme Pharma" {
				t.Errorf("supplier lot: got %+v", info)
			}

			// Holds, deviations and rework on the lots of the trace.
			var notes []string
			for _, a := range g.Annotations(back.Nodes()...) {
				notes = append(notes, a.Lot+" "+a.Type+" "+a.Exception+": "+a.Reason)
			}
			want := []string{
				"FG-1 deviation.opened DEV-7: compression force out of range",
				"BATCH-2 deviation.opened DEV-7: compression force out of range",
			}
			if diff := cmp.Diff(want, notes); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
		})
	}
}
