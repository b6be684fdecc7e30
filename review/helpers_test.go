package review

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes/correction"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

var start = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

// clock is the test's time: the store advances it by a second per append,
// and the engine and signer read it without advancing, so that times are
// distinct, ordered and the same on every run and store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: start} }

func (c *clock) next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// stores runs fn against a fresh memory store and a fresh Postgres schema,
// each with its own clock.
func stores(t *testing.T, fn func(t *testing.T, s storage.Store, c *clock)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		fn(t, memory.New(&memory.Config{Clock: c.next}), c)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: c.next, ReadAllWait: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s, c)
	})
}

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func dec(tb testing.TB, s string) decimal.Decimal {
	tb.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

const secret = "correct horse battery staple"

var printedName = map[string]string{
	"op-7": "Olga Operator", "op-9": "Otto Outsider", "qa-3": "Quentin QA", "sv-1": "Sam Supervisor",
}

// plant is an engine with a signer over one store, the plant's master data
// and the models of the tests' batches.
type plant struct {
	tb    testing.TB
	s     storage.Store
	e     *mes.Engine
	pub   ed25519.PublicKey
	n     int
	facts map[string]*mes.Model

	batch, weigh, check *mes.Model
	corrections         *correction.Model
	x                   *exception.Service
}

func newPlant(tb testing.TB, s storage.Store, c *clock) *plant {
	tb.Helper()
	ctx := context.Background()
	trail := must[*mes.AuthTrail](tb)(mes.NewAuthTrail(s, mestest.Attestation()))
	auth := must[*signature.PasswordAuthenticator](tb)(signature.NewPasswordAuthenticator(&signature.Config{
		Store: &signature.MemoryCredentials{}, Observer: trail, Clock: c.now, MaxFailures: 3,
		Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1, SaltLen: 16, KeyLen: 32},
	}))
	// A fixed key, so that seals, and so the golden files, are the same on
	// every run.
	seed := sha256.Sum256([]byte("review test key"))
	key := ed25519.NewKeyFromSeed(seed[:])
	signer := must[*signature.Signer](tb)(signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: key, Clock: c.now}))
	p := &plant{tb: tb, s: s, pub: key.Public().(ed25519.PublicKey), facts: map[string]*mes.Model{},
		e: must[*mes.Engine](tb)(mes.New(s, &mes.Config{Clock: c.now, Signer: signer, Attestation: mestest.Attestation()}))}
	for name, build := range map[string]func(...mes.Option) (*mes.Model, error){
		"lot": mes.LotModel, "equipment": mes.EquipmentModel, "person": mes.PersonModel,
	} {
		p.facts[name] = must[*mes.Model](tb)(build())
	}
	for id, name := range printedName {
		if err := auth.SetCredential(ctx, "admin", id, name, signature.NewSecret(secret)); err != nil {
			tb.Fatal(err)
		}
	}
	p.masterData()
	p.models()
	return p
}

func (p *plant) fact(model, subject string, cmd mes.Command, data any) {
	p.tb.Helper()
	var raw json.RawMessage
	if data != nil {
		raw = must[[]byte](p.tb)(json.Marshal(data))
	}
	p.n++
	if _, err := p.e.Execute(context.Background(), mes.Request{ID: fmt.Sprintf("fact-%d", p.n), Model: p.facts[model],
		Subject: subject, Command: cmd, Actor: "admin", Data: raw}); err != nil {
		p.tb.Fatalf("%s %s: %v", cmd, subject, err)
	}
}

