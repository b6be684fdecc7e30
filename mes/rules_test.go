package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// TestRolesAreASet: a role granted twice and revoked once is gone, at
// once, for role gates; revoking a role never held is denied.
func TestRolesAreASet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		env := mestest.NewOn(t, s, clock, nil).Plant()
		batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
		person := mestest.Must[*mes.Model](t)(mes.PersonModel())
		env.Fact("person", event.PersonStream("sv-1"), mes.CmdGrantRole, map[string]string{"role": "supervisor"})
		env.Fact("person", event.PersonStream("sv-1"), mes.CmdRevokeRole, map[string]string{"role": "supervisor"})
		_, err := env.Engine.Execute(ctx, mes.Request{ID: "rel", Model: batch, Subject: "batch-R", Command: mes.CmdRelease, Actor: "sv-1"})
		if !hasDenialCode(err, gate.CodeRoleMissing) {
			t.Errorf("release after the role was granted twice and revoked once: %v; want %s", err, gate.CodeRoleMissing)
		}
		data, _ := json.Marshal(map[string]string{"role": "qa"})
		_, err = env.Engine.Execute(ctx, mes.Request{ID: "rev", Model: person, Subject: event.PersonStream("op-7"), Command: mes.CmdRevokeRole,
			Actor: "admin", Data: data})
		if !hasDenialCode(err, mes.CodeRoleNotHeld) {
			t.Errorf("revoking a role never held: %v; want %s", err, mes.CodeRoleNotHeld)
		}
	})
}

// TestMergeConvertsUnits: 5 kg merged with 300 g is 5.3 kg, whichever
// comes first, and 300 kg cannot then be taken from it; units that cannot
// be converted are refused.
func TestMergeConvertsUnits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		env := mestest.NewOn(t, s, clock, nil).Plant()
		lotModel := mestest.Must[*mes.Model](t)(mes.LotModel())
		receive := func(id, qty, unit string) {
			env.Fact("lot", event.LotStream(id), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: mestest.Decimal(t, qty), Unit: unit,
				Expiry: clock.Now().Add(90 * 24 * time.Hour)})
			env.Fact("lot", event.LotStream(id), mes.CmdRelease, nil)
		}
		receive("A", "5", "kg")
		receive("B", "300", "g")
		receive("C", "2", "l")
		data, _ := json.Marshal(map[string]string{"material": "API-100"})
		merge := func(id, into string, cs ...event.Consumption) error {
			_, err := env.Engine.Execute(ctx, mes.Request{ID: id, Model: lotModel, Subject: event.LotStream(into), Command: mes.CmdMerge,
				Actor: "op-7", Data: data, Consume: cs})
			return err
		}
		if err := merge("m1", "M", event.Consumption{Lot: "B", Quantity: mestest.Decimal(t, "300"), Unit: "g", Kind: event.LinkMerged},
			event.Consumption{Lot: "A", Quantity: mestest.Decimal(t, "5"), Unit: "kg", Kind: event.LinkMerged}); err != nil {
			t.Fatal(err)
		}
		facts := env.Engine.Facts("x", nil)
		m, err := facts.Lot(ctx, "M")
		if err != nil || !m.Available.Equal(mestest.Decimal(t, "5300")) || m.Unit != "g" {
			t.Errorf("merged lot %+v, %v; want 5300 g", m, err)
		}
		// Consuming in a compatible unit converts; too much is refused.
		batch := mestest.Must[*mes.Model](t)(lifecycle.Batch(lifecycle.WithoutRoles()))
		if _, err := env.Engine.Execute(ctx, mes.Request{ID: "b-rel", Model: batch, Subject: "batch-U", Command: mes.CmdRelease, Actor: "op-7"}); err != nil {
			t.Fatal(err)
		}
		env.Fact("lot", event.LotStream("M"), mes.CmdRelease, nil)
		_, err = env.Engine.Execute(ctx, mes.Request{ID: "b-start-1", Model: batch, Subject: "batch-U", Command: mes.CmdStart, Actor: "op-7",
			Consume: []event.Consumption{{Lot: "M", Quantity: mestest.Decimal(t, "300"), Unit: "kg"}}})
		if !hasDenialCode(err, mes.CodeOverConsumption) {
			t.Errorf("taking 300 kg from 5.3 kg: %v; want %s", err, mes.CodeOverConsumption)
		}
		if _, err := env.Engine.Execute(ctx, mes.Request{ID: "b-start-2", Model: batch, Subject: "batch-U", Command: mes.CmdStart, Actor: "op-7",
			Consume: []event.Consumption{{Lot: "M", Quantity: mestest.Decimal(t, "1.3"), Unit: "kg"}}}); err != nil {
			t.Fatalf("taking 1.3 kg from 5300 g: %v", err)
		}
		if m, err := env.Engine.Facts("x", nil).Lot(ctx, "M"); err != nil || !m.Available.Equal(mestest.Decimal(t, "4000")) {
			t.Errorf("after taking 1.3 kg: %+v, %v; want 4000 g", m, err)
		}
		// Mass and volume do not merge.
		err = merge("m2", "N", event.Consumption{Lot: "A", Quantity: mestest.Decimal(t, "1"), Unit: "kg", Kind: event.LinkMerged},
			event.Consumption{Lot: "C", Quantity: mestest.Decimal(t, "1"), Unit: "l", Kind: event.LinkMerged})
		if !hasDenialCode(err, mes.CodeUnitMismatch) {
			t.Errorf("merging kg with l: %v; want %s", err, mes.CodeUnitMismatch)
		}
	})
}

