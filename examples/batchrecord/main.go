// Command batchrecord runs a small batch through Interlock's engine and
// prints what happened: master data recorded through gated commands, a batch
// started and a weighing step that refuses an untrained
// operator, a quarantined lot, a typed-in weight and an out-of-tolerance one
// before it accepts a stable reading from a calibrated scale, a verification
// that refuses self-signing and takes a second person's e-signature, the
// finished lot made, its genealogy traced back to the supplier's lot, and
// the batch reviewed by exception and released by a QA person who took no
// part (after one who did is refused), and the whole record verified
// against a signed checkpoint. -report page.html writes the review as a
// page.
//
//	go run ./examples/batchrecord
//
// The records are kept in memory unless -database-url names a Postgres
// database, where they go to a new schema that is dropped at the end (keep
// it with -keep).
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/examples/internal/exstore"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/release"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: batchrecord [-database-url URL [-keep]] [-report FILE.html]")
		flag.PrintDefaults()
	}
	dbURL := flag.String("database-url", "", "Postgres URL to keep the records in, in a new schema (default: memory)")
	keep := flag.Bool("keep", false, "with -database-url: keep the schema instead of dropping it at the end")
	report := flag.String("report", "", "write the batch record, reviewed by exception, as an HTML page to this file")
	flag.Parse()
	ctx := context.Background()
	clock := exstore.FixedClock()
	store, closeStore, err := exstore.Open(ctx, *dbURL, "batchrecord", *keep, clock, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "batchrecord:", err)
		os.Exit(1)
	}
	err = run(ctx, os.Stdout, store, clock, *report)
	closeStore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "batchrecord:", err)
		os.Exit(1)
	}
}

// plant is the example's engine and what it needs to sign.
type plant struct {
	w      io.Writer
	store  storage.Store
	engine *mes.Engine
	signer *signature.Signer
	// attestation holds the engine's attestation key, which the final
	// verification checks every record against.
	attestation *audit.Attested
	models      map[string]*mes.Model
	auth        *signature.PasswordAuthenticator
	creds       *mes.Credentials
	n           int
}

// secret is every person's signing password in this example.
const secret = "correct horse battery staple"

// run tells the story to w; with report set it also writes the batch's
// review-by-exception page to that file.
func run(ctx context.Context, w io.Writer, store storage.Store, clock storage.Clock, report string) error {
	p, err := newPlant(ctx, w, store, clock)
	if err != nil {
		return err
	}
	if err := p.masterData(ctx); err != nil {
		return err
	}
	if err := p.credentials(ctx); err != nil {
		return err
	}
	if err := p.batch(ctx); err != nil {
		return err
	}
	if err := p.release(ctx, report); err != nil {
		return err
	}
	return p.verify(ctx, clock)
}

func newPlant(ctx context.Context, w io.Writer, store storage.Store, clock storage.Clock) (*plant, error) {
	// The engine attests every record it writes with a secret key the
	// database does not hold, so that a record written around it is found.
	// Like the sealing key below, a site keeps it in a vault.
	attestKey := sha256.Sum256([]byte("batchrecord attestation key"))
	attester, err := audit.NewAttester("batchrecord-1", attestKey[:])
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
	// Credentials are kept on the record, so they survive a restart and
	// every change to them is on the trail.
	creds, err := mes.NewCredentials(store, attestation)
	if err != nil {
		return nil, err
	}
	auth, err := signature.NewPasswordAuthenticator(&signature.Config{
		Store: creds, Observer: trail, Clock: signature.Clock(clock), MaxFailures: 3,
		// Cheaper than the default so that the example runs in a blink; a
		// site keeps signature.DefaultArgon2Params.
		Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32},
	})
	if err != nil {
		return nil, err
	}
	// The system key seals signatures. A site keeps it outside the
	// database; the example derives it from a fixed seed so that its
	// output is the same on every run.
	seed := sha256.Sum256([]byte("batchrecord example key"))
	signer, err := signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: ed25519.NewKeyFromSeed(seed[:]), Clock: signature.Clock(clock)})
	if err != nil {
		return nil, err
	}
	// The key in force goes on the trail once; a rotation adds a record.
	if _, err := trail.RecordSigningKey(ctx, signer.PublicKey(), "admin"); err != nil {
		return nil, err
	}
	engine, err := mes.New(store, &mes.Config{Clock: clock, Signer: signer, Attestation: attestation})
	if err != nil {
		return nil, err
	}
	p := &plant{w: w, store: store, engine: engine, signer: signer, attestation: attestation, models: map[string]*mes.Model{}}
	for name, build := range map[string]func() (*mes.Model, error){
		"lot": func() (*mes.Model, error) { return mes.LotModel() }, "equipment": func() (*mes.Model, error) { return mes.EquipmentModel() },
		"person": func() (*mes.Model, error) { return mes.PersonModel() }, "batch": func() (*mes.Model, error) { return lifecycle.Batch() },
	} {
		if p.models[name], err = build(); err != nil {
			return nil, err
		}
	}
	// Every credential change is a gated command on the person's record
	// (admin sets others' credentials, never their own).
	if err := trail.Gate(engine, p.models["person"]); err != nil {
		return nil, err
	}
	p.auth, p.creds = auth, creds
	return p, nil
}

