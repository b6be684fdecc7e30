// Package mestest helps test code that runs on the engine: an engine over
// the memory store on a clock the test sets, fact commands run as an
// administrator would run them, and a small plant of master data (an
// operator, a QA person, a released lot and a calibrated, clean scale) to
// run batches against. It is for tests, an integrator's as much as ours;
// nothing in it is for production.
//
// # Use
//
// New (or NewOn, over a store of one's own) gives an Env; Plant records the
// master data; Fact runs further fact commands; Stores runs a test on both
// the memory store and a fresh Postgres schema; Must and Decimal shorten
// test code.
package mestest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// Now is the time a Clock starts at: 2026-11-25 09:00 UTC.
var Now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// Clock is a clock a test sets. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; pass the method as a storage.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Env is an engine, its store and its clock.
type Env struct {
	TB     testing.TB
	Engine *mes.Engine
	Store  storage.Store
	Clock  *Clock
	// Attestation holds the engine's attestation keys: the Config's, or
	// Attestation() when it gave none.
	Attestation *audit.Attested
	n           int
	models      map[string]*mes.Model
}

// Attestation returns the attestation keys an Env's engine uses when its
// Config gives none: one fixed key, id "mestest", so that every test's
// records are attested as a production engine's are. It is a test key;
// never use it in production.
func Attestation() *audit.Attested {
	a, err := audit.NewAttester("mestest", []byte("mestest attestation key, 32 byte"))
	if err != nil {
		panic(err)
	}
	k, err := audit.NewAttested(a)
	if err != nil {
		panic(err)
	}
	return k
}

// New returns an Env over a new memory store, its clock at Now. cfg, which
// may be nil, configures the engine; its Clock is replaced by the Env's,
// and a nil Attestation by Attestation().
func New(tb testing.TB, cfg *mes.Config) *Env {
	tb.Helper()
	clock := NewClock(Now)
	return NewOn(tb, memory.New(&memory.Config{Clock: clock.Now}), clock, cfg)
}

// NewOn returns an Env over store, whose records are stamped by the
// store's own clock; the engine reads clock. cfg may be nil.
func NewOn(tb testing.TB, store storage.Store, clock *Clock, cfg *mes.Config) *Env {
	tb.Helper()
	c := mes.Config{}
	if cfg != nil {
		c = *cfg
	}
	c.Clock = clock.Now
	if c.Attestation == nil {
		c.Attestation = Attestation()
	}
	e, err := mes.New(store, &c)
	if err != nil {
		tb.Fatal(err)
	}
	env := &Env{TB: tb, Engine: e, Store: store, Clock: clock, Attestation: c.Attestation, models: map[string]*mes.Model{}}
	for name, build := range map[string]func(...mes.Option) (*mes.Model, error){
		"lot": mes.LotModel, "equipment": mes.EquipmentModel, "person": mes.PersonModel} {
		env.models[name] = Must[*mes.Model](tb)(build())
	}
	return env
}

// Fact runs command cmd of the fact model named model ("lot", "equipment"
// or "person") on subject as the administrator "admin", with data encoded
// as the command's Data. A denied or failed command fails the test.
func (env *Env) Fact(model, subject string, cmd mes.Command, data any) {
	env.TB.Helper()
	env.n++
	var raw json.RawMessage
	if data != nil {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			env.TB.Fatalf("encode %s data: %v", cmd, err)
		}
	}
	m, ok := env.models[model]
	if !ok {
		env.TB.Fatalf("mestest: no fact model %q; want lot, equipment or person", model)
	}
	if _, err := env.Engine.Execute(context.Background(), mes.Request{ID: fmt.Sprintf("mestest-fact-%d", env.n), Model: m,
		Subject: subject, Command: cmd, Actor: "admin", Data: raw}); err != nil {
		env.TB.Fatalf("%s %s: %v", cmd, subject, err)
	}
}

// Plant records the master data most tests need: operator op-7 ("Olga
// Operator", role operator, trained in dispensing for a day),
// supervisor sv-1 ("Sam Supervisor", role supervisor), QA person qa-3
// ("Quentin QA", role qa), lot L7 (50 kg of API-100, released,
// expiring in 90 days) and scale SC-01 (available, calibrated for 30 days,
// clean). It returns env.
func (env *Env) Plant() *Env {
	env.TB.Helper()
	now := env.Clock.Now()
	env.Fact("person", event.PersonStream("op-7"), mes.CmdRegister, map[string]string{"name": "Olga Operator"})
	env.Fact("person", event.PersonStream("op-7"), mes.CmdGrantRole, map[string]string{"role": "operator"})
	env.Fact("person", event.PersonStream("op-7"), mes.CmdRecordTrained, map[string]any{"skill": "dispensing", "until": now.Add(24 * time.Hour)})
	env.Fact("person", event.PersonStream("sv-1"), mes.CmdRegister, map[string]string{"name": "Sam Supervisor"})
	env.Fact("person", event.PersonStream("sv-1"), mes.CmdGrantRole, map[string]string{"role": "supervisor"})
	env.Fact("person", event.PersonStream("qa-3"), mes.CmdRegister, map[string]string{"name": "Quentin QA"})
	env.Fact("person", event.PersonStream("qa-3"), mes.CmdGrantRole, map[string]string{"role": "qa"})
	env.Fact("lot", event.LotStream("L7"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: decimal.NewFromInt(50), Unit: "kg", Expiry: now.Add(90 * 24 * time.Hour)})
	env.Fact("lot", event.LotStream("L7"), mes.CmdRelease, nil)
	env.Fact("equipment", event.EquipmentStream("SC-01"), mes.CmdRegister, map[string]string{"status": "available"})
	env.Fact("equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid", "due": now.Add(30 * 24 * time.Hour)})
	env.Fact("equipment", event.EquipmentStream("SC-01"), mes.CmdClean, map[string]any{"status": "clean"})
	return env
}

// Must returns a function that returns its value, or fails tb with the
// error: Must[*mes.Model](t)(lifecycle.Batch()).
func Must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// Decimal parses s, failing tb when it is not a decimal.
func Decimal(tb testing.TB, s string) decimal.Decimal {
	tb.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