// TestOneReasonPerRule: an expired lot consumed through a step whose lot
// gate also checks it is denied once for its expiry, not twice.
func TestOneReasonPerRule(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		oneReasonPerRule(t, mestest.NewOn(t, s, mestest.NewClock(mestest.Now), nil).Plant())
	})
}

func oneReasonPerRule(t *testing.T, env *mestest.Env) {
	ctx := context.Background()
	env.Fact("lot", event.LotStream("OLD"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: mestest.Decimal(t, "10"), Unit: "kg",
		Expiry: mestest.Now.Add(time.Hour)})
	env.Fact("lot", event.LotStream("OLD"), mes.CmdRelease, nil)
	env.Clock.Advance(2 * time.Hour)
	usable := mestest.Must[gate.Gate](t)(gate.LotUsable(gate.FromRef("lot")))
	m := mestest.Must[*mes.Model](t)(mes.NewModel("dose", 1).States("ready", "dosed").Initial("ready").Final("dosed").
		Permit("ready", mes.CmdComplete, "dosed", mes.Recording("dose.done"), mes.WithGates(usable)).Build())
	_, err := env.Engine.Execute(ctx, mes.Request{ID: "d1", Model: m, Subject: "batch-E", Command: mes.CmdComplete, Actor: "op-7",
		Refs: map[string]string{"lot": "OLD"}, Consume: []event.Consumption{{Lot: "OLD", Quantity: mestest.Decimal(t, "1"), Unit: "kg"}}})
	var de *mes.DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("consuming an expired lot: %v; want denied", err)
	}
	n := 0
	for _, r := range de.Reasons {
		if r.Code == gate.CodeLotExpired {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d %s reasons, want 1: %v", n, gate.CodeLotExpired, de.Reasons)
	}
}

// TestSignersAreParticipants: someone who only signed a step's
// verification (another person gave the command) took part in the batch,
// and may not then sign its release.
func TestSignersAreParticipants(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		sg := newSigning(t, s, "qa-3", "qa-4")
		sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
		sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
		step := verifyModel(t, 1)
		sg.completeStep(t, step, "batch-S")
		if _, err := sg.e.Execute(ctx, mes.Request{ID: "verify", Model: step, Subject: "batch-S", Step: "S10", Command: mes.CmdVerify,
			Actor: "qa-4", Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}}); err != nil {
			t.Fatal(err)
		}
		release := mestest.Must[*mes.Model](t)(mes.NewModel("releasing", 1).States("pending", "released").Initial("pending").Final("released").
			Permit("pending", mes.CmdRelease, "released", mes.Recording("batch.qa-released"), mes.WithSignatures(mes.SignatureRequirement{
				Meaning: mes.MeaningApproved, Count: 1, Roles: []string{"qa"}, NotPerformer: true})).Build())
		_, err := sg.e.Execute(ctx, mes.Request{ID: "release", Model: release, Subject: "batch-S", Command: mes.CmdRelease, Actor: "qa-4",
			Signatures: []mes.Sign{{Meaning: mes.MeaningApproved, Challenge: full("qa-3")}}})
		if !hasDenialCode(err, mes.CodeSignatureSelf) {
			t.Errorf("release signed by the step's verifier: %v; want %s", err, mes.CodeSignatureSelf)
		}
	})
}