var printedName = map[string]string{"op-7": "Olga Operator", "op-8": "Oscar Operator", "qa-3": "Quentin QA", "qa-4": "Rita Release", "sv-1": "Sam Supervisor"}

// exec runs a command and prints its outcome on one line.
func (p *plant) exec(ctx context.Context, what string, req mes.Request) (*mes.Outcome, error) {
	p.n++
	if req.ID == "" {
		req.ID = fmt.Sprintf("cmd-%03d", p.n)
	}
	out, err := p.engine.Execute(ctx, req)
	var denied *mes.DeniedError
	switch {
	case errors.As(err, &denied):
		codes := make([]string, len(denied.Reasons))
		for i, r := range denied.Reasons {
			codes[i] = string(r.Code)
		}
		fmt.Fprintf(p.w, "  denied   %-52s %s\n", what, strings.Join(codes, ", "))
		return out, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(p.w, "  allowed  %-52s %s -> %s\n", what, out.From, out.To)
	return out, nil
}

// fact records master data through the fact models, as an administrator.
func (p *plant) fact(ctx context.Context, what, model, subject string, cmd mes.Command, data any, decl *mes.Declaration) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if data == nil {
		raw = nil
	}
	_, err = p.exec(ctx, what, mes.Request{Model: p.models[model], Subject: subject, Command: cmd, Actor: "admin", Data: raw, Declare: decl})
	return err
}

func (p *plant) masterData(ctx context.Context) error {
	fmt.Fprintln(p.w, "master data, each fact through its own gated model:")
	day := 24 * time.Hour
	start := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	steps := []struct {
		what, model, subject string
		cmd                  mes.Command
		data                 any
		decl                 *mes.Declaration
	}{
		{"register Olga Operator", "person", event.PersonStream("op-7"), mes.CmdRegister, map[string]string{"name": printedName["op-7"]}, nil},
		{"grant op-7 the operator role", "person", event.PersonStream("op-7"), mes.CmdGrantRole, map[string]string{"role": "operator"}, nil},
		{"record op-7 trained in dispensing", "person", event.PersonStream("op-7"), mes.CmdRecordTrained, map[string]any{"skill": "dispensing", "until": start.Add(180 * day)}, nil},
		{"register Oscar Operator (not trained)", "person", event.PersonStream("op-8"), mes.CmdRegister, map[string]string{"name": printedName["op-8"]}, nil},
		{"grant op-8 the operator role", "person", event.PersonStream("op-8"), mes.CmdGrantRole, map[string]string{"role": "operator"}, nil},
		{"register Quentin QA", "person", event.PersonStream("qa-3"), mes.CmdRegister, map[string]string{"name": printedName["qa-3"]}, nil},
		{"grant qa-3 the qa role", "person", event.PersonStream("qa-3"), mes.CmdGrantRole, map[string]string{"role": "qa"}, nil},
		{"register Rita Release", "person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": printedName["qa-4"]}, nil},
		{"grant qa-4 the qa role", "person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"}, nil},
		{"register Sam Supervisor", "person", event.PersonStream("sv-1"), mes.CmdRegister, map[string]string{"name": printedName["sv-1"]}, nil},
		{"grant sv-1 the supervisor role", "person", event.PersonStream("sv-1"), mes.CmdGrantRole, map[string]string{"role": "supervisor"}, nil},
		{"register scale SC-01", "equipment", event.EquipmentStream("SC-01"), mes.CmdRegister, map[string]string{"status": "available"}, nil},
		{"calibrate SC-01, due in 30 days", "equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid", "due": start.Add(30 * day)}, nil},
		{"clean SC-01", "equipment", event.EquipmentStream("SC-01"), mes.CmdClean, map[string]any{"status": "clean"}, nil},
		{"receive lot L7 of API-100 (supplier lot A-77)", "lot", event.LotStream("L7"), mes.CmdReceive,
			event.Receipt{Material: "API-100", Quantity: decimal.RequireFromString("50"), Unit: "kg", Expiry: start.Add(365 * day)},
			&mes.Declaration{Kind: "lot", Material: "API-100", Supplier: "ACME Pharma", SupplierLot: "A-77", IdentitySource: gate.SourceScanner}},
		{"release lot L7", "lot", event.LotStream("L7"), mes.CmdRelease, nil, nil},
		{"receive lot L8 of API-100 (stays in quarantine)", "lot", event.LotStream("L8"), mes.CmdReceive,
			event.Receipt{Material: "API-100", Quantity: decimal.RequireFromString("50"), Unit: "kg", Expiry: start.Add(365 * day)},
			&mes.Declaration{Kind: "lot", Material: "API-100", Supplier: "ACME Pharma", SupplierLot: "A-78", IdentitySource: gate.SourceScanner}},
	}
	for _, s := range steps {
		if err := p.fact(ctx, s.what, s.model, s.subject, s.cmd, s.data, s.decl); err != nil {
			return err
		}
	}
	return nil
}

