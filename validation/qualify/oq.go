package qualify

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/exception"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/release"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
)

// plant is OQ's engine on the fresh schema, and what it needs to sign.
type plant struct {
	store       *postgres.Store
	engine      *mes.Engine
	attestation *audit.Attested
	auth        *signature.PasswordAuthenticator
	models      map[string]*mes.Model
	clock       func() time.Time
	n           int
}

// oqSecret is every OQ person's signing secret; the schema is dropped
// after the run.
const oqSecret = "oq secret, dropped with its schema"

func newPlant(ctx context.Context, c *Config) (*plant, error) {
	// Verification reads the whole record; it waits for transactions
	// elsewhere in the cluster rather than find a record it could not yet
	// read missing (see postgres.Store.ReadAll).
	store, err := postgres.New(c.Pool, &postgres.Config{Schema: c.OQSchema, Clock: c.Clock, ReadAllWait: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	// Fresh keys for each run: OQ proves the behaviour, not the site's keys.
	attestKey := make([]byte, 32)
	rand.Read(attestKey)
	attester, err := audit.NewAttester("qualify-oq", attestKey)
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
		Store: creds, Observer: trail, Clock: signature.Clock(c.Clock), MaxFailures: 3,
		Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32},
	})
	if err != nil {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: key, Clock: signature.Clock(c.Clock)})
	if err != nil {
		return nil, err
	}
	if _, err := trail.RecordSigningKey(ctx, signer.PublicKey(), "admin"); err != nil {
		return nil, err
	}
	engine, err := mes.New(store, &mes.Config{Clock: c.Clock, Signer: signer, Attestation: attestation})
	if err != nil {
		return nil, err
	}
	p := &plant{store: store, engine: engine, attestation: attestation, auth: auth, models: map[string]*mes.Model{}, clock: c.Clock}
	builds := []struct {
		name  string
		build func() (*mes.Model, error)
	}{
		{"lot", func() (*mes.Model, error) { return mes.LotModel() }},
		{"equipment", func() (*mes.Model, error) { return mes.EquipmentModel() }},
		{"person", func() (*mes.Model, error) { return mes.PersonModel() }},
		{"batch", func() (*mes.Model, error) { return lifecycle.Batch() }},
		{"weigh", weighStep},
		{"mix", mixStep},
		{"release", func() (*mes.Model, error) { return release.Model(nil, []string{"qa"}) }},
	}
	for _, b := range builds {
		if p.models[b.name], err = b.build(); err != nil {
			return nil, fmt.Errorf("model %s: %w", b.name, err)
		}
	}
	if err := trail.Gate(engine, p.models["person"]); err != nil {
		return nil, err
	}
	return p, nil
}

// weighStep needs, to start, a trained operator, a ready scale and a
// usable lot of API-100 that was scanned; to complete, a stable device
// weight; to verify, a QA signature by someone who did not weigh.
func weighStep() (*mes.Model, error) {
	var gs []gate.Gate
	for _, g := range []func() (gate.Gate, error){
		func() (gate.Gate, error) { return gate.RequireRole("operator") },
		func() (gate.Gate, error) { return gate.TrainingCurrent("dispensing") },
		func() (gate.Gate, error) { return gate.EquipmentReady(gate.FromRef("scale")) },
		func() (gate.Gate, error) { return gate.LotUsable(gate.FromRef("lot"), "API-100") },
		func() (gate.Gate, error) { return gate.EvidencePresent("lot-scan", gate.FromRef("lot")) },
	} {
		gg, err := g()
		if err != nil {
			return nil, err
		}
		gs = append(gs, gg)
	}
	stable, err := gate.RequireStable("net-weight")
	if err != nil {
		return nil, err
	}
	return mes.NewModel("oq-weigh", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepComplete, lifecycle.StepVerified).
		Initial(lifecycle.StepPending).Final(lifecycle.StepVerified).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"), mes.WithGates(gs...)).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}}),
			mes.WithGates(stable)).
		Permit(lifecycle.StepComplete, mes.CmdVerify, lifecycle.StepVerified, mes.Recording("step.verified"),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "verified", Count: 1, Roles: []string{"qa"}, NotPerformer: true})).
		Build()
}