// TestPriorStepsSeeSkips: a skipped step shows as skipped to the
// prior-steps gate, so a gate that accepts skipped steps lets the next one
// start, and one that does not names it as incomplete.
func TestPriorStepsSeeSkips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	skippable := mestest.Must[*mes.Model](t)(mes.NewModel("skippable", 1).States("pending", "skipped", "done").Initial("pending").Final("skipped", "done").
		Permit("pending", mes.CmdSkip, "skipped", mes.Recording("step.skipped")).
		Permit("pending", mes.CmdComplete, "done", mes.Recording("step.completed")).Build())
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "skip", Model: skippable, Subject: "batch-P", Step: "S10", Command: mes.CmdSkip, Actor: "sv-1"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		states []gate.StepState
		pass   bool
	}{{[]gate.StepState{gate.StepComplete, gate.StepSkipped}, true}, {[]gate.StepState{gate.StepComplete}, false}} {
		prior := mestest.Must[gate.Gate](t)(gate.PriorSteps(c.states, "S10"))
		next := mestest.Must[*mes.Model](t)(mes.NewModel("next", 1).States("pending", "done").Initial("pending").Final("done").
			Permit("pending", mes.CmdComplete, "done", mes.Recording("step.completed"), mes.WithGates(prior)).Build())
		v, err := env.Engine.Check(ctx, mes.Request{Model: next, Subject: "batch-P", Step: "S20", Command: mes.CmdComplete, Actor: "op-7"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Allowed != c.pass || (!c.pass && !hasCode(v.Reasons, gate.CodeStepIncomplete)) {
			t.Errorf("prior steps in %v after S10 was skipped: %+v; want allowed %v", c.states, v, c.pass)
		}
	}
}

// TestBatchIsKnownAsABatch: a batch run on the standard lifecycle is a
// batch in the lot graph without any request declaring it, and a
// declaration on a transition that moves no material reaches the graph.
func TestBatchIsKnownAsABatch(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	runAll(t, env, []mes.Request{
		{ID: "rel", Model: batch, Subject: "batch-G1", Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "start", Model: batch, Subject: "batch-G1", Command: mes.CmdStart, Actor: "op-7",
			Consume: []event.Consumption{{Lot: "L7", Quantity: mestest.Decimal(t, "1"), Unit: "kg"}}},
		{ID: "rel2", Model: batch, Subject: "batch-G2", Command: mes.CmdRelease, Actor: "sv-1",
			Declare: &mes.Declaration{Kind: "batch", Material: "TAB-500", IdentitySource: "manual"}},
	})
	g := graphOf(t, env)
	if info, ok := g.NodeInfo("batch-G1"); !ok || info.Kind != genealogy.NodeBatch {
		t.Errorf("batch-G1 in the graph: %+v, %v; want a batch", info, ok)
	}
	if info, ok := g.NodeInfo("batch-G2"); !ok || info.Kind != genealogy.NodeBatch || info.Material != "TAB-500" {
		t.Errorf("batch-G2, declared on a release: %+v, %v; want a batch of TAB-500", info, ok)
	}
	if _, err := mes.NewModel("x", 1).Of("pallet").States("a").Initial("a").Final("a").Build(); err == nil {
		t.Error("a model of kind pallet: no error")
	}
}

// TestMergedLotKeepsItsMaterial: a lot made by a merge is a lot of the
// material its merge names, so where-used finds it.
func TestMergedLotKeepsItsMaterial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	lot := mestest.Must[*mes.Model](t)(mes.LotModel())
	env.Fact("lot", event.LotStream("L9"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: mestest.Decimal(t, "2"), Unit: "kg",
		Expiry: mestest.Now.Add(90 * 24 * time.Hour)})
	env.Fact("lot", event.LotStream("L9"), mes.CmdRelease, nil)
	data, _ := json.Marshal(map[string]string{"material": "API-100"})
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "merge", Model: lot, Subject: event.LotStream("M-9"), Command: mes.CmdMerge, Actor: "op-7",
		Data: data, Consume: []event.Consumption{
			{Lot: "L7", Quantity: mestest.Decimal(t, "1"), Unit: "kg", Kind: event.LinkMerged},
			{Lot: "L9", Quantity: mestest.Decimal(t, "2"), Unit: "kg", Kind: event.LinkMerged}}}); err != nil {
		t.Fatal(err)
	}
	g := graphOf(t, env)
	info, ok := g.NodeInfo(event.LotStream("M-9"))
	if !ok || info.Kind != genealogy.NodeLot || info.Material != "API-100" {
		t.Errorf("merged lot: %+v, %v; want a lot of API-100", info, ok)
	}
	lots, _, err := g.WhereUsed(ctx, "API-100")
	if err != nil || !slices.Contains(lots, event.LotStream("M-9")) {
		t.Errorf("WhereUsed(API-100) = %v, %v; want the merged lot among them", lots, err)
	}
}

