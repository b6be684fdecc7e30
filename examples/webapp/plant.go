package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/exception"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/release"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// demoPassword is every seeded person's signing password. The page says so.
const demoPassword = "demo-password"

// weighStepID is the route's dispensing step, the one with a screen of
// its own (scan, scale, signature); the others are started and
// completed at a button (tasks.go).
const weighStepID = "S10-weigh-api"

// scannerID is the station's barcode scanner.
const scannerID = "SCN-1"

// person is someone who can sign in.
type person struct {
	ID, Name, Role string
}

var people = []person{
	{"op-7", "Olga Operator", "operator"},
	{"op-8", "Oscar Operator (not trained)", "operator"},
	{"qa-3", "Quentin QA", "qa"},
	{"qa-4", "Rita Release", "qa"},
	{"sv-1", "Sam Supervisor", "supervisor"},
}

// batches are the batches the plant is seeded with: B-2026-001 has its
// weighing step to do, B-2026-000 is made and waits for release.
var batches = []string{"batch/B-2026-001", "batch/B-2026-000"}

// plant is the engine and everything the pages read.
type plant struct {
	store       storage.Store
	engine      *mes.Engine
	attestation *audit.Attested
	graph       *genealogy.Graph
	registry    *mes.Registry
	lot, equip  *mes.Model
	person      *mes.Model
	batch       *mes.Model
	routes      *route.Registry // the product's versioned routes
	// steps are the models of the approved route's steps, by step id,
	// built from the route version as it is on the record.
	steps      map[string]*mes.Model
	release    *mes.Model
	handover   *mes.Model
	tasks      []task // the steps after the weighing
	exceptions *exception.Service
	releaseCfg *release.Config
	clock      storage.Clock
	n          int
	// checkpoint is signed once the plant is seeded; the audit page
	// verifies the record against it. A site signs them on a schedule and
	// keeps them outside the database (storage.Witness).
	checkpoint     *audit.Checkpoint
	checkpointKeys *audit.Keys
}

