package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/device/scale"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/packml"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/storage"
)

// maxResubmits bounds how often loadgen submits a command again after the
// engine gave up on a conflict or its outcome was unknown.
const maxResubmits = 5

// The plant's master data. People, equipment, lots, the product and
// every subject carry the run's id as well, so that runs can share a
// schema (-migrate=false -drop=false) without meeting each other's facts.
const (
	material = "API-100"
	skill    = "dispensing"
)

var (
	dispenseTol = gate.Tolerance{Target: decimal.RequireFromString("12.50"), Below: decimal.RequireFromString("0.05"),
		Above: decimal.RequireFromString("0.05"), Unit: "kg", Bounds: gate.Inclusive}
	checkTol = gate.Tolerance{Target: decimal.RequireFromString("0.500"), Below: decimal.RequireFromString("0.010"),
		Above: decimal.RequireFromString("0.010"), Unit: "kg", Bounds: gate.Inclusive}
)

// plant is the engine, its models and the master data the workers use.
type plant struct {
	cfg         *Config
	store       storage.Store
	engine      *mes.Engine
	attestation *audit.Attested
	retries     *retryCounter
	runID       string

	lot, equip, person, batch *mes.Model
	s10, s20                  *mes.Model // the route's steps
	checkweigh, packml        *mes.Model
	binding                   route.Binding
	parser                    *scale.StreamParser

	// seed counts the commands that made the master data.
	seed tallies
}

// newPlant builds the engine over store and records the plant's master
// data through gated commands: people, scales, lots, an approved route.
func newPlant(ctx context.Context, c *Config, store storage.Store) (*plant, error) {
	// Every run attests with the same key, so that runs sharing a schema
	// verify together. A site keeps its key secret, in a vault; a load
	// generator's records prove nothing to anyone.
	key := sha256.Sum256([]byte("interlock loadgen attestation key"))
	attester, err := audit.NewAttester("loadgen-1", key[:])
	if err != nil {
		return nil, err
	}
	attestation, err := audit.NewAttested(attester)
	if err != nil {
		return nil, err
	}
	p := &plant{cfg: c, store: store, attestation: attestation, retries: newRetryCounter(), seed: tallies{}}
	run := make([]byte, 3)
	if _, err := rand.Read(run); err != nil {
		return nil, err
	}
	p.runID = hex.EncodeToString(run)
	p.engine, err = mes.New(store, &mes.Config{Attestation: attestation, Logger: slog.New(p.retries.handler())})
	if err != nil {
		return nil, err
	}
	if p.parser, err = scale.NewStreamParser(scale.CommaStreamFormat()); err != nil {
		return nil, err
	}
	if err := p.models(); err != nil {
		return nil, err
	}
	if err := p.masterData(ctx); err != nil {
		return nil, fmt.Errorf("master data: %w", err)
	}
	return p, nil
}

func (p *plant) models() error {
	var err error
	if p.lot, err = mes.LotModel(); err != nil {
		return err
	}
	if p.equip, err = mes.EquipmentModel(); err != nil {
		return err
	}
	if p.person, err = mes.PersonModel(); err != nil {
		return err
	}
	bind, err := route.BindOnStart()
	if err != nil {
		return err
	}
	if p.batch, err = lifecycle.Batch(lifecycle.Every(bind)); err != nil {
		return err
	}
	if p.packml, err = packml.Model(); err != nil {
		return err
	}
	// A checkweigher accepts each weight of a running line: the scale
	// ready, the weight stable and within tolerance, from the device.
	var gs []gate.Gate
	for _, g := range []func() (gate.Gate, error){
		func() (gate.Gate, error) { return gate.EquipmentReady(gate.FromRef("scale")) },
		func() (gate.Gate, error) { return gate.WithinTolerance("weight", checkTol) },
		func() (gate.Gate, error) { return gate.RequireStable("weight") },
	} {
		gg, err := g()
		if err != nil {
			return err
		}
		gs = append(gs, gg)
	}
	p.checkweigh, err = mes.NewModel("checkweigh", 1).States("running").Initial("running").
		Permit("running", "weigh", "running", mes.Recording("checkweigh.accepted"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "weight", Sources: []gate.Source{gate.SourceDevice}}), mes.WithGates(gs...)).
		Build()
	return err
}

