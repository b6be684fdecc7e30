package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
)

// makeModel is a batch that consumes and produces in one transition.
func makeModel(tb testing.TB) *mes.Model {
	return must[*mes.Model](tb)(mes.NewModel("make", 1).States(lifecycle.BatchInProgress, lifecycle.BatchComplete).
		Initial(lifecycle.BatchInProgress).Final(lifecycle.BatchComplete).
		Permit(lifecycle.BatchInProgress, mes.CmdComplete, lifecycle.BatchComplete, mes.Recording("batch.completed")).Build())
}

// TestLineage runs material through the engine on both stores: a batch
// consumes a scanned lot and produces a new one, the new lot is split in
// two, the parts are merged again; each lot's quantity follows, and the
// genealogy graph built from these records traces the merged lot back to the
// received one with the quantities on each link.
func TestLineage(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		e, _, f := newEngineOn(t, s)
		lotModel := f.models["lot"]
		out, err := e.Execute(ctx, mes.Request{ID: "make-1", Model: makeModel(t), Subject: "batch-B42", Command: mes.CmdComplete, Actor: "op-7",
			Evidence: []gate.Evidence{scan("L7")},
			Consume:  []event.Consumption{{Lot: "L7", Quantity: decimalOf(t, "12.5"), Unit: "kg"}},
			Produce:  []mes.Production{{Lot: "FG-1", Material: "TAB-10", Quantity: decimalOf(t, "10"), Unit: "kg", GTIN: "09506000134352"}}})
		if err != nil {
			t.Fatalf("make: %v", err)
		}
		wantLinks := []audit.Link{{From: "lot/L7", To: "batch-B42", Kind: event.LinkConsumed}, {From: "batch-B42", To: "lot/FG-1", Kind: event.LinkProduced}}
		if diff := cmp.Diff(wantLinks, out.Records[0].Links); diff != "" {
			t.Errorf("links (-want +got):\n%s", diff)
		}
		var p event.Transition
		if err := json.Unmarshal(out.Records[0].Payload, &p); err != nil || p.IdentitySource != "scan" || len(p.Quantities) != 2 || len(p.Nodes) != 1 {
			t.Errorf("payload %s: want identity source scan, two quantities and the new lot declared", out.Records[0].Payload)
		}
		streams := []string{}
		for _, r := range out.Records {
			streams = append(streams, r.Stream+" "+r.Type)
		}
		if diff := cmp.Diff([]string{"batch-B42 batch.completed", "lot/L7 lot.consumed", "lot/FG-1 lot.produced"}, streams); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		lot := func(id string) gate.Lot {
			t.Helper()
			l, err := mes.NewFacts(s, "", nil).Lot(ctx, id)
			if err != nil {
				t.Fatalf("lot %s: %v", id, err)
			}
			return l
		}
		if l := lot("FG-1"); l.Status != gate.LotQuarantine || !l.Available.Equal(decimalOf(t, "10")) || l.Material != "TAB-10" {
			t.Errorf("FG-1 = %+v; want 10 kg of TAB-10 in quarantine", l)
		}
		// Making it again is denied: a lot is made once.
		_, err = e.Execute(ctx, mes.Request{ID: "make-2", Model: makeModel(t), Subject: "batch-B43", Command: mes.CmdComplete, Actor: "op-7",
			Produce: []mes.Production{{Lot: "FG-1", Material: "TAB-10", Quantity: decimalOf(t, "1"), Unit: "kg"}}})
		var de *mes.DeniedError
		if !errors.As(err, &de) || !hasCode(de.Reasons, mes.CodeLotExists) {
			t.Fatalf("second production of FG-1: %v; want %s", err, mes.CodeLotExists)
		}
		f.run("lot", event.LotStream("FG-1"), mes.CmdRelease, nil)
		// A split that takes more than the lot holds is denied; one that
		// takes what it holds leaves nothing.
		split := func(id, a, b string) error {
			_, err := e.Execute(ctx, mes.Request{ID: id, Model: lotModel, Subject: event.LotStream("FG-1"), Command: mes.CmdSplit, Actor: "op-7",
				Produce: []mes.Production{{Lot: "FG-1a", Material: "TAB-10", Quantity: decimalOf(t, a), Unit: "kg", Kind: event.LinkSplit},
					{Lot: "FG-1b", Material: "TAB-10", Quantity: decimalOf(t, b), Unit: "kg", Kind: event.LinkSplit}}})
			return err
		}
		if err := split("split-1", "4", "6.5"); !errors.As(err, &de) || !hasCode(de.Reasons, mes.CodeSplitOverParent) {
			t.Fatalf("over-split: %v; want %s", err, mes.CodeSplitOverParent)
		}
		if err := split("split-2", "4", "6"); err != nil {
			t.Fatalf("split: %v", err)
		}
		if l := lot("FG-1"); !l.Available.IsZero() {
			t.Errorf("FG-1 holds %s after the split; want 0", l.Available)
		}
		f.run("lot", event.LotStream("FG-1a"), mes.CmdRelease, nil)
		f.run("lot", event.LotStream("FG-1b"), mes.CmdRelease, nil)
		data, _ := json.Marshal(map[string]string{"material": "TAB-10"})
		if _, err := e.Execute(ctx, mes.Request{ID: "merge-1", Model: lotModel, Subject: event.LotStream("M-1"), Command: mes.CmdMerge, Actor: "op-7", Data: data,
			Consume: []event.Consumption{{Lot: "FG-1a", Quantity: decimalOf(t, "4"), Unit: "kg", Kind: event.LinkMerged},
				{Lot: "FG-1b", Quantity: decimalOf(t, "6"), Unit: "kg", Kind: event.LinkMerged}}}); err != nil {
			t.Fatalf("merge: %v", err)
		}
		if l := lot("M-1"); !l.Available.Equal(decimalOf(t, "10")) || l.Unit != "kg" || l.Material != "TAB-10" {
			t.Errorf("M-1 = %+v; want 10 kg of TAB-10", l)
		}
		if l := lot("FG-1a"); !l.Available.IsZero() {
			t.Errorf("FG-1a holds %s after the merge; want 0", l.Available)
		}

		g, err := genealogy.Build(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := g.Backward(ctx, "lot/M-1")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ed := range tr.Edges() {
			got = append(got, ed.From+" -"+string(ed.Kind)+" "+ed.Quantity.String()+ed.Unit+"-> "+ed.To)
		}
		slices.Sort(got)
		want := []string{
			"batch-B42 -produced 10kg-> lot/FG-1",
			"lot/FG-1 -split 4kg-> lot/FG-1a",
			"lot/FG-1 -split 6kg-> lot/FG-1b",
			"lot/FG-1a -merged 4kg-> lot/M-1",
			"lot/FG-1b -merged 6kg-> lot/M-1",
			"lot/L7 -consumed 12.5kg-> batch-B42",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("backward trace of M-1 (-want +got):\n%s", diff)
		}
		if info, ok := g.NodeInfo("lot/FG-1"); !ok || info.Material != "TAB-10" || info.GTIN != "09506000134352" {
			t.Errorf("FG-1 declared as %+v", info)
		}
	})
}