// credentials sets the signing credentials of the people who sign, each
// through the gated command the authenticator reports to the trail.
func (p *plant) credentials(ctx context.Context) error {
	for _, id := range []string{"op-7", "qa-3", "qa-4"} {
		// Set once: a restart on the same database finds them.
		if _, err := p.creds.Load(ctx, id); err == nil {
			continue
		} else if !errors.Is(err, signature.ErrNoCredential) {
			return err
		}
		if err := p.auth.SetCredential(ctx, "admin", id, printedName[id], signature.NewSecret(secret)); err != nil {
			return err
		}
	}
	return nil
}

// weighStep is the dispensing step: its start needs a trained operator, a
// ready scale and a scanned, usable lot of API-100; its completion a stable
// net weight from a device within 12.50 ± 0.05 kg; its verification a
// second person's signature.
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
	tol, err := gate.WithinTolerance("net-weight", gate.Tolerance{Target: decimal.RequireFromString("12.50"),
		Below: decimal.RequireFromString("0.05"), Above: decimal.RequireFromString("0.05"), Unit: "kg", Bounds: gate.Inclusive})
	if err != nil {
		return nil, err
	}
	stable, err := gate.RequireStable("net-weight")
	if err != nil {
		return nil, err
	}
	return mes.NewModel("weigh-step", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepComplete, lifecycle.StepVerified).
		Initial(lifecycle.StepPending).Final(lifecycle.StepVerified).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"), mes.WithGates(gs...)).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}}),
			mes.WithGates(tol, stable)).
		Permit(lifecycle.StepComplete, mes.CmdVerify, lifecycle.StepVerified, mes.Recording("step.verified"),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "verified", Count: 1, Roles: []string{"qa"}, NotPerformer: true})).
		Build()
}