// theRoute is the master batch record of product every batch runs: S10
// scans a lot of the API and weighs 12.5 kg of it on a scale, S20 records
// the pH.
func theRoute(product string) *route.Route {
	d := decimal.RequireFromString
	lo, hi := d("6.5"), d("7.5")
	return &route.Route{Product: product, Version: 1, Operations: []route.Operation{{ID: "OP10", Name: "Dispensing", Steps: []route.Step{
		{ID: "S10", Instructions: "Scan the API lot and weigh 12.5 kg of it on the scale.", Requirements: []route.Requirement{
			route.ScanLot{Name: "lot-scan", Material: material},
			route.Weigh{Name: "net-weight", Material: material, Target: dispenseTol.Target, Below: dispenseTol.Below, Above: dispenseTol.Above,
				Unit: "kg", Bounds: gate.Inclusive, RequireDevice: true},
		}},
		{ID: "S20", Instructions: "Measure the pH of the solution.", Requirements: []route.Requirement{
			route.RecordValue{Name: "ph", Unit: "pH", Min: &lo, Max: &hi},
		}},
	}}}}
}

// named returns name with the run's id.
func (p *plant) named(name string) string { return name + "-" + p.runID }

func (p *plant) operatorID(i int) string { return p.named(fmt.Sprintf("op-%d", i+1)) }
func (p *plant) scaleID(i int) string    { return p.named(fmt.Sprintf("SC-%d", i+1)) }
func (p *plant) lotID(i int) string      { return p.named(fmt.Sprintf("L-%d", i+1)) }
func (p *plant) machineID(i int) string  { return p.named(fmt.Sprintf("PK-%d", i+1)) }
func (p *plant) supervisor() string      { return p.named("sv-1") }
func (p *plant) product() string         { return p.named("TAB-500") }

func (p *plant) masterData(ctx context.Context) error {
	now := time.Now()
	day := 24 * time.Hour
	fact := func(m *mes.Model, subject string, cmd mes.Command, data any, decl *mes.Declaration) error {
		var raw json.RawMessage
		if data != nil {
			b, err := json.Marshal(data)
			if err != nil {
				return err
			}
			raw = b
		}
		_, err := p.exec(ctx, p.seed, KindSeed, mes.Request{ID: p.id("seed", subject, string(cmd)), Model: m, Subject: subject,
			Command: cmd, Actor: "admin", Data: raw, Declare: decl})
		return err
	}
	type person struct{ id, name, role string }
	people := []person{{p.supervisor(), "Sam Supervisor", "supervisor"}, {p.named("qa-1"), "Quentin QA", "qa"}, {p.named("qa-2"), "Rita QA", "qa"}}
	for i := range p.cfg.Operators {
		people = append(people, person{p.operatorID(i), "Operator " + p.operatorID(i), "operator"})
	}
	for _, who := range people {
		s := event.PersonStream(who.id)
		if err := fact(p.person, s, mes.CmdRegister, map[string]string{"name": who.name}, nil); err != nil {
			return err
		}
		if err := fact(p.person, s, mes.CmdGrantRole, map[string]string{"role": who.role}, nil); err != nil {
			return err
		}
		if who.role == "operator" {
			if err := fact(p.person, s, mes.CmdRecordTrained, map[string]any{"skill": skill, "until": now.Add(180 * day)}, nil); err != nil {
				return err
			}
		}
	}
	for i := range p.cfg.Scales {
		s := event.EquipmentStream(p.scaleID(i))
		if err := fact(p.equip, s, mes.CmdRegister, map[string]string{"status": "available"}, nil); err != nil {
			return err
		}
		if err := fact(p.equip, s, mes.CmdCalibrate, calibration(now), nil); err != nil {
			return err
		}
		if err := fact(p.equip, s, mes.CmdClean, map[string]any{"status": "clean"}, nil); err != nil {
			return err
		}
	}
	for i := range p.cfg.Lots {
		// Enough for any run: a lot that ran out would deny every batch.
		receipt := event.Receipt{Material: material, Quantity: decimal.NewFromInt(1_000_000_000), Unit: "kg", Expiry: now.Add(365 * day)}
		decl := &mes.Declaration{Kind: "lot", Material: material, Supplier: "ACME Pharma", SupplierLot: "A-" + p.lotID(i), IdentitySource: gate.SourceScanner}
		if err := fact(p.lot, event.LotStream(p.lotID(i)), mes.CmdReceive, receipt, decl); err != nil {
			return err
		}
		if err := fact(p.lot, event.LotStream(p.lotID(i)), mes.CmdRelease, nil, nil); err != nil {
			return err
		}
	}
	if p.cfg.Operators == 0 {
		return nil
	}
	routes, err := route.NewRegistry(p.engine, nil)
	if err != nil {
		return err
	}
	r := theRoute(p.product())
	for _, step := range []func() (*mes.Outcome, error){
		func() (*mes.Outcome, error) {
			return routes.Draft(ctx, route.DraftRequest{CommandID: p.id("seed", "draft"), Actor: p.named("qa-1"), Route: r})
		},
		func() (*mes.Outcome, error) {
			return routes.Approve(ctx, route.VersionRequest{CommandID: p.id("seed", "approve"), Actor: p.named("qa-2"), Product: r.Product, Version: r.Version})
		},
	} {
		t := p.seed.of(KindSeed)
		t.Submitted++
		out, err := step()
		if err != nil {
			t.Failed++
			return err
		}
		t.Allowed++
		t.Records += int64(len(out.Records))
	}
	if p.binding, err = routes.Bind(ctx, r.Product, r.Version); err != nil {
		return err
	}
	v, err := routes.Load(ctx, r.Product, r.Version)
	if err != nil {
		return err
	}
	role, err := gate.RequireRole("operator")
	if err != nil {
		return err
	}
	trained, err := gate.TrainingCurrent(skill)
	if err != nil {
		return err
	}
	sc := &route.StepConfig{Options: []mes.Option{mes.WithGates(role, trained)}}
	if p.s10, err = route.StepModel(v, "S10", sc); err != nil {
		return err
	}
	p.s20, err = route.StepModel(v, "S20", sc)
	return err
}