// newPlant builds the engine over store and, on a store that has not been
// seeded yet, records the demo plant's master data, people and batches
// through gated commands. keys are the plant's secrets; nil makes new ones
// (a store they were not made for is then unreadable on the next start:
// the engine does not fold records it cannot prove it wrote).
func newPlant(ctx context.Context, store storage.Store, clock storage.Clock, k *keys) (*plant, error) {
	if k == nil {
		var err error
		if k, err = newKeys(); err != nil {
			return nil, err
		}
	}
	attester, err := audit.NewAttester("webapp-1", k.Attest)
	if err != nil {
		return nil, err
	}
	attestation, err := audit.NewAttested(attester)
	if err != nil {
		return nil, err
	}
	trail, err := mes.NewAuthTrail(store, attestation)
	if err != nil {
		return nil, err
	}
	creds, err := mes.NewCredentials(store, attestation)
	if err != nil {
		return nil, err
	}
	auth, err := signature.NewPasswordAuthenticator(&signature.Config{
		Store: creds, Observer: trail, Clock: signature.Clock(clock), MaxFailures: 5,
		// Cheap enough for a demo that starts in a blink; a site keeps
		// signature.DefaultArgon2Params.
		Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32},
	})
	if err != nil {
		return nil, err
	}
	signer, err := signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: k.Seal, Clock: signature.Clock(clock)})
	if err != nil {
		return nil, err
	}
	seeded, err := isSeeded(ctx, store, attestation)
	if err != nil {
		return nil, err
	}
	if !seeded {
		if _, err := trail.RecordSigningKey(ctx, signer.PublicKey(), "admin"); err != nil {
			return nil, err
		}
	}
	engine, err := mes.New(store, &mes.Config{Clock: clock, Signer: signer, Attestation: attestation})
	if err != nil {
		return nil, err
	}
	p := &plant{store: store, engine: engine, attestation: attestation, clock: clock}
	if p.lot, err = mes.LotModel(); err != nil {
		return nil, err
	}
	if p.equip, err = mes.EquipmentModel(); err != nil {
		return nil, err
	}
	if p.person, err = mes.PersonModel(); err != nil {
		return nil, err
	}
	if p.routes, err = route.NewRegistry(engine, nil); err != nil {
		return nil, err
	}
	// A batch binds the approved route version it runs when it starts.
	bind, err := route.BindOnStart()
	if err != nil {
		return nil, err
	}
	if p.batch, err = lifecycle.Batch(lifecycle.Every(bind)); err != nil {
		return nil, err
	}
	p.tasks = newTasks()
	if p.handover, err = handoverModel(); err != nil {
		return nil, err
	}
	if err := trail.Gate(engine, p.person); err != nil {
		return nil, err
	}
	if p.exceptions, err = exception.New(engine, &exception.Config{Batch: p.batch, Lot: p.lot, Equipment: p.equip}); err != nil {
		return nil, err
	}
	if !seeded {
		if err := p.seedMaster(ctx, auth); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	// The steps run as the approved route version on the record says,
	// read and checked against its digest: the route, not the app, is the
	// master batch record.
	v, err := p.routes.Load(ctx, product, routeVersion)
	if err != nil {
		return nil, fmt.Errorf("route %s v%d: %w", product, routeVersion, err)
	}
	if p.steps, err = stepModels(v); err != nil {
		return nil, err
	}
	// A deviation that blocks a step blocks it through the route's model
	// of that step.
	if p.exceptions, err = exception.New(engine, &exception.Config{Batch: p.batch, Lot: p.lot, Equipment: p.equip, Steps: p.steps}); err != nil {
		return nil, err
	}
	if !seeded {
		if err := p.seedBatches(ctx); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	keys, err := mes.SigningKeys(ctx, store, attestation)
	if err != nil {
		return nil, err
	}
	p.releaseCfg = &release.Config{SigningKeys: keys, Steps: release.RequiredSteps(v.Route)}
	if p.release, err = release.Model(p.releaseCfg, []string{"qa"}); err != nil {
		return nil, err
	}
	models := []*mes.Model{p.lot, p.equip, p.person, p.batch, p.routes.Model(), p.release, p.exceptions.Model(), p.handover}
	for _, s := range v.Route.Steps() {
		models = append(models, p.steps[s.ID])
	}
	if p.registry, err = mes.NewRegistry(models...); err != nil {
		return nil, err
	}
	if p.graph, err = genealogy.New(store, nil); err != nil {
		return nil, err
	}
	if p.checkpointKeys, err = audit.NewKeys(k.Checkpoint.Public().(ed25519.PublicKey)); err != nil {
		return nil, err
	}
	p.checkpoint, err = storage.Checkpoint(ctx, store, k.Checkpoint, clock())
	if errors.Is(err, storage.ErrConflict) {
		// A start on a store where nothing was written since the last
		// start finds that start's checkpoint at the same position.
		p.checkpoint, err = store.LatestCheckpoint(ctx, p.checkpointKeys)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return p, nil
}

// stepModels builds the models of route version v's steps. The route
// says what each step checks (the lot scan, the weighing on the scale,
// QA's verification, the order of the steps); the plant adds who may do
// it: a trained operator starts the dispensing, an operator starts and
// completes every step, and the mixer must be ready to start mixing. These
// guard the start and the completion alone, so QA's verification is
// judged by its signature's rules.
func stepModels(v *route.Version) (map[string]*mes.Model, error) {
	operator, err := gate.RequireRole("operator")
	if err != nil {
		return nil, err
	}
	trained, err := gate.TrainingCurrent("dispensing")
	if err != nil {
		return nil, err
	}
	mixer, err := gate.EquipmentReady(gate.FromRef("equipment"))
	if err != nil {
		return nil, err
	}
	start := map[string][]gate.Gate{weighStepID: {operator, trained}, mixStepID: {operator, mixer}, packStepID: {operator}}
	out := map[string]*mes.Model{}
	for _, s := range v.Route.Steps() {
		gs, ok := start[s.ID]
		if !ok {
			return nil, fmt.Errorf("route %s v%d has step %s, which the app has no screen for", v.Route.Product, v.Route.Version, s.ID)
		}
		m, err := route.StepModel(v, s.ID, &route.StepConfig{ScaleRef: "scale", LotRef: "lot", Options: []mes.Option{
			mes.ForCommand(mes.CmdStart, mes.WithGates(gs...)),
			mes.ForCommand(mes.CmdComplete, mes.WithGates(operator)),
		}})
		if err != nil {
			return nil, err
		}
		out[s.ID] = m
	}
	return out, nil
}

// minWeight is scale SC-01's minimum weight, from its calibration.
var minWeight = decimal.RequireFromString("0.50")

// tolerance is the weighing step's band.
var tolerance = gate.Tolerance{Target: decimal.RequireFromString("12.50"),
	Below: decimal.RequireFromString("0.05"), Above: decimal.RequireFromString("0.05"), Unit: "kg", Bounds: gate.Inclusive}

// exec runs a seeding command and fails on anything but an allowed outcome.
func (p *plant) exec(ctx context.Context, req mes.Request) error {
	p.n++
	req.ID = fmt.Sprintf("seed-%03d", p.n)
	if _, err := p.engine.Execute(ctx, req); err != nil {
		return fmt.Errorf("%s %s %s: %w", req.Subject, req.Step, req.Command, err)
	}
	return nil
}

func (p *plant) fact(ctx context.Context, m *mes.Model, subject string, cmd mes.Command, data any, decl *mes.Declaration) error {
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		raw = b
	}
	return p.exec(ctx, mes.Request{Model: m, Subject: subject, Command: cmd, Actor: "admin", Data: raw, Declare: decl})
}

// seedMaster records the plant's people, equipment, lots and the
// product's approved route.
func (p *plant) seedMaster(ctx context.Context, auth *signature.PasswordAuthenticator) error {
	now := p.clock()
	day := 24 * time.Hour
	for _, who := range people {
		s := event.PersonStream(who.ID)
		if err := p.fact(ctx, p.person, s, mes.CmdRegister, map[string]string{"name": who.Name}, nil); err != nil {
			return err
		}
		if err := p.fact(ctx, p.person, s, mes.CmdGrantRole, map[string]string{"role": who.Role}, nil); err != nil {
			return err
		}
		if who.ID == "op-7" {
			if err := p.fact(ctx, p.person, s, mes.CmdRecordTrained, map[string]any{"skill": "dispensing", "until": now.Add(180 * day)}, nil); err != nil {
				return err
			}
		}
		if err := auth.SetCredential(ctx, "admin", who.ID, who.Name, signature.NewSecret(demoPassword)); err != nil {
			return err
		}
	}
	sc := event.EquipmentStream("SC-01")
	if err := p.fact(ctx, p.equip, sc, mes.CmdRegister, map[string]string{"status": "available"}, nil); err != nil {
		return err
	}
	// The calibration records the scale's minimum weight (USP <41>): a
	// route's weighing below it is refused, and without one every
	// weighing on the scale is.
	if err := p.fact(ctx, p.equip, sc, mes.CmdCalibrate, map[string]any{"status": "valid", "due": now.Add(30 * day),
		"min_weight": minWeight, "min_weight_unit": "kg"}, nil); err != nil {
		return err
	}
	if err := p.fact(ctx, p.equip, sc, mes.CmdClean, map[string]any{"status": "clean"}, nil); err != nil {
		return err
	}
	// The mixer's speed sensor is calibrated like the scale.
	mx := event.EquipmentStream(mixerID)
	if err := p.fact(ctx, p.equip, mx, mes.CmdRegister, map[string]string{"status": "available"}, nil); err != nil {
		return err
	}
	if err := p.fact(ctx, p.equip, mx, mes.CmdCalibrate, map[string]any{"status": "valid", "due": now.Add(90 * day)}, nil); err != nil {
		return err
	}
	if err := p.fact(ctx, p.equip, mx, mes.CmdClean, map[string]any{"status": "clean"}, nil); err != nil {
		return err
	}
	// Lots in each status: released, in quarantine, on hold.
	for _, l := range []struct {
		id, material, supplier, supplierLot string
		release, hold                       bool
	}{
		{"L7", "API-100", "ACME Pharma", "A-77", true, false},
		{"L8", "API-100", "ACME Pharma", "A-78", false, false},
		{"L9", "EXC-200", "Lactose & Co", "LC-2291", true, false},
		{"L10", "API-100", "ACME Pharma", "A-80", true, true},
	} {
		receipt := event.Receipt{Material: l.material, Quantity: decimal.RequireFromString("50"), Unit: "kg", Expiry: now.Add(365 * day)}
		decl := &mes.Declaration{Kind: "lot", Material: l.material, Supplier: l.supplier, SupplierLot: l.supplierLot, IdentitySource: gate.SourceScanner}
		if err := p.fact(ctx, p.lot, event.LotStream(l.id), mes.CmdReceive, receipt, decl); err != nil {
			return err
		}
		if l.release {
			if err := p.fact(ctx, p.lot, event.LotStream(l.id), mes.CmdRelease, nil, nil); err != nil {
				return err
			}
		}
		if l.hold {
			p.n++
			if _, err := p.exceptions.PlaceHold(ctx, exception.By{CommandID: fmt.Sprintf("seed-%03d", p.n), Actor: "qa-3"},
				exception.Hold{Target: exception.HoldLot, ID: l.id, Reason: "supplier's certificate of analysis under query"}); err != nil {
				return fmt.Errorf("hold %s: %w", l.id, err)
			}
		}
	}
	// The product's route is drafted by one person and approved by
	// another, through the engine.
	_, err := p.seedRoute(ctx)
	return err
}

// seedBatches releases and starts the demo batches, each bound to the
// approved route version on its start, and makes B-2026-000 through the
// route's steps.
func (p *plant) seedBatches(ctx context.Context) error {
	binding, err := p.routes.Bind(ctx, product, routeVersion)
	if err != nil {
		return err
	}
	// Both batches are released to the floor and started, each bound to
	// the approved route version on its start.
	for _, b := range batches {
		if err := p.exec(ctx, mes.Request{Model: p.batch, Subject: b, Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
			return err
		}
		if err := p.exec(ctx, mes.Request{Model: p.batch, Subject: b, Command: mes.CmdStart, Actor: "op-7",
			Refs: binding.Refs(), Data: binding.Data()}); err != nil {
			return err
		}
	}
	// B-2026-000 is made: weighed on the scale, verified, and its lot FG-0
	// produced, so that genealogy and review have a whole story to show.
	const done = "batch/B-2026-000"
	refs := map[string]string{"scale": "SC-01"}
	for _, r := range []mes.Request{
		{Command: mes.CmdStart, Actor: "op-7", Refs: refs},
		{Command: mes.CmdComplete, Actor: "op-7", Refs: refs,
			Evidence: []gate.Evidence{{Name: "lot-scan", Identity: "L7", Source: gate.SourceScanner, Instrument: scannerID},
				{Name: "net-weight", HasValue: true, Value: decimal.RequireFromString("12.49"), Unit: "kg",
					Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}},
			Consume: []event.Consumption{{Lot: "L7", Quantity: decimal.RequireFromString("12.49"), Unit: "kg"}}},
		{Command: mes.CmdVerify, Actor: "qa-3", Signatures: []mes.Sign{{Meaning: "verified", Reason: "net weight checked on SC-01",
			Challenge: signature.Challenge{UserID: "qa-3", Secret: signature.NewSecret(demoPassword)}}}},
	} {
		r.Model, r.Subject, r.Step = p.steps[weighStepID], done, weighStepID
		if err := p.exec(ctx, r); err != nil {
			return err
		}
	}
	for i := range p.tasks {
		t := &p.tasks[i]
		for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
			if err := p.exec(ctx, p.taskRequest(t, done, "op-7", c)); err != nil {
				return err
			}
		}
	}
	return p.exec(ctx, mes.Request{Model: p.batch, Subject: done, Command: mes.CmdComplete, Actor: "op-7",
		Produce: []mes.Production{{Lot: "FG-0", Material: product, Quantity: decimal.RequireFromString("1000"), Unit: "ea", GTIN: "09506000134352"}}})
}

// The product the demo makes, and the version of its route the batches
// run.
const (
	product      = "TAB-500"
	routeVersion = 1
)

// demoRoute is the master batch record of the product: weigh 12.5 kg of
// a scanned lot of API-100 on the scale (a tare is allowed) and have QA
// verify it, then mix the blend, then pack the tablets.
func demoRoute() *route.Route {
	return &route.Route{Product: product, Version: routeVersion,
		// A batch makes 1000 tablets; 98 % to 101 % of that is accepted.
		Yield: &route.Yield{Expected: decimal.RequireFromString("1000"), Unit: "ea",
			Range: route.Range{Min: decimal.RequireFromString("98"), Max: decimal.RequireFromString("101")}},
		Operations: []route.Operation{
			{ID: "OP10", Name: "Dispensing", Steps: []route.Step{
				{ID: weighStepID, Instructions: "Scan the API-100 lot and weigh 12.50 kg of it on scale SC-01; QA verifies the weighing.",
					Requirements: []route.Requirement{
						// A lot id typed in (or from a keyboard-wedge scanner)
						// is accepted and listed for QA as manual entry.
						route.ScanLot{Name: "lot-scan", Material: "API-100", AllowTyped: true},
						route.Weigh{Name: "net-weight", Material: "API-100", Target: tolerance.Target, Below: tolerance.Below, Above: tolerance.Above,
							Unit: tolerance.Unit, Bounds: tolerance.Bounds},
						route.SecondPersonVerification{Meaning: "verified", Roles: []string{"qa"}},
					}},
			}},
			{ID: "OP20", Name: "Blending", Steps: []route.Step{
				{ID: mixStepID, Instructions: "Mix the blend on mixer " + mixerID + "."},
			}},
			{ID: "OP30", Name: "Packaging", Steps: []route.Step{
				{ID: packStepID, Instructions: "Pack the tablets."},
			}},
		}}
}

// seedRoute drafts the demo route (qa-3) and approves it (qa-4) unless
// the store has it already, and returns the binding of the approved
// version. The command ids are the seed's, so a retried seed replays
// them rather than recording them twice.
func (p *plant) seedRoute(ctx context.Context) (route.Binding, error) {
	r := demoRoute()
	if err := r.Validate(); err != nil {
		return route.Binding{}, err
	}
	if b, err := p.routes.Bind(ctx, r.Product, r.Version); err == nil {
		return b, nil
	}
	p.n++
	if _, err := p.routes.Draft(ctx, route.DraftRequest{CommandID: fmt.Sprintf("seed-%03d", p.n), Actor: "qa-3", Route: r}); err != nil {
		return route.Binding{}, fmt.Errorf("draft route %s v%d: %w", r.Product, r.Version, err)
	}
	p.n++
	if _, err := p.routes.Approve(ctx, route.VersionRequest{CommandID: fmt.Sprintf("seed-%03d", p.n), Actor: "qa-4",
		Product: r.Product, Version: r.Version}); err != nil {
		return route.Binding{}, fmt.Errorf("approve route %s v%d: %w", r.Product, r.Version, err)
	}
	return p.routes.Bind(ctx, r.Product, r.Version)
}

// seededStream is the first stream the seed writes: a store that has it
// was seeded by an earlier start, and is not seeded again.
var seededStream = event.PersonStream(people[0].ID)

func isSeeded(ctx context.Context, r storage.Reader, attest *audit.Attested) (bool, error) {
	recs, err := storage.LoadPage(ctx, r, seededStream, 1, 1)
	if err != nil {
		return false, err
	}
	if len(recs) == 0 {
		return false, nil
	}
	// Records another key attested are not folded into any state: say so
	// now rather than serve a plant that looks empty.
	if err := attest.Check(&recs[0]); err != nil {
		return false, fmt.Errorf("the store was seeded with other keys than these (a lost or wrong key file?): %w", err)
	}
	return true, nil
}

// personName returns the name of the person id, or "" for nobody.
func personName(id string) string {
	for _, p := range people {
		if p.ID == id {
			return p.Name
		}
	}
	return ""
}

// errNotFound marks a page about something the plant does not have.
var errNotFound = errors.New("not found")
