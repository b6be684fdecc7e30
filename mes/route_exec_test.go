package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// tabletRoute is version v of a three-step route: S10 scans an API lot and
// weighs it on a floor scale, S20 records a pH within limits, S30 records
// the blend's appearance and is verified by a second person from QA.
// Version 2 weighs 15 kg and adds a temperature step S15.
func tabletRoute(tb testing.TB, v int) *route.Route {
	d := func(s string) decimal.Decimal { return decimalOf(tb, s) }
	ptr := func(s string) *decimal.Decimal { x := d(s); return &x }
	target := "12.5"
	if v > 1 {
		target = "15"
	}
	dispense := []route.Step{{ID: "S10", Instructions: "Scan the API lot and weigh it on the floor scale.", Requirements: []route.Requirement{
		route.ScanLot{Name: "lot-scan", Material: "API-100"},
		route.Weigh{Name: "net-weight", Material: "API-100", Target: d(target), Below: d("0.05"), Above: d("0.05"), Unit: "kg",
			Bounds: gate.Inclusive, InstrumentClass: "floor-scale", RequireDevice: true},
	}, Branches: []route.Branch{{When: &route.Condition{Value: "net-weight", Outside: &route.Range{Min: d("12.45"), Max: d("12.55")}}, OpenException: "deviation"}}}}
	if v > 1 {
		dispense = append(dispense, route.Step{ID: "S15", Instructions: "Record the room temperature.", Requirements: []route.Requirement{
			route.RecordValue{Name: "temp", Unit: "C", Min: ptr("15"), Max: ptr("25")},
		}})
	}
	return &route.Route{Product: "TAB-500", Version: v, Operations: []route.Operation{
		{ID: "OP10", Name: "Dispensing", Steps: append(dispense, route.Step{ID: "S20", Instructions: "Measure the pH of the solution.",
			Requirements: []route.Requirement{route.RecordValue{Name: "ph", Unit: "pH", Min: ptr("6.5"), Max: ptr("7.5")}}})},
		{ID: "OP20", Name: "Blending", Steps: []route.Step{{ID: "S30", Instructions: "Check that the blend is uniform.",
			Requirements: []route.Requirement{route.RecordValue{Name: "appearance"}, route.SecondPersonVerification{Meaning: "verified", Roles: []string{"qa"}}}}}},
	}}
}

var floorScales = &route.StepConfig{InstrumentClasses: map[string][]string{"floor-scale": {"SC-01", "SC-02"}}}

// transitionRow is what a test compares of a transition: its move, the
// names of its gates and its evidence and signature requirements.
type transitionRow struct {
	From, To   mes.State
	Command    mes.Command
	Gates      []string
	Evidence   []mes.EvidenceRequirement
	Signatures []mes.SignatureRequirement
}

func rowsOf(m *mes.Model) []transitionRow {
	var out []transitionRow
	for _, t := range m.Transitions() {
		r := transitionRow{From: t.From, To: t.To, Command: t.Command, Evidence: t.Evidence, Signatures: t.Signatures}
		for _, g := range t.Gates {
			r.Gates = append(r.Gates, gate.Name(g))
		}
		out = append(out, r)
	}
	return out
}