// calibration is a scale's calibration data, made at now: valid for 30
// days, with a minimum weight of 0.1 kg.
func calibration(now time.Time) map[string]any {
	return map[string]any{"status": "valid", "due": now.Add(30 * 24 * time.Hour), "min_weight": "0.1", "min_weight_unit": "kg"}
}

// id returns a command id unique to this run.
func (p *plant) id(parts ...string) string {
	id := p.runID
	for _, s := range parts {
		id += "/" + s
	}
	return id
}

// reading parses a line as a streaming scale sends it into the reading
// the scale adapter gives.
func (p *plant) reading(instrument, line string) (device.Reading, error) {
	w, err := p.parser.Parse([]byte(line))
	if err != nil {
		return device.Reading{}, err
	}
	return device.Reading{Instrument: instrument, Value: w.Value, Unit: w.Unit, Stable: w.Stable, Time: time.Now().UTC(),
		Raw: []byte(line), Source: device.SourceDevice}, nil
}

// evidence is a reading as the evidence named name.
func evidence(name string, r device.Reading) gate.Evidence {
	return gate.Evidence{Name: name, HasValue: true, Value: r.Value, Unit: r.Unit, Source: gate.SourceDevice,
		Instrument: r.Instrument, Stable: r.Stable}
}

// exec submits req until it is decided and counts what it came to in
// ts under kind k. It submits req again, with the same id, after the
// engine gave up on a conflict or could not tell the outcome; both are
// safe (see mes.Engine.Execute). A denial returns the outcome and the
// *mes.DeniedError; any other error means the command failed.
func (p *plant) exec(ctx context.Context, ts tallies, k Kind, req mes.Request) (*mes.Outcome, error) {
	t := ts.of(k)
	t.Submitted++
	kctx := withKind(ctx, k)
	start := time.Now()
	var (
		out     *mes.Outcome
		err     error
		unknown bool
	)
	for attempt := 0; ; attempt++ {
		out, err = p.engine.Execute(kctx, req)
		if attempt == maxResubmits || ctx.Err() != nil {
			break
		}
		if errors.Is(err, storage.ErrConflict) {
			t.Conflicts++
			time.Sleep(time.Duration(attempt+1) * time.Millisecond)
			continue
		}
		if errors.Is(err, storage.ErrOutcomeUnknown) {
			t.Unknown++
			unknown = true
			continue
		}
		break
	}
	t.Latency = append(t.Latency, time.Since(start))
	var denied *mes.DeniedError
	switch {
	case err == nil:
		t.Allowed++
	case errors.As(err, &denied):
		t.Denied++
	default:
		t.Failed++
		if len(t.Errors) < 5 {
			t.Errors = append(t.Errors, fmt.Sprintf("%s %s %s: %v", req.Subject, req.Step, req.Command, err))
		}
		return out, err
	}
	if out != nil {
		if out.Replayed {
			t.Replayed++
		}
		// A replay appended nothing now; after an unknown outcome its
		// records are the ones the lost attempt wrote.
		if !out.Replayed || unknown {
			t.Records += int64(len(out.Records))
		}
	}
	return out, err
}