func (p *plant) masterData() {
	day := 24 * time.Hour
	for _, who := range []struct{ id, role string }{{"op-7", "operator"}, {"qa-3", "qa"}, {"sv-1", "supervisor"}, {"op-9", ""}} {
		p.fact("person", event.PersonStream(who.id), mes.CmdRegister, map[string]string{"name": printedName[who.id]})
		if who.role != "" {
			p.fact("person", event.PersonStream(who.id), mes.CmdGrantRole, map[string]string{"role": who.role})
		}
	}
	for _, lot := range []string{"L7", "L8"} {
		p.fact("lot", event.LotStream(lot), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: dec(p.tb, "50"), Unit: "kg", Expiry: start.Add(90 * day)})
		p.fact("lot", event.LotStream(lot), mes.CmdRelease, nil)
	}
	p.fact("lot", event.LotStream("L8"), mes.CmdHold, map[string]string{"reason": "supplier complaint"})
	p.fact("equipment", event.EquipmentStream("SC-01"), mes.CmdRegister, map[string]string{"status": "available"})
	p.fact("equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid", "due": start.Add(30 * day)})
	p.fact("equipment", event.EquipmentStream("SC-01"), mes.CmdClean, map[string]any{"status": "clean"})
}

// models builds the batch lifecycle; a weighing step gated on the
// operator's role, the lot and the scale, whose weight must lie within
// 12.50 ± 0.05 kg unless a supervisor overrides it; a check step that takes
// a count typed by hand; corrections by operators, reviewed by QA; and
// exceptions approved by QA.
func (p *plant) models() {
	tb := p.tb
	g := must[gate.Gate](tb)
	p.batch = must[*mes.Model](tb)(lifecycle.Batch())
	p.weigh = must[*mes.Model](tb)(mes.NewModel("weigh-step", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepBlocked, lifecycle.StepComplete, lifecycle.StepVerified).
		Initial(lifecycle.StepPending).Final(lifecycle.StepVerified).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"), mes.AllowOverride("supervisor"),
			mes.WithGates(g(gate.RequireRole("operator")), g(gate.LotUsable(gate.FromRef("lot"), "API-100")),
				g(gate.EquipmentReady(gate.FromRef("scale"))))).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"), mes.AllowOverride("supervisor"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}}),
			mes.WithGates(g(gate.WithinTolerance("net-weight", gate.Tolerance{Target: dec(tb, "12.50"), Below: dec(tb, "0.05"),
				Above: dec(tb, "0.05"), Unit: "kg", Bounds: gate.Inclusive})))).
		Permit(lifecycle.StepInProgress, mes.CmdBlock, lifecycle.StepBlocked, mes.Recording("step.blocked")).
		Permit(lifecycle.StepBlocked, mes.CmdUnblock, lifecycle.StepInProgress, mes.Recording("step.unblocked")).
		Permit(lifecycle.StepComplete, mes.CmdVerify, lifecycle.StepVerified, mes.Recording("step.verified"),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "verified", Count: 1, Roles: []string{"qa"}, NotPerformer: true})).
		Build())
	p.check = must[*mes.Model](tb)(mes.NewModel("check-step", 1).
		States(lifecycle.StepPending, lifecycle.StepComplete).Initial(lifecycle.StepPending).Final(lifecycle.StepComplete).
		Permit(lifecycle.StepPending, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "label-count", Sources: []gate.Source{gate.SourceScanner, gate.SourceManual}})).
		Build())
	p.corrections = must[*correction.Model](tb)(correction.NewModel(correction.Policy{
		Roles: []string{"operator"}, ReviewerRoles: []string{"qa"}}))
	p.x = must[*exception.Service](tb)(exception.New(p.e, &exception.Config{Batch: p.batch,
		Steps: map[string]*mes.Model{"S10": p.weigh, "S20": p.weigh, "S40": p.weigh}}))
}

func sign(who string, meaning mes.Meaning, reason string) mes.Sign {
	return mes.Sign{Meaning: meaning, Challenge: signature.Challenge{UserID: who, Secret: signature.NewSecret(secret)}, Reason: reason}
}

// do runs a command that must be allowed and returns its records.
func (p *plant) do(req mes.Request) []audit.Record {
	p.tb.Helper()
	out, err := p.e.Execute(context.Background(), req)
	if err != nil {
		p.tb.Fatalf("%s %s %s: %v", req.Command, req.Subject, req.Step, err)
	}
	return out.Records
}