// approvedVersion drafts and approves a route on a memory store and loads it.
func approvedVersion(t *testing.T, r *route.Route) *route.Version {
	t.Helper()
	e, _, f := newEngineOn(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	rs := must[*route.Registry](t)(route.NewRegistry(e, nil))
	f.run("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
	f.run("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
	ctx := context.Background()
	must[*mes.Outcome](t)(rs.Draft(ctx, route.DraftRequest{CommandID: "draft", Actor: "qa-3", Route: r}))
	must[*mes.Outcome](t)(rs.Approve(ctx, route.VersionRequest{CommandID: "approve", Actor: "qa-4", Product: r.Product, Version: r.Version}))
	return must[*route.Version](t)(rs.Load(ctx, r.Product, r.Version))
}

// TestStepModelEnforcesRequirements shows the transitions a route step's
// requirements turn into.
func TestStepModelEnforcesRequirements(t *testing.T) {
	t.Parallel()
	v := approvedVersion(t, tabletRoute(t, 1))
	approve := mes.SignatureRequirement{Meaning: "approved", Count: 1, Roles: route.DefaultSkipRoles, NotPerformer: true, NotActor: true}
	bound := []string{"route-binding"}
	common := func(complete transitionRow, start ...string) []transitionRow {
		return []transitionRow{
			{From: lifecycle.StepPending, To: lifecycle.StepSkipped, Command: mes.CmdSkip, Gates: []string{"route-binding", "route-order", "require-role"},
				Signatures: []mes.SignatureRequirement{approve}},
			{From: lifecycle.StepPending, To: lifecycle.StepInProgress, Command: mes.CmdStart, Gates: append([]string{"route-binding", "route-order"}, start...)},
			{From: lifecycle.StepInProgress, To: lifecycle.StepBlocked, Command: mes.CmdBlock, Gates: bound},
			complete,
			{From: lifecycle.StepBlocked, To: lifecycle.StepInProgress, Command: mes.CmdUnblock, Gates: bound},
		}
	}
	tests := []struct {
		step string
		want []transitionRow
	}{
		{"S10", common(transitionRow{From: lifecycle.StepInProgress, To: lifecycle.StepComplete, Command: mes.CmdComplete,
			Gates: []string{"route-binding", "lot-usable", "equipment-ready", "instrument-class", "within-tolerance", "device-reading",
				"minimum-weight", "gross-minus-tare", "require-stable", "consumed-lots", "route-consumption"},
			Evidence: []mes.EvidenceRequirement{
				{Name: "lot-scan", Sources: []gate.Source{gate.SourceScanner}},
				{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}},
			}}, "equipment-ready", "instrument-class")},
		{"S20", common(transitionRow{From: lifecycle.StepInProgress, To: lifecycle.StepComplete, Command: mes.CmdComplete,
			Gates: []string{"route-binding", "recorded-value", "consumed-lots", "route-consumption"}, Evidence: []mes.EvidenceRequirement{{Name: "ph"}}})},
		{"S30", append(common(transitionRow{From: lifecycle.StepInProgress, To: lifecycle.StepComplete, Command: mes.CmdComplete,
			Gates: []string{"route-binding", "recorded-value", "consumed-lots", "route-consumption"}, Evidence: []mes.EvidenceRequirement{{Name: "appearance"}}}),
			transitionRow{From: lifecycle.StepComplete, To: lifecycle.StepVerified, Command: mes.CmdVerify, Gates: bound,
				Signatures: []mes.SignatureRequirement{{Meaning: "verified", Count: 1, Roles: []string{"qa"}, NotPerformer: true}}})},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			t.Parallel()
			m := must[*mes.Model](t)(route.StepModel(v, tt.step, floorScales))
			if want := "route-step/TAB-500/" + tt.step; m.Name() != want || m.Version() != 1 || !slices.Equal(m.Steps(), []string{tt.step}) {
				t.Errorf("model %s v%d running %v, want %s v1 running %s alone", m.Name(), m.Version(), m.Steps(), want, tt.step)
			}
			if diff := cmp.Diff(tt.want, rowsOf(m)); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
			verifies := slices.ContainsFunc(m.Transitions(), func(t *mes.Transition) bool { return t.Command == mes.CmdVerify })
			if m.IsFinal(lifecycle.StepComplete) == verifies {
				t.Errorf("complete is final: %v; the step verifies: %v; want exactly one", m.IsFinal(lifecycle.StepComplete), verifies)
			}
		})
	}
}

func TestStepModelErrors(t *testing.T) {
	t.Parallel()
	v := approvedVersion(t, tabletRoute(t, 1))
	if _, err := route.StepModel(v, "S99", floorScales); !errors.Is(err, route.ErrUnknownStep) {
		t.Errorf("unknown step: %v, want ErrUnknownStep", err)
	}
	if _, err := route.StepModel(v, "S10", nil); err == nil || !strings.Contains(err.Error(), `class "floor-scale"`) {
		t.Errorf("weighing on an unlisted class: %v, want an error naming the class", err)
	}
	if _, err := route.StepModel(v, "S20", nil); err != nil {
		t.Errorf("a step without weighing needs no classes: %v", err)
	}
	draft := *v
	draft.Status, draft.Approved = route.Draft, route.Event{}
	var na *route.NotApprovedError
	if _, err := route.StepModel(&draft, "S20", nil); !errors.As(err, &na) || na.Status != route.Draft {
		t.Errorf("draft version: %v, want a *RouteNotApprovedError", err)
	}
	twice := tabletRoute(t, 1)
	twice.Operations[1].Steps[0].Requirements = append(twice.Operations[1].Steps[0].Requirements,
		route.SecondPersonVerification{Meaning: "verified", Roles: []string{"production"}})
	v2 := approvedVersion(t, twice)
	if _, err := route.StepModel(v2, "S30", nil); err == nil || !strings.Contains(err.Error(), "different roles") {
		t.Errorf("two verifications of one meaning with other roles: %v, want an error", err)
	}
	twice.Operations[1].Steps[0].Requirements[2] = route.SecondPersonVerification{Meaning: "verified", Roles: []string{"qa"}}
	v3 := approvedVersion(t, twice)
	m := must[*mes.Model](t)(route.StepModel(v3, "S30", nil))
	verify := must[*mes.Transition](t)(m.Transition(lifecycle.StepComplete, mes.CmdVerify))
	want := []mes.SignatureRequirement{{Meaning: "verified", Count: 2, Roles: []string{"qa"}, NotPerformer: true, DistinctSigners: true}}
	if diff := cmp.Diff(want, verify.Signatures); diff != "" {
		t.Errorf("two verifications of one meaning (-want +got):\n%s", diff)
	}
}

