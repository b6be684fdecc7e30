package trailreview_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/validation/trailreview"
)

var start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

const secret = "a reviewer's secret"

// plant is an engine on a memory store whose clock the test sets, with
// qa-3 (qa, able to sign) and op-7 (operator) on the record.
func plant(t *testing.T, c *clock) (*memory.Store, *mes.Engine) {
	t.Helper()
	ctx := t.Context()
	store := memory.New(&memory.Config{Clock: c.Now})
	key := make([]byte, 32)
	rand.Read(key)
	att, err := audit.NewAttester("trailreview-test", key)
	if err != nil {
		t.Fatal(err)
	}
	attested, _ := audit.NewAttested(att)
	trail, err := mes.NewAuthTrail(store, attested)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := mes.NewCredentials(store, attested)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := signature.NewPasswordAuthenticator(&signature.Config{Store: creds, Observer: trail, Clock: signature.Clock(c.Now), MaxFailures: 3,
		Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: sk, Clock: signature.Clock(c.Now)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trail.RecordSigningKey(ctx, signer.PublicKey(), "admin"); err != nil {
		t.Fatal(err)
	}
	e, err := mes.New(store, &mes.Config{Clock: c.Now, Signer: signer, Attestation: attested})
	if err != nil {
		t.Fatal(err)
	}
	person, _ := mes.PersonModel()
	if err := trail.Gate(e, person); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range []struct {
		id   string
		cmd  mes.Command
		data map[string]string
	}{{"qa-3", mes.CmdRegister, map[string]string{"name": "Quentin QA"}}, {"qa-3", mes.CmdGrantRole, map[string]string{"role": "qa"}},
		{"op-7", mes.CmdRegister, map[string]string{"name": "Olga Operator"}}, {"op-7", mes.CmdGrantRole, map[string]string{"role": "operator"}}} {
		n++
		raw, _ := json.Marshal(f.data)
		if _, err := e.Execute(ctx, mes.Request{ID: string(rune('a' + n)), Model: person, Subject: event.PersonStream(f.id), Command: f.cmd, Actor: "admin", Data: raw}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"qa-3", "op-7"} {
		if err := auth.SetCredential(ctx, "admin", id, id, signature.NewSecret(secret)); err != nil {
			t.Fatal(err)
		}
	}
	return store, e
}

func sign(user string) mes.Sign {
	return mes.Sign{Challenge: signature.Challenge{UserID: user, Secret: signature.NewSecret(secret)}}
}

// TestPeriodicReview runs three weekly periods: the first is reviewed and
// stays so, the second is due, a review by someone without the qa role is
// denied and leaves it due, and a record slipped into the first period
// afterwards (around the engine, as someone with database access could)
// makes it Changed.
func TestPeriodicReview(t *testing.T) {
	ctx := t.Context()
	c := &clock{now: start.Add(time.Hour)}
	store, e := plant(t, c)
	week := 7 * 24 * time.Hour
	s := trailreview.Schedule{Start: start, Every: week}
	model, err := review.AuditModel("qa")
	if err != nil {
		t.Fatal(err)
	}
	c.Set(start.Add(week + time.Hour))
	periods, err := trailreview.Periods(s, c.Now())
	if err != nil || len(periods) != 1 {
		t.Fatalf("periods after a week = %v, %v; want 1", periods, err)
	}
	if _, err := trailreview.Review(ctx, e, store, model, s, periods[0], "op-7", sign("op-7"), ""); !errors.Is(err, mes.ErrDenied) {
		t.Errorf("review by an operator: %v; want a denial", err)
	}
	sr, err := trailreview.Review(ctx, e, store, model, s, periods[0], "qa-3", sign("qa-3"), "first week")
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Trail.Records) == 0 {
		t.Error("the first week's review covers no record")
	}
	c.Set(start.Add(2*week + time.Hour))
	st, err := trailreview.Status(ctx, store, s, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].State != trailreview.Reviewed || st[0].Reviewer != "qa-3" || st[1].State != trailreview.Due {
		t.Fatalf("status = %+v; want week 1 reviewed by qa-3, week 2 due", st)
	}
	// A review of the same period again is the same review.
	if again, err := trailreview.Review(ctx, e, store, model, s, periods[0], "qa-3", sign("qa-3"), "first week"); err != nil || again.Digest != sr.Digest {
		t.Errorf("the same review again: %v, digest %s; want %s", err, again.Digest, sr.Digest)
	}

	// Back-date a record into week 1, around the engine.
	c.Set(start.Add(2 * time.Hour))
	if _, err := store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch/B9",
		Events: []storage.Event{{Type: event.Denied, Actor: "op-7"}}}}}); err != nil {
		t.Fatal(err)
	}
	c.Set(start.Add(2*week + time.Hour))
	st, err = trailreview.Status(ctx, store, s, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	var late *trailreview.LateRecordsError
	if st[0].State != trailreview.Changed || !errors.As(st[0].Err, &late) || late.Late != 1 {
		t.Errorf("week 1 after a record was slipped in: %+v; want changed by one late record", st[0])
	}
	if st[1].State != trailreview.Due {
		t.Errorf("week 2 = %s; want due", st[1].State)
	}
}

// TestPeriods: periods are consecutive and half-open, only ended ones are
// listed, and a bad schedule is refused.
func TestPeriods(t *testing.T) {
	s := trailreview.Schedule{Start: start, Every: 24 * time.Hour}
	ps, err := trailreview.Periods(s, start.Add(72*time.Hour))
	if err != nil || len(ps) != 3 {
		t.Fatalf("%v, %v; want 3 periods", ps, err)
	}
	for i := 1; i < len(ps); i++ {
		if !ps[i].Since.Equal(ps[i-1].Until) || ps[i].ID() == ps[i-1].ID() {
			t.Errorf("period %d does not follow %d: %+v", i, i-1, ps)
		}
	}
	if ps, _ := trailreview.Periods(s, start.Add(71*time.Hour)); len(ps) != 2 {
		t.Errorf("a period that has not ended is listed: %+v", ps)
	}
	if _, err := trailreview.Periods(trailreview.Schedule{Start: start}, start); err == nil {
		t.Error("a schedule without a length is accepted")
	}
	if _, err := trailreview.Status(context.Background(), nil, trailreview.Schedule{Every: time.Hour}, start); err == nil {
		t.Error("a schedule without a start is accepted")
	}
}