// TestEPCISNamesTheLotNumber: a lot the engine made, with a GTIN, is named
// in EPCIS by its GS1 Digital Link with its own lot number, not the
// engine's stream name.
func TestEPCISNamesTheLotNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	runAll(t, env, []mes.Request{
		{ID: "rel", Model: batch, Subject: "batch-E1", Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "start", Model: batch, Subject: "batch-E1", Command: mes.CmdStart, Actor: "op-7",
			Consume: []event.Consumption{{Lot: "L7", Quantity: mestest.Decimal(t, "1"), Unit: "kg"}}},
		{ID: "done", Model: batch, Subject: "batch-E1", Command: mes.CmdComplete, Actor: "op-7",
			Produce: []mes.Production{{Lot: "FG-1", Material: "TAB-500", GTIN: "04006381333931", Quantity: mestest.Decimal(t, "2"), Unit: "kg"}}},
	})
	g := graphOf(t, env)
	tr, err := g.Backward(ctx, event.LotStream("FG-1"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := genealogy.NewExporter(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := x.EPCIS(tr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "https://id.gs1.org/01/04006381333931/10/FG-1") || strings.Contains(string(doc), "lot%2FFG-1") {
		t.Errorf("EPCIS does not name lot FG-1 by its number:\n%s", doc)
	}
	// The receipt of L7 (50 kg, received through the lot model) carries
	// its quantity.
	var epcis struct {
		EPCISBody struct {
			EventList []struct {
				BizStep      string `json:"bizStep"`
				Action       string `json:"action"`
				QuantityList []struct {
					Quantity json.Number `json:"quantity"`
					UOM      string      `json:"uom"`
				} `json:"quantityList"`
			} `json:"eventList"`
		} `json:"epcisBody"`
	}
	if err := json.Unmarshal(doc, &epcis); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range epcis.EPCISBody.EventList {
		if e.BizStep == "receiving" {
			found = e.Action == "OBSERVE" && len(e.QuantityList) == 1 && e.QuantityList[0].Quantity.String() == "50" && e.QuantityList[0].UOM == "KGM"
		}
	}
	if !found {
		t.Errorf("no receiving event observing 50 KGM of L7:\n%s", doc)
	}
}

// TestFinishedIncludesSplitLots: a finished lot split in two leaves two
// finished lots, both found by a forward trace's Finished, shipped or not.
func TestFinishedIncludesSplitLots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	lot := mestest.Must[*mes.Model](t)(mes.LotModel())
	runAll(t, env, []mes.Request{
		{ID: "rel", Model: batch, Subject: "batch-S1", Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "start", Model: batch, Subject: "batch-S1", Command: mes.CmdStart, Actor: "op-7",
			Consume: []event.Consumption{{Lot: "L7", Quantity: mestest.Decimal(t, "1"), Unit: "kg"}}},
		{ID: "done", Model: batch, Subject: "batch-S1", Command: mes.CmdComplete, Actor: "op-7",
			Produce: []mes.Production{{Lot: "FG-1", Material: "TAB-500", Quantity: mestest.Decimal(t, "10"), Unit: "kg"}}},
		{ID: "split", Model: lot, Subject: event.LotStream("FG-1"), Command: mes.CmdSplit, Actor: "op-7",
			Produce: []mes.Production{{Lot: "FG-1a", Material: "TAB-500", Quantity: mestest.Decimal(t, "4"), Unit: "kg", Kind: event.LinkSplit},
				{Lot: "FG-1b", Material: "TAB-500", Quantity: mestest.Decimal(t, "6"), Unit: "kg", Kind: event.LinkSplit}}},
	})
	g := graphOf(t, env)
	tr, err := g.Forward(ctx, event.LotStream("L7"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Finished(tr), []string{event.LotStream("FG-1a"), event.LotStream("FG-1b")}; !slices.Equal(got, want) {
		t.Errorf("Finished = %v, want %v", got, want)
	}
}

// TestCriticalStepIsMarked: a transition marked Critical records it, and
// the lot graph reports its edges as critical tracking events.
func TestCriticalStepIsMarked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	m := mestest.Must[*mes.Model](t)(mes.NewModel("pack", 1).States("open", "packed").Initial("open").Final("packed").
		Permit("open", mes.CmdComplete, "packed", mes.Recording("pack.done"), mes.Critical()).Build())
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "p1", Model: m, Subject: "batch-C9", Command: mes.CmdComplete, Actor: "op-7",
		Consume: []event.Consumption{{Lot: "L7", Quantity: mestest.Decimal(t, "1"), Unit: "kg"}}}); err != nil {
		t.Fatal(err)
	}
	g := graphOf(t, env)
	tr, err := g.Forward(ctx, event.LotStream("L7"))
	if err != nil {
		t.Fatal(err)
	}
	edges := tr.Edges()
	if len(edges) != 1 || !edges[0].Proof.Critical {
		t.Errorf("edges %+v; want one, critical", edges)
	}
}

// runAll runs reqs in order on env's engine; any error fails the test.
func runAll(t *testing.T, env *mestest.Env, reqs []mes.Request) {
	t.Helper()
	for _, req := range reqs {
		if _, err := env.Engine.Execute(context.Background(), req); err != nil {
			t.Fatalf("%s: %v", req.ID, err)
		}
	}
}

// graphOf builds the lot graph of env's store.
func graphOf(t *testing.T, env *mestest.Env) *genealogy.Graph {
	t.Helper()
	g, err := genealogy.Build(context.Background(), env.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