func (p *plant) batch(ctx context.Context) error {
	const batch = "batch/B-2026-001"
	weigh, err := weighStep()
	if err != nil {
		return err
	}
	fmt.Fprintln(p.w, "batch B-2026-001:")
	// The standard lifecycle gates every command by role: a supervisor
	// releases the batch to the floor, an operator starts it.
	for _, c := range []struct {
		cmd   mes.Command
		actor string
	}{{mes.CmdRelease, "sv-1"}, {mes.CmdStart, "op-7"}} {
		if _, err := p.exec(ctx, string(c.cmd)+" the batch", mes.Request{Model: p.models["batch"], Subject: batch, Command: c.cmd, Actor: c.actor}); err != nil {
			return err
		}
	}
	refs := map[string]string{"lot": "L7", "scale": "SC-01"}
	scan := func(lot string) []gate.Evidence {
		return []gate.Evidence{{Name: "lot-scan", Identity: lot, Source: gate.SourceScanner, Instrument: "SCN-1"}}
	}
	weight := func(v string, src gate.Source, instrument string, stable bool) []gate.Evidence {
		return []gate.Evidence{{Name: "net-weight", HasValue: true, Value: decimal.RequireFromString(v), Unit: "kg", Source: src, Instrument: instrument, Stable: stable}}
	}
	step := func(what, actor string, cmd mes.Command, refs map[string]string, ev []gate.Evidence, consume []event.Consumption, sigs []mes.Sign) (*mes.Outcome, error) {
		return p.exec(ctx, what, mes.Request{Model: weigh, Subject: batch, Step: "S10-weigh-api", Command: cmd, Actor: actor,
			Refs: refs, Evidence: ev, Consume: consume, Signatures: sigs})
	}
	type attempt struct {
		what, actor string
		cmd         mes.Command
		refs        map[string]string
		ev          []gate.Evidence
		consume     []event.Consumption
		sigs        []mes.Sign
	}
	use := []event.Consumption{{Lot: "L7", Quantity: decimal.RequireFromString("12.48"), Unit: "kg"}}
	for _, a := range []attempt{
		{"op-8 starts weighing (not trained)", "op-8", mes.CmdStart, refs, scan("L7"), nil, nil},
		{"op-7 starts weighing lot L8 (quarantine)", "op-7", mes.CmdStart, map[string]string{"lot": "L8", "scale": "SC-01"}, scan("L8"), nil, nil},
		{"op-7 starts weighing lot L7 on SC-01", "op-7", mes.CmdStart, refs, scan("L7"), nil, nil},
		{"op-7 types in 12.48 kg", "op-7", mes.CmdComplete, refs, weight("12.48", gate.SourceManual, "", true), use, nil},
		{"op-7 weighs 12.61 kg", "op-7", mes.CmdComplete, refs, weight("12.61", gate.SourceDevice, "SC-01", true), nil, nil},
		{"op-7 weighs 12.48 kg, not yet stable", "op-7", mes.CmdComplete, refs, weight("12.48", gate.SourceDevice, "SC-01", false), use, nil},
		{"op-7 weighs 12.48 kg, stable, takes it from L7", "op-7", mes.CmdComplete, refs, weight("12.48", gate.SourceDevice, "SC-01", true), use, nil},
		{"op-7 verifies own weighing", "op-7", mes.CmdVerify, nil, nil, nil,
			[]mes.Sign{{Meaning: "verified", Challenge: signature.Challenge{UserID: "op-7", Secret: signature.NewSecret(secret)}}}},
		{"qa-3 verifies with a wrong password", "qa-3", mes.CmdVerify, nil, nil, nil,
			[]mes.Sign{{Meaning: "verified", Challenge: signature.Challenge{UserID: "qa-3", Secret: signature.NewSecret("not my password")}}}},
		{"qa-3 verifies, signing", "qa-3", mes.CmdVerify, nil, nil, nil,
			[]mes.Sign{{Meaning: "verified", Reason: "net weight checked on SC-01", Challenge: signature.Challenge{UserID: "qa-3", Secret: signature.NewSecret(secret)}}}},
	} {
		out, err := step(a.what, a.actor, a.cmd, a.refs, a.ev, a.consume, a.sigs)
		if err != nil {
			return err
		}
		for _, s := range out.Signatures {
			m := s.Manifestation
			fmt.Fprintf(p.w, "           signed by %s (%s) at %s, meaning %q: %s\n", m.PrintedName, m.SignerID, m.Time.Format(time.RFC3339), m.Meaning, m.Reason)
		}
	}
	if _, err := p.exec(ctx, "complete the batch, making lot FG-1", mes.Request{Model: p.models["batch"], Subject: batch, Command: mes.CmdComplete, Actor: "op-7",
		Produce: []mes.Production{{Lot: "FG-1", Material: "TAB-500", Quantity: decimal.RequireFromString("1000"), Unit: "ea", GTIN: "09506000134352"}}}); err != nil {
		return err
	}

	fmt.Fprintln(p.w, "genealogy of lot FG-1, built from the record:")
	g, err := genealogy.Build(ctx, p.store, nil)
	if err != nil {
		return err
	}
	tr, err := g.Backward(ctx, event.LotStream("FG-1"))
	if err != nil {
		return err
	}
	for _, e := range tr.Edges() {
		fmt.Fprintf(p.w, "  %-18s %-9s %8s %-3s -> %s (proved by %s v%d)\n", e.From, e.Kind, e.Quantity, e.Unit, e.To, e.Proof.Stream, e.Proof.Version)
	}
	if info, ok := g.NodeInfo(event.LotStream("L7")); ok {
		fmt.Fprintf(p.w, "  lot/L7 is %s from %s, their lot %s\n", info.Material, info.Supplier, info.SupplierLot)
	}
	return nil
}