// TestRecallFromEngineRecords: a supplier lot received with its supplier lot
// number, used by a batch whose output is shipped to a customer: the recall
// scope of the supplier lot names the customer and the shipment.
func TestRecallFromEngineRecords(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		e, _, f := newEngineOn(t, s)
		lotModel := f.models["lot"]
		recv, _ := json.Marshal(event.Receipt{Material: "API-100", Quantity: decimalOf(t, "25"), Unit: "kg"})
		run := func(req mes.Request) {
			t.Helper()
			if _, err := e.Execute(ctx, req); err != nil {
				t.Fatalf("%s: %v", req.ID, err)
			}
		}
		run(mes.Request{ID: "recv", Model: lotModel, Subject: event.LotStream("S-9"), Command: mes.CmdReceive, Actor: "wh-1", Data: recv,
			Declare: &mes.Declaration{Kind: "lot", Material: "API-100", Supplier: "ACME", SupplierLot: "A-77", IdentitySource: gate.SourceScanner}})
		f.run("lot", event.LotStream("S-9"), mes.CmdRelease, nil)
		run(mes.Request{ID: "make", Model: makeModel(t), Subject: "batch-B50", Command: mes.CmdComplete, Actor: "op-7",
			Evidence: []gate.Evidence{scan("S-9")},
			Consume:  []event.Consumption{{Lot: "S-9", Quantity: decimalOf(t, "5"), Unit: "kg"}},
			Produce:  []mes.Production{{Lot: "FG-9", Material: "TAB-10", Quantity: decimalOf(t, "100"), Unit: "ea"}}})
		f.run("lot", event.LotStream("FG-9"), mes.CmdRelease, nil)
		ship := must[*mes.Model](t)(mes.NewModel("shipment", 1).States("open", "shipped").Initial("open").Final("shipped").
			Permit("open", "ship", "shipped", mes.Recording("shipment.shipped")).Build())
		run(mes.Request{ID: "ship", Model: ship, Subject: "shipment/SH-1", Command: "ship", Actor: "wh-1",
			Evidence: []gate.Evidence{scan("FG-9")},
			Consume:  []event.Consumption{{Lot: "FG-9", Quantity: decimalOf(t, "60"), Unit: "ea", Kind: event.LinkShipped}},
			Declare:  &mes.Declaration{Kind: "shipment", Customer: "Pharmacy Nord", IdentitySource: gate.SourceScanner}})
		if _, err := e.Execute(ctx, mes.Request{ID: "bad", Model: lotModel, Subject: event.LotStream("S-10"), Command: mes.CmdReceive, Actor: "wh-1", Data: recv,
			Declare: &mes.Declaration{Kind: "lot", Customer: "x", IdentitySource: gate.SourceScanner}}); err == nil {
			t.Error("a lot declared with a customer was accepted")
		}

		g, err := genealogy.Build(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if info, _ := g.NodeInfo("lot/S-9"); info.Supplier != "ACME" || info.SupplierLot != "A-77" {
			t.Errorf("S-9 declared as %+v; want supplier ACME lot A-77", info)
		}
		scope, err := g.Recall(ctx, "lot/S-9")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"Pharmacy Nord"}, scope.Customers); diff != "" {
			t.Errorf("customers (-want +got):\n%s", diff)
		}
		if len(scope.Shipped) != 1 || scope.Shipped[0].Item != "lot/FG-9" || scope.Shipped[0].Shipment != "shipment/SH-1" {
			t.Errorf("shipped %+v; want FG-9 in shipment/SH-1", scope.Shipped)
		}
	})
}