// deny runs a command that must be denied and returns its record.
func (p *plant) deny(req mes.Request) audit.Record {
	p.tb.Helper()
	out, err := p.e.Execute(context.Background(), req)
	if !errors.Is(err, mes.ErrDenied) {
		p.tb.Fatalf("%s %s %s: %v; want it denied", req.Command, req.Subject, req.Step, err)
	}
	return out.Records[0]
}

// openException opens exception id on batch by actor and returns its
// marker on the batch.
func (p *plant) openException(batch, id, summary, actor string) audit.Record {
	p.tb.Helper()
	opened, err := p.x.Open(context.Background(), exception.By{CommandID: "open-" + id, Actor: actor}, exception.Deviation{ID: id, Summary: summary, Subject: batch})
	if err != nil {
		p.tb.Fatalf("open %s: %v", id, err)
	}
	return markerIn(p.tb, opened.Exception.Records, batch)
}

func markerIn(tb testing.TB, recs []audit.Record, batch string) audit.Record {
	tb.Helper()
	for _, r := range recs {
		if r.Stream == batch && r.Type == event.ExceptionOpened {
			return r
		}
	}
	tb.Fatalf("no exception marker on %s in %v", batch, recs)
	return audit.Record{}
}

// disposition records a disposition of exception id by sv-1.
func (p *plant) disposition(id string, decision exception.DispositionKind, rationale, substitute string) {
	p.tb.Helper()
	if _, err := p.x.Disposition(context.Background(), exception.By{CommandID: "disposition-" + id, Actor: "sv-1"}, id, exception.Disposition{Decision: decision, Rationale: rationale, Substitute: substitute}); err != nil {
		p.tb.Fatalf("disposition of %s: %v", id, err)
	}
}

// approve approves the disposition of exception id with qa-3's signature,
// which closes it.
func (p *plant) approve(id string) {
	p.tb.Helper()
	if _, err := p.x.Approve(context.Background(), exception.By{CommandID: "approve-" + id, Actor: "qa-3"}, id, sign("qa-3", "", "disposition is justified")); err != nil {
		p.tb.Fatalf("approve %s: %v", id, err)
	}
}

func scan(lot string) gate.Evidence {
	return gate.Evidence{Name: "lot-scan", Identity: lot, Source: gate.SourceScanner, Instrument: "SCN-1"}
}

func weight(tb testing.TB, v string) gate.Evidence {
	return gate.Evidence{Name: "net-weight", HasValue: true, Value: dec(tb, v), Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}
}

// routine runs a batch through release, start, a weighing step within
// tolerance verified by QA, completion and verification: no exceptions.
func (p *plant) routine(batch string) {
	p.tb.Helper()
	id := func(s string) string { return batch + "-" + s }
	refs := map[string]string{"lot": "L7", "scale": "SC-01"}
	p.do(mes.Request{ID: id("release"), Model: p.batch, Subject: batch, Command: mes.CmdRelease, Actor: "sv-1"})
	p.do(mes.Request{ID: id("start"), Model: p.batch, Subject: batch, Command: mes.CmdStart, Actor: "op-7"})
	p.do(mes.Request{ID: id("S10-start"), Model: p.weigh, Subject: batch, Step: "S10", Command: mes.CmdStart, Actor: "op-7",
		Refs: refs, Evidence: []gate.Evidence{scan("L7")}})
	p.do(mes.Request{ID: id("S10-complete"), Model: p.weigh, Subject: batch, Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
		Refs: refs, Evidence: []gate.Evidence{weight(p.tb, "12.52")}})
	p.do(mes.Request{ID: id("S10-verify"), Model: p.weigh, Subject: batch, Step: "S10", Command: mes.CmdVerify, Actor: "qa-3",
		Signatures: []mes.Sign{sign("qa-3", "verified", "")}})
}

// injected is an exception the tests put on a batch: the kind its entry
// must have and the record that must appear in exactly one entry.
type injected struct {
	kind   Kind
	also   []Kind
	record audit.Record
}