// mixStep may start only after the weighing step S10 is complete or
// verified.
func mixStep() (*mes.Model, error) {
	prior, err := gate.PriorSteps([]gate.StepState{gate.StepComplete, gate.StepVerified}, "S10")
	if err != nil {
		return nil, err
	}
	return mes.NewModel("oq-mix", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepComplete).
		Initial(lifecycle.StepPending).Final(lifecycle.StepComplete).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"), mes.WithGates(prior)).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed")).
		Build()
}

// exec runs req with a fresh command id.
func (p *plant) exec(ctx context.Context, req mes.Request) (*mes.Outcome, error) {
	p.n++
	req.ID = fmt.Sprintf("oq-%03d", p.n)
	return p.engine.Execute(ctx, req)
}

func (p *plant) fact(ctx context.Context, model, subject string, cmd mes.Command, data any, decl *mes.Declaration) error {
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		raw = b
	}
	_, err := p.exec(ctx, mes.Request{Model: p.models[model], Subject: subject, Command: cmd, Actor: "admin", Data: raw, Declare: decl})
	if err != nil {
		return fmt.Errorf("%s %s: %w", cmd, subject, err)
	}
	return nil
}

// shortly is how far ahead a calibration falls due and a lot expires, so
// that OQ sees both pass.
const shortly = 1500 * time.Millisecond

func (p *plant) masterData(ctx context.Context) error {
	now := p.clock()
	year := now.Add(365 * 24 * time.Hour)
	person := func(id, name, role string) [][]any {
		return [][]any{{"person", event.PersonStream(id), mes.CmdRegister, map[string]string{"name": name}},
			{"person", event.PersonStream(id), mes.CmdGrantRole, map[string]string{"role": role}}}
	}
	var steps [][]any
	for _, x := range [][3]string{{"op-7", "Olga Operator", "operator"}, {"op-8", "Oscar Operator", "operator"},
		{"qa-3", "Quentin QA", "qa"}, {"qa-4", "Rita Release", "qa"}, {"sv-1", "Sam Supervisor", "supervisor"}} {
		steps = append(steps, person(x[0], x[1], x[2])...)
	}
	steps = append(steps,
		[]any{"person", event.PersonStream("op-7"), mes.CmdRecordTrained, map[string]any{"skill": "dispensing", "until": year}},
		[]any{"equipment", event.EquipmentStream("SC-01"), mes.CmdRegister, map[string]string{"status": "available"}},
		[]any{"equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid", "due": year}},
		[]any{"equipment", event.EquipmentStream("SC-01"), mes.CmdClean, map[string]any{"status": "clean"}},
		[]any{"equipment", event.EquipmentStream("SC-02"), mes.CmdRegister, map[string]string{"status": "available"}},
		[]any{"equipment", event.EquipmentStream("SC-02"), mes.CmdCalibrate, map[string]any{"status": "valid", "due": now.Add(shortly)}},
		[]any{"equipment", event.EquipmentStream("SC-02"), mes.CmdClean, map[string]any{"status": "clean"}},
	)
	for _, s := range steps {
		if err := p.fact(ctx, s[0].(string), s[1].(string), s[2].(mes.Command), s[3], nil); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		id, material string
		expiry       time.Time
	}{{"L7", "API-100", year}, {"L9", "EXC-200", year}, {"L6", "API-100", now.Add(shortly)}} {
		rec := event.Receipt{Material: l.material, Quantity: decimal.RequireFromString("50"), Unit: "kg", Expiry: l.expiry}
		decl := &mes.Declaration{Kind: "lot", Material: l.material, Supplier: "ACME", SupplierLot: "S-" + l.id, IdentitySource: gate.SourceScanner}
		if err := p.fact(ctx, "lot", event.LotStream(l.id), mes.CmdReceive, rec, decl); err != nil {
			return err
		}
		if err := p.fact(ctx, "lot", event.LotStream(l.id), mes.CmdRelease, nil, nil); err != nil {
			return err
		}
	}
	for _, id := range []string{"op-7", "qa-3", "qa-4"} {
		if err := p.auth.SetCredential(ctx, "admin", id, id, signature.NewSecret(oqSecret)); err != nil {
			return fmt.Errorf("credential %s: %w", id, err)
		}
	}
	return nil
}