// release reviews the batch by exception and releases it: the release is
// gated by the batch's readiness and needs a QA signature from someone who
// took no part in the batch.
func (p *plant) release(ctx context.Context, report string) error {
	const batch = "batch/B-2026-001"
	// Each signature is checked under the signing key the trail says was
	// in force when it was made.
	keys, err := mes.SigningKeys(ctx, p.store, p.attestation)
	if err != nil {
		return err
	}
	rep, err := review.Build(ctx, p.store, batch, &review.Options{SigningKeys: keys})
	if err != nil {
		return err
	}
	fmt.Fprintf(p.w, "review by exception of %s: %d transitions, %d routine, %d exception(s), %d open, chains ok: %v\n",
		batch, rep.Summary.Transitions, rep.Summary.Routine, rep.Summary.Exceptions, rep.Summary.Open, rep.Integrity.OK)
	kinds := make([]string, 0, len(rep.Summary.ByKind))
	for k, n := range rep.Summary.ByKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	fmt.Fprintf(p.w, "  by kind: %s\n", strings.Join(kinds, ", "))
	if report != "" {
		f, err := os.Create(report)
		if err != nil {
			return err
		}
		if err := review.WriteHTML(f, rep); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	model, err := release.Model(&release.Config{SigningKeys: keys, Steps: []release.RequiredStep{{ID: "S10-weigh-api", Verify: true}}}, []string{"qa"})
	if err != nil {
		return err
	}
	sign := func(user string) []mes.Sign {
		return []mes.Sign{{Meaning: "approved", Reason: "batch record reviewed by exception",
			Challenge: signature.Challenge{UserID: user, Secret: signature.NewSecret(secret)}}}
	}
	fmt.Fprintln(p.w, "release:")
	if _, err := p.exec(ctx, "qa-3 releases the batch (verified a step of it)", mes.Request{Model: model, Subject: batch,
		Command: mes.CmdRelease, Actor: "qa-3", Signatures: sign("qa-3")}); err != nil {
		return err
	}
	out, err := p.exec(ctx, "qa-4 releases the batch", mes.Request{Model: model, Subject: batch,
		Command: mes.CmdRelease, Actor: "qa-4", Signatures: sign("qa-4")})
	if err != nil {
		return err
	}
	for _, s := range out.Signatures {
		m := s.Manifestation
		fmt.Fprintf(p.w, "           signed by %s (%s) at %s, meaning %q: %s\n", m.PrintedName, m.SignerID, m.Time.Format(time.RFC3339), m.Meaning, m.Reason)
	}
	return nil
}

func (p *plant) verify(ctx context.Context, clock storage.Clock) error {
	fmt.Fprintln(p.w, "the record:")
	recs, err := p.store.Load(ctx, "batch/B-2026-001", 1)
	if err != nil {
		return err
	}
	denied, sigs := 0, 0
	for _, r := range recs {
		if r.Type == event.Denied {
			denied++
		}
	}
	keys, err := mes.SigningKeys(ctx, p.store, p.attestation)
	if err != nil {
		return err
	}
	for _, c := range mes.VerifySignaturesWith(recs, keys) {
		if c.Err != nil {
			return fmt.Errorf("signature at %s v%d: %w", c.Record.Stream, c.Record.Version, c.Err)
		}
		sigs++
	}
	fmt.Fprintf(p.w, "  batch/B-2026-001 holds %d records: %d denied attempts, %d signature(s), each verified against the record it signs\n", len(recs), denied, sigs)
	trail, err := p.store.Load(ctx, event.AuthStream("qa-3"), 1)
	if err != nil {
		return err
	}
	for _, r := range trail {
		if r.Type == event.AuthPrefix+string(signature.EventFailed) {
			fmt.Fprintf(p.w, "  auth/qa-3 v%d records a failed signing attempt\n", r.Version)
		}
	}
	seed := sha256.Sum256([]byte("batchrecord checkpoint key"))
	key := ed25519.NewKeyFromSeed(seed[:])
	cp, err := storage.Checkpoint(ctx, p.store, key, clock())
	if err != nil {
		return err
	}
	trusted, err := audit.NewKeys(key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	rep, err := storage.VerifyWith(ctx, p.store, storage.VerifyConfig{Checkpoint: cp, Keys: trusted, Attestation: p.attestation})
	if err != nil {
		return err
	}
	fmt.Fprintf(p.w, "  %d records in %d streams verify against a signed checkpoint of %d stream heads, each attested by the engine\n", rep.Records, rep.Streams, len(cp.Heads))
	return nil
}