// exceptional runs a batch with one of each kind of exception and returns
// them in record order.
func (p *plant) exceptional(batch string) []injected {
	p.tb.Helper()
	ctx := context.Background()
	id := func(s string) string { return batch + "-" + s }
	refs := map[string]string{"lot": "L7", "scale": "SC-01"}
	var out []injected
	add := func(k Kind, r audit.Record, also ...Kind) {
		out = append(out, injected{kind: k, record: r, also: also})
	}

	p.do(mes.Request{ID: id("release"), Model: p.batch, Subject: batch, Command: mes.CmdRelease, Actor: "sv-1"})
	p.do(mes.Request{ID: id("start"), Model: p.batch, Subject: batch, Command: mes.CmdStart, Actor: "op-7"})

	// A person without the operator role tries to start the weighing.
	add(KindDenied, p.deny(mes.Request{ID: id("S10-start-op9"), Model: p.weigh, Subject: batch, Step: "S10", Command: mes.CmdStart,
		Actor: "op-9", Refs: refs, Evidence: []gate.Evidence{scan("L7")}}))
	p.do(mes.Request{ID: id("S10-start"), Model: p.weigh, Subject: batch, Step: "S10", Command: mes.CmdStart, Actor: "op-7",
		Refs: refs, Evidence: []gate.Evidence{scan("L7")}})
	// The weight is out of tolerance; a supervisor accepts it.
	oolRecs := p.do(mes.Request{ID: id("S10-complete"), Model: p.weigh, Subject: batch, Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
		Refs: refs, Evidence: []gate.Evidence{weight(p.tb, "12.58")},
		Override: &mes.Override{Reason: "within the validated range of the process; see PV-12", Sign: sign("sv-1", "", "")}})
	add(KindOutOfLimit, oolRecs[0], KindOverride)
	oolException := "override-" + id("S10-complete")
	p.disposition(oolException, exception.DispositionUseAsIs, "the blend is within the validated range", "")
	p.approve(oolException)

	// The out-of-tolerance rule turns a denied weighing into a deviation
	// that blocks the step: one entry, with the denied attempt as its
	// cause, the block, and the step's resumption once it is approved.
	p.do(mes.Request{ID: id("S40-start"), Model: p.weigh, Subject: batch, Step: "S40", Command: mes.CmdStart, Actor: "op-7",
		Refs: refs, Evidence: []gate.Evidence{scan("L7")}})
	req := mes.Request{ID: id("S40-complete"), Model: p.weigh, Subject: batch, Step: "S40", Command: mes.CmdComplete, Actor: "op-7",
		Refs: refs, Evidence: []gate.Evidence{weight(p.tb, "12.40")}}
	denied, err := p.e.Execute(ctx, req)
	opened, aerr := p.x.Apply(ctx, exception.OutOfTolerance(exception.ConsequenceBlock), req, denied, err)
	if aerr != nil || opened == nil || opened.Consequence == nil {
		p.tb.Fatalf("rule: %+v, %v; want a deviation that blocks S40", opened, aerr)
	}
	add(KindDeviation, denied.Records[0], KindOutOfLimit, KindDenied)
	oot := "oot-" + req.ID
	p.disposition(oot, exception.DispositionRedo, "reweigh on the calibrated scale", "")
	p.approve(oot)
	if _, err := p.x.Resume(ctx, exception.By{CommandID: id("S40-resume"), Actor: "op-7"}, oot); err != nil {
		p.tb.Fatalf("resume S40: %v", err)
	}
	req.ID, req.Evidence = id("S40-complete-2"), []gate.Evidence{weight(p.tb, "12.50")}
	p.do(req)

	// S20 starts on a lot on hold, overridden; its deviation stays open.
	add(KindOverride, p.do(mes.Request{ID: id("S20-start"), Model: p.weigh, Subject: batch, Step: "S20", Command: mes.CmdStart, Actor: "op-7",
		Refs: map[string]string{"lot": "L8", "scale": "SC-01"}, Evidence: []gate.Evidence{scan("L8")},
		Override: &mes.Override{Reason: "hold is administrative; QA confirmed by phone", Sign: sign("sv-1", "", "")}})[0])

	// A count typed by hand.
	manual := p.do(mes.Request{ID: id("S30-complete"), Model: p.check, Subject: batch, Step: "S30", Command: mes.CmdComplete, Actor: "op-7",
		Evidence: []gate.Evidence{{Name: "label-count", HasValue: true, Value: dec(p.tb, "40"), Unit: "pcs", Source: gate.SourceManual}}})[0]
	add(KindManualEntry, manual)

	// The count is corrected and the correction reviewed; a second
	// correction is not reviewed.
	corr, err := correction.Correct(ctx, p.e, correction.Correction{ID: id("correct-1"), Model: p.corrections, Subject: batch, Corrects: manual.Version,
		Name: "label-count", New: correction.Measured(dec(p.tb, "42"), "pcs"), Reason: "two labels were miscounted", Actor: "op-7"})
	if err != nil {
		p.tb.Fatalf("correct: %v", err)
	}
	add(KindCorrection, corr.Records[0])
	if _, err := correction.ReviewCorrection(ctx, p.e, correction.Review{ID: id("review-1"), Model: p.corrections, Subject: batch,
		Reviews: corr.Records[0].Version, Actor: "qa-3", Signatures: []mes.Sign{sign("qa-3", "reviewed", "label log checked")}}); err != nil {
		p.tb.Fatalf("review correction: %v", err)
	}
	corr2, err := correction.Correct(ctx, p.e, correction.Correction{ID: id("correct-2"), Model: p.corrections, Subject: batch, Corrects: corr.Records[0].Version,
		Name: "label-count", New: correction.Measured(dec(p.tb, "41"), "pcs"), Reason: "recount after rework", Actor: "op-7"})
	if err != nil {
		p.tb.Fatalf("correct again: %v", err)
	}
	add(KindCorrection, corr2.Records[0])

	// Deviations opened by people: one accepted as is, one solved by a
	// substitute lot, one sent to rework and not yet approved.
	add(KindDeviation, p.openException(batch, "DEV-1", "mixer door found unlatched", "op-7"))
	p.disposition("DEV-1", exception.DispositionUseAsIs, "door interlock tested; no product exposure", "")
	p.approve("DEV-1")
	add(KindSubstitution, p.openException(batch, "DEV-2", "lot L8 is on hold", "op-7"))
	p.disposition("DEV-2", exception.DispositionSubstitute, "use released lot L7 instead", "L7")
	p.approve("DEV-2")
	add(KindRework, p.openException(batch, "DEV-3", "granules too coarse", "op-7"))
	p.disposition("DEV-3", exception.DispositionRework, "re-mill by SOP-44", "")

	return out
}

// ordinals serves a store's records with each global position replaced by
// its ordinal in the store's global order. Positions are only ordered, not
// dense (Postgres leaves gaps), so reports are compared across stores this
// way; hashes do not cover positions.
type ordinals struct {
	storage.Store
	of map[int64]int64
}

func ordinalsOf(tb testing.TB, s storage.Store) ordinals {
	tb.Helper()
	o := ordinals{Store: s, of: map[int64]int64{}}
	var after int64
	for {
		recs, err := s.ReadAll(context.Background(), after, 1000)
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range recs {
			o.of[r.Position] = int64(len(o.of) + 1)
		}
		if len(recs) < 1000 {
			return o
		}
		after = recs[len(recs)-1].Position
	}
}

func (o ordinals) Load(ctx context.Context, stream string, from int64) ([]audit.Record, error) {
	recs, err := o.Store.Load(ctx, stream, from)
	for i := range recs {
		recs[i].Position = o.of[recs[i].Position]
	}
	return recs, err
}

func (o ordinals) ReadAll(context.Context, int64, int) ([]audit.Record, error) {
	return nil, errors.New("ordinals serves Load only")
}