// operation runs the OQ scenarios into r.
func operation(ctx context.Context, c *Config, r *Report) {
	const oq = "OQ"
	p, err := newPlant(ctx, c)
	if err == nil {
		err = p.masterData(ctx)
	}
	if err != nil {
		r.add(oq, "setup", false, "engine and master data in %s: %v", c.OQSchema, err)
		return
	}
	r.add(oq, "setup", true, "engine on %s with people, scales SC-01 and SC-02, lots L6, L7 and L9 recorded through gated commands", c.OQSchema)

	// denied runs req and checks that it is denied with every code in want
	// and that the denial is the subject's latest record.
	denied := func(name, what string, req mes.Request, want ...gate.Code) {
		_, err := p.exec(ctx, req)
		var de *mes.DeniedError
		if !errors.As(err, &de) {
			r.add(oq, name, false, "%s: want a denial with %s, got %v", what, codes(want), err)
			return
		}
		got := make([]gate.Code, len(de.Reasons))
		for i, x := range de.Reasons {
			got[i] = x.Code
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				r.add(oq, name, false, "%s: denied with %s, which lacks %s", what, codes(got), w)
				return
			}
		}
		recs, err := p.store.Load(ctx, req.Subject, 1)
		if err != nil || len(recs) == 0 || recs[len(recs)-1].Type != event.Denied || recs[len(recs)-1].Actor != req.Actor {
			r.add(oq, name, false, "%s: denied with %s, but the denial is not the latest record of %s (%v)", what, codes(got), req.Subject, err)
			return
		}
		r.add(oq, name, true, "%s: denied with %s, recorded as %s v%d", what, codes(got), req.Subject, recs[len(recs)-1].Version)
	}
	allowed := func(name, what string, req mes.Request) bool {
		out, err := p.exec(ctx, req)
		if err != nil {
			r.add(oq, name, false, "%s: want it allowed, got %v", what, err)
			return false
		}
		r.add(oq, name, true, "%s: allowed, %s -> %s", what, out.From, out.To)
		return true
	}

	const b1, b2 = "batch/OQ-1", "batch/OQ-2"
	for _, b := range []string{b1, b2} {
		for _, x := range []struct {
			cmd   mes.Command
			actor string
		}{{mes.CmdRelease, "sv-1"}, {mes.CmdStart, "op-7"}} {
			if _, err := p.exec(ctx, mes.Request{Model: p.models["batch"], Subject: b, Command: x.cmd, Actor: x.actor}); err != nil {
				r.add(oq, "setup", false, "%s %s: %v", x.cmd, b, err)
				return
			}
		}
	}
	scan := func(lot string) []gate.Evidence {
		return []gate.Evidence{{Name: "lot-scan", Identity: lot, Source: gate.SourceScanner, Instrument: "SCN-1"}}
	}
	weigh := func(batch, actor, lot, scale string) mes.Request {
		return mes.Request{Model: p.models["weigh"], Subject: batch, Step: "S10", Command: mes.CmdStart, Actor: actor,
			Refs: map[string]string{"lot": lot, "scale": scale}, Evidence: scan(lot)}
	}
	sign := func(user string, meaning mes.Meaning) []mes.Sign {
		return []mes.Sign{{Meaning: meaning, Reason: "operational qualification", Challenge: signature.Challenge{UserID: user, Secret: signature.NewSecret(oqSecret)}}}
	}

	denied("untrained-operator", "op-8, not trained in dispensing, starts weighing", weigh(b1, "op-8", "L7", "SC-01"), gate.CodeTrainingMissing)
	denied("wrong-lot", "op-7 starts weighing API-100 from lot L9 of EXC-200", weigh(b1, "op-7", "L9", "SC-01"), gate.CodeLotWrongMaterial)
	denied("skipped-step", "op-7 starts mixing S20 before weighing S10", mes.Request{Model: p.models["mix"], Subject: b1, Step: "S20", Command: mes.CmdStart, Actor: "op-7"}, gate.CodeStepMissing)

	// Wait for SC-02's calibration and lot L6 to lapse; both were valid
	// when recorded.
	if err := c.Wait(ctx, shortly+100*time.Millisecond); err != nil {
		r.add(oq, "wait", false, "waiting for calibration and expiry to lapse: %v", err)
		return
	}
	denied("overdue-instrument", "op-7 starts weighing on SC-02, whose calibration fell due", weigh(b1, "op-7", "L7", "SC-02"), gate.CodeCalibrationOverdue)
	denied("expired-lot", "op-7 starts weighing from lot L6, which expired", weigh(b1, "op-7", "L6", "SC-01"), gate.CodeLotExpired)

	if !allowed("control-weigh", "op-7, trained, starts weighing L7 on SC-01", weigh(b1, "op-7", "L7", "SC-01")) {
		return
	}
	if !allowed("control-weigh", "op-7 completes with a stable device weight", mes.Request{Model: p.models["weigh"], Subject: b1, Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
		Refs:     map[string]string{"lot": "L7", "scale": "SC-01"},
		Evidence: []gate.Evidence{{Name: "net-weight", HasValue: true, Value: decimal.RequireFromString("12.48"), Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}},
		Consume:  []event.Consumption{{Lot: "L7", Quantity: decimal.RequireFromString("12.48"), Unit: "kg"}}}) {
		return
	}
	denied("self-approval", "op-7 signs the verification of their own weighing",
		mes.Request{Model: p.models["weigh"], Subject: b1, Step: "S10", Command: mes.CmdVerify, Actor: "op-7", Signatures: sign("op-7", "verified")}, mes.CodeSignatureSelf)
	allowed("control-verify", "qa-3 signs the verification", mes.Request{Model: p.models["weigh"], Subject: b1, Step: "S10", Command: mes.CmdVerify, Actor: "qa-3", Signatures: sign("qa-3", "verified")})
	allowed("control-skip", "op-7 starts mixing S20 after S10", mes.Request{Model: p.models["mix"], Subject: b1, Step: "S20", Command: mes.CmdStart, Actor: "op-7"})

	x, err := exception.New(p.engine, nil)
	if err != nil {
		r.add(oq, "release-open-exception", false, "exception service: %v", err)
		return
	}
	if _, err := x.Open(ctx, exception.By{CommandID: "oq-dev-1", Actor: "op-7"}, exception.Deviation{ID: "OQ-DEV-1", Summary: "label misprint", Subject: b2}); err != nil {
		r.add(oq, "release-open-exception", false, "open deviation OQ-DEV-1: %v", err)
		return
	}
	if _, err := p.exec(ctx, mes.Request{Model: p.models["batch"], Subject: b2, Command: mes.CmdComplete, Actor: "op-7"}); err != nil {
		r.add(oq, "release-open-exception", false, "complete %s: %v", b2, err)
		return
	}
	denied("release-open-exception", "qa-4 releases "+b2+" while deviation OQ-DEV-1 is open",
		mes.Request{Model: p.models["release"], Subject: b2, Command: mes.CmdRelease, Actor: "qa-4", Signatures: sign("qa-4", mes.MeaningApproved)}, release.CodeExceptionOpen)

	bypass(ctx, p, r, b1)
}