func TestStepValues(t *testing.T) {
	t.Parallel()
	r := tabletRoute(t, 1)
	s10, s30 := r.Operations[0].Steps[0], r.Operations[1].Steps[0]
	got := s10.Values([]gate.Evidence{scan("L7"), weight(t, "12.480", gate.SourceDevice, true), {Name: "other", Identity: "x"}})
	if diff := cmp.Diff(map[string]string{"lot-scan": "L7", "net-weight": "12.48"}, got); diff != "" {
		t.Errorf("S10 values (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"appearance": "uniform"}, s30.Values([]gate.Evidence{{Name: "appearance", Identity: "uniform"}})); diff != "" {
		t.Errorf("S30 values (-want +got):\n%s", diff)
	}
	next, err := r.Next("S10", got)
	if err != nil || next != (route.NextStep{Step: "S20"}) {
		t.Errorf("Next after S10 = %+v, %v; want S20", next, err)
	}
}

// routeRun runs a batch on a route through the engine.
type routeRun struct {
	t      *testing.T
	sg     *signing
	routes *route.Registry
	batch  *mes.Model
}

// exec runs req and returns its error; it fails the test on anything but
// success or a denial.
func (rr *routeRun) exec(req mes.Request) (*mes.Outcome, error) {
	rr.t.Helper()
	out, err := rr.sg.e.Execute(context.Background(), req)
	if err != nil && !errors.Is(err, mes.ErrDenied) {
		rr.t.Fatalf("%s %s %s: %v", req.Command, req.Subject, req.Step, err)
	}
	return out, err
}

func (rr *routeRun) ok(req mes.Request) *mes.Outcome {
	rr.t.Helper()
	out, err := rr.exec(req)
	if err != nil {
		rr.t.Fatalf("%s %s %s: %v", req.Command, req.Subject, req.Step, err)
	}
	return out
}

// denied runs req, wants it denied with exactly codes (in any order), the
// denial recorded as the subject's last record with those codes, and the
// state of req's model (and step) unchanged.
func (rr *routeRun) denied(req mes.Request, codes ...gate.Code) {
	rr.t.Helper()
	ctx := context.Background()
	before := must[[]audit.Record](rr.t)(rr.sg.s.Load(ctx, req.Subject, 1))
	_, err := rr.exec(req)
	var de *mes.DeniedError
	if !errors.As(err, &de) {
		rr.t.Fatalf("%s %s %s: error %v, want a denial", req.Command, req.Subject, req.Step, err)
	}
	sorted := func(rs []gate.Reason) []gate.Code {
		var out []gate.Code
		for _, r := range rs {
			out = append(out, r.Code)
		}
		slices.Sort(out)
		return out
	}
	slices.Sort(codes)
	if diff := cmp.Diff(codes, sorted(de.Reasons)); diff != "" {
		rr.t.Errorf("%s %s %s: codes (-want +got):\n%s\nreasons: %v", req.Command, req.Subject, req.Step, diff, de.Reasons)
	}
	after := must[[]audit.Record](rr.t)(rr.sg.s.Load(ctx, req.Subject, 1))
	if len(after) != len(before)+1 {
		rr.t.Fatalf("%s: %d records after the denial, want %d", req.Subject, len(after), len(before)+1)
	}
	last := after[len(after)-1]
	var p event.Transition
	if err := json.Unmarshal(last.Payload, &p); err != nil {
		rr.t.Fatal(err)
	}
	if last.Type != event.Denied || last.Actor != req.Actor || cmp.Diff(codes, sorted(p.Reasons)) != "" {
		rr.t.Errorf("last record %s by %s with reasons %v; want the denial by %s with %v", last.Type, last.Actor, p.Reasons, req.Actor, codes)
	}
	was := must[mes.State](rr.t)(mes.Fold(req.Model, req.Step, before))
	if now := must[mes.State](rr.t)(mes.Fold(req.Model, req.Step, after)); now != was {
		rr.t.Errorf("%s %s moved from %s to %s on a denial", req.Subject, req.Step, was, now)
	}
}

// TestRouteRunsThroughTheEngine approves a route, starts a batch bound to
// it, runs its steps through the engine with every requirement enforced
// (denied attempts recorded with their codes), approves a new version with
// other steps while the batch runs, and shows the batch keeps the version
// it started with; draft and retired versions cannot start a batch.
func TestRouteRunsThroughTheEngine(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		sg := newSigning(t, s, "qa-3", "op-7")
		sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
		sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
		sg.facts.run("lot", event.LotStream("L9"), mes.CmdReceive, event.Receipt{Material: "EXC-200", Quantity: decimalOf(t, "10"), Unit: "kg"})
		sg.facts.run("lot", event.LotStream("L9"), mes.CmdRelease, nil)
		calibrate(sg.facts, "SC-01", "0.5") // route weighings need the scale's minimum weight
		routes := must[*route.Registry](t)(route.NewRegistry(sg.e, nil))
		bindOnStart := must[mes.Option](t)(route.BindOnStart())
		rr := &routeRun{t: t, sg: sg, routes: routes, batch: must[*mes.Model](t)(lifecycle.Batch(lifecycle.WithoutRoles(), lifecycle.Every(bindOnStart)))}

		must[*mes.Outcome](t)(routes.Draft(ctx, route.DraftRequest{CommandID: "draft-v1", Actor: "qa-3", Route: tabletRoute(t, 1)}))
		must[*mes.Outcome](t)(routes.Approve(ctx, route.VersionRequest{CommandID: "approve-v1", Actor: "qa-4", Product: "TAB-500", Version: 1}))
		binding := must[route.Binding](t)(routes.Bind(ctx, "TAB-500", 1))

		// The batch starts bound to v1, which the start's gate checked.
		rr.ok(mes.Request{ID: "B1-release", Model: rr.batch, Subject: "batch-B1", Command: mes.CmdRelease, Actor: "op-7"})
		rr.ok(mes.Request{ID: "B1-start", Model: rr.batch, Subject: "batch-B1", Command: mes.CmdStart, Actor: "op-7",
			Refs: binding.Refs(), Data: binding.Data()})
		step := func(id string) *mes.Model {
			m, v, err := routes.StepModelFor(ctx, "batch-B1", id, floorScales)
			if err != nil {
				t.Fatalf("step model of %s: %v", id, err)
			}
			if v.Route.Version != 1 || v.Digest != binding.Digest {
				t.Fatalf("batch-B1 runs v%d %s, want v1 %s", v.Route.Version, v.Digest, binding.Digest)
			}
			return m
		}
		s10 := step("S10")
		scale := map[string]string{"scale": "SC-01"}
		rr.ok(mes.Request{ID: "S10-start", Model: s10, Subject: "batch-B1", Step: "S10", Command: mes.CmdStart, Actor: "op-7", Refs: scale})
		complete := func(id string, ev ...gate.Evidence) mes.Request {
			return mes.Request{ID: id, Model: s10, Subject: "batch-B1", Step: "S10", Command: mes.CmdComplete, Actor: "op-7", Refs: scale, Evidence: ev}
		}
		typed := weight(t, "12.50", gate.SourceManual, true)
		typed.Instrument = ""
		otherScale := weight(t, "12.50", gate.SourceDevice, true)
		otherScale.Instrument = "SC-02"
		rr.denied(complete("S10-bare"), gate.CodeEvidenceMissing, gate.CodeEvidenceMissing)
		rr.denied(complete("S10-wrong", scan("L9"), weight(t, "12.61", gate.SourceDevice, true)),
			gate.CodeLotWrongMaterial, gate.CodeAboveUpperLimit)
		rr.denied(complete("S10-typed", scan("L7"), typed), "evidence.wrong-source")
		rr.denied(complete("S10-unstable", scan("L7"), weight(t, "12.50", gate.SourceDevice, false)), gate.CodeUnstable)
		rr.denied(complete("S10-other-scale", scan("L7"), otherScale), route.CodeWrongInstrument, mes.CodeContextInstrument)
		evidence := []gate.Evidence{scan("L7"), weight(t, "12.48", gate.SourceDevice, true)}
		if out := rr.ok(complete("S10-done", evidence...)); out.To != lifecycle.StepComplete {
			t.Fatalf("S10 complete moved to %s", out.To)
		}
		v1 := must[*route.Version](t)(routes.Load(ctx, "TAB-500", 1))
		if next := must[route.NextStep](t)(v1.Route.Next("S10", v1.Route.Operations[0].Steps[0].Values(evidence))); next != (route.NextStep{Step: "S20"}) {
			t.Fatalf("after S10 the route goes to %+v, want S20", next)
		}

		// A new version with other steps, approved while the batch runs.
		batchBefore := must[[]audit.Record](t)(s.Load(ctx, "batch-B1", 1))
		must[*mes.Outcome](t)(routes.Draft(ctx, route.DraftRequest{CommandID: "draft-v2", Actor: "qa-3", Route: tabletRoute(t, 2)}))
		must[*mes.Outcome](t)(routes.Approve(ctx, route.VersionRequest{CommandID: "approve-v2", Actor: "qa-4", Product: "TAB-500", Version: 2}))
		v2 := must[*route.Version](t)(routes.Load(ctx, "TAB-500", 2))
		if v2.Digest == binding.Digest {
			t.Fatal("v2 has v1's digest")
		}
		batchAfter := must[[]audit.Record](t)(s.Load(ctx, "batch-B1", 1))
		if diff := cmp.Diff(batchBefore, batchAfter); diff != "" {
			t.Errorf("approving v2 changed batch-B1's records (-before +after):\n%s", diff)
		}
		if got := must[*route.Version](t)(routes.VerifyBinding(ctx, batchAfter)); got.Route.Version != 1 || got.Digest != binding.Digest {
			t.Errorf("VerifyBinding = v%d %s, want v1 %s", got.Route.Version, got.Digest, binding.Digest)
		}
		if st := must[mes.State](t)(mes.Fold(s10, "S10", batchAfter)); st != lifecycle.StepComplete {
			t.Errorf("S10 of batch-B1 is %s after v2, want complete", st)
		}
		// v2's steps do not run on a batch bound to v1.
		s15v2 := must[*mes.Model](t)(route.StepModel(v2, "S15", nil))
		rr.denied(mes.Request{ID: "S15-v2", Model: s15v2, Subject: "batch-B1", Step: "S15", Command: mes.CmdStart, Actor: "op-7"}, route.CodeOtherVersion)
		s20v2 := must[*mes.Model](t)(route.StepModel(v2, "S20", nil))
		rr.denied(mes.Request{ID: "S20-v2", Model: s20v2, Subject: "batch-B1", Step: "S20", Command: mes.CmdStart, Actor: "op-7"}, route.CodeOtherVersion)
		// A step outside a bound batch does not run at all.
		rr.denied(mes.Request{ID: "S20-unbound", Model: step("S20"), Subject: "batch-B9", Step: "S20", Command: mes.CmdStart, Actor: "op-7"}, route.CodeNotBound)

		// The batch goes on with v1's S20 and S30.
		s20 := step("S20")
		rr.ok(mes.Request{ID: "S20-start", Model: s20, Subject: "batch-B1", Step: "S20", Command: mes.CmdStart, Actor: "op-7"})
		ph := func(v, unit string) gate.Evidence {
			return gate.Evidence{Name: "ph", HasValue: true, Value: decimalOf(t, v), Unit: unit, Source: gate.SourceDevice, Instrument: ""}
		}
		s20Complete := func(id string, ev ...gate.Evidence) mes.Request {
			return mes.Request{ID: id, Model: s20, Subject: "batch-B1", Step: "S20", Command: mes.CmdComplete, Actor: "op-7", Evidence: ev}
		}
		rr.denied(s20Complete("S20-high", ph("7.9", "pH")), gate.CodeAboveUpperLimit)
		rr.denied(s20Complete("S20-low", ph("6.49", "pH")), gate.CodeBelowLowerLimit)
		rr.denied(s20Complete("S20-unit", ph("7", "")), gate.CodeUnitMismatch)
		rr.ok(s20Complete("S20-done", ph("7.5", "pH")))

		s30 := step("S30")
		rr.ok(mes.Request{ID: "S30-start", Model: s30, Subject: "batch-B1", Step: "S30", Command: mes.CmdStart, Actor: "op-7"})
		rr.denied(mes.Request{ID: "S30-empty", Model: s30, Subject: "batch-B1", Step: "S30", Command: mes.CmdComplete, Actor: "op-7",
			Evidence: []gate.Evidence{{Name: "appearance", Source: gate.SourceManual}}}, gate.CodeValueMissing)
		rr.ok(mes.Request{ID: "S30-done", Model: s30, Subject: "batch-B1", Step: "S30", Command: mes.CmdComplete, Actor: "op-7",
			Evidence: []gate.Evidence{{Name: "appearance", Identity: "uniform", Source: gate.SourceManual}}})
		verify := func(id, actor string, signers ...string) mes.Request {
			req := mes.Request{ID: id, Model: s30, Subject: "batch-B1", Step: "S30", Command: mes.CmdVerify, Actor: actor}
			for _, who := range signers {
				req.Signatures = append(req.Signatures, mes.Sign{Meaning: "verified", Challenge: full(who)})
			}
			return req
		}
		rr.denied(verify("S30-verify-unsigned", "qa-3"), mes.CodeSignatureMissing)
		rr.denied(verify("S30-verify-self", "op-7", "op-7"), mes.CodeSignatureSelf, mes.CodeSignatureRole)
		out := rr.ok(verify("S30-verify", "qa-3", "qa-3"))
		if out.To != lifecycle.StepVerified || len(out.Signatures) != 1 || out.Signatures[0].Manifestation.SignerID != "qa-3" ||
			out.Signatures[0].Manifestation.Meaning != signature.Meaning("verified") {
			t.Errorf("verification: to %s with signatures %+v; want verified, signed by qa-3", out.To, out.Signatures)
		}

		// Draft and retired versions cannot start a batch.
		must[*mes.Outcome](t)(routes.Draft(ctx, route.DraftRequest{CommandID: "draft-v3", Actor: "qa-3", Route: &route.Route{Product: "TAB-500", Version: 3, Operations: tabletRoute(t, 1).Operations}}))
		var na *route.NotApprovedError
		if _, err := routes.Bind(ctx, "TAB-500", 3); !errors.As(err, &na) || na.Status != route.Draft {
			t.Errorf("Bind(draft v3) = %v, want a *RouteNotApprovedError for a draft", err)
		}
		v3 := must[*route.Version](t)(routes.Load(ctx, "TAB-500", 3))
		draft := route.Binding{Product: "TAB-500", Version: 3, Digest: v3.Digest}
		rr.ok(mes.Request{ID: "B2-release", Model: rr.batch, Subject: "batch-B2", Command: mes.CmdRelease, Actor: "op-7"})
		rr.denied(mes.Request{ID: "B2-start", Model: rr.batch, Subject: "batch-B2", Command: mes.CmdStart, Actor: "op-7",
			Refs: draft.Refs(), Data: draft.Data()}, route.CodeNotApproved)
		rr.denied(mes.Request{ID: "B2-start-unbound", Model: rr.batch, Subject: "batch-B2", Command: mes.CmdStart, Actor: "op-7"}, gate.CodeRefMissing)

		must[*mes.Outcome](t)(routes.Retire(ctx, route.VersionRequest{CommandID: "retire-v1", Actor: "qa-4", Product: "TAB-500", Version: 1}))
		if _, err := routes.Bind(ctx, "TAB-500", 1); !errors.As(err, &na) || na.Status != route.Retired {
			t.Errorf("Bind(retired v1) = %v, want a *RouteNotApprovedError for a retired version", err)
		}
		rr.ok(mes.Request{ID: "B3-release", Model: rr.batch, Subject: "batch-B3", Command: mes.CmdRelease, Actor: "op-7"})
		rr.denied(mes.Request{ID: "B3-start", Model: rr.batch, Subject: "batch-B3", Command: mes.CmdStart, Actor: "op-7",
			Refs: binding.Refs(), Data: binding.Data()}, route.CodeNotApproved)
		// The running batch keeps its retired version to the end.
		if m := step("S30"); m.Version() != 1 {
			t.Errorf("batch-B1's step model is v%d after retirement, want v1", m.Version())
		}
		if out := rr.ok(mes.Request{ID: "B1-complete", Model: rr.batch, Subject: "batch-B1", Command: mes.CmdComplete, Actor: "op-7"}); out.To != lifecycle.BatchComplete {
			t.Errorf("batch-B1 complete moved to %s", out.To)
		}
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("audit trail: %v", err)
		}
	})
}