// bypass appends a completion straight to the store, around the engine,
// and checks that verification with the engine's attestation keys finds
// it, and that the record verified clean before.
func bypass(ctx context.Context, p *plant, r *Report, batch string) {
	const oq, name = "OQ", "engine-bypass"
	if rep, err := storage.VerifyWith(ctx, p.store, storage.VerifyConfig{Attestation: p.attestation}); err != nil || rep.Unattested != 0 {
		r.add(oq, name, false, "the record did not verify before the bypass: %v", err)
		return
	}
	recs, err := p.store.Load(ctx, batch, 1)
	if err != nil {
		r.add(oq, name, false, "load %s: %v", batch, err)
		return
	}
	res, err := p.store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: batch, ExpectedVersion: int64(len(recs)),
		Events: []storage.Event{{Type: "step.completed", Actor: "op-7", Payload: json.RawMessage(`{"step":"S20"}`)}}}}})
	if err != nil {
		r.add(oq, name, false, "append around the engine: %v", err)
		return
	}
	_ = res
	rep, err := storage.VerifyWith(ctx, p.store, storage.VerifyConfig{Attestation: p.attestation})
	var be *audit.BreakError
	if !errors.As(err, &be) || be.Kind != audit.BreakUnattested || be.Stream != batch || rep == nil || rep.Unattested != 1 {
		r.add(oq, name, false, "a record appended around the engine to %s: verification said %v", batch, err)
		return
	}
	r.add(oq, name, true, "a record appended around the engine to %s v%d is found by verification: %v", batch, be.Version, err)
}

func codes(cs []gate.Code) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
