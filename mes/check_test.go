package mes_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// TestCheckWritesNothing: a dry run answers as Execute would, with every
// reason, the transition's target and the commands that could come next,
// and leaves the record as it was; as of a past instant it answers with
// the subject and the facts as they stood then.
func TestCheckWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		env := mestest.NewOn(t, s, clock, nil).Plant()
		batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
		t0 := clock.Now()
		clock.Set(t0.Add(time.Hour))
		if _, err := env.Engine.Execute(ctx, mes.Request{ID: "r1", Model: batch, Subject: "batch-C1", Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(2 * time.Hour))
		env.Fact("person", event.PersonStream("op-8"), mes.CmdRegister, map[string]string{"name": "Oscar Operator"})
		env.Fact("person", event.PersonStream("op-8"), mes.CmdGrantRole, map[string]string{"role": "operator"})
		clock.Set(t0.Add(3 * time.Hour))
		before := len(readAll(t, s))

		start := func(actor string) mes.Request {
			return mes.Request{Model: batch, Subject: "batch-C1", Command: mes.CmdStart, Actor: actor}
		}
		v, err := env.Engine.Check(ctx, start("op-8"))
		if err != nil || !v.Allowed || v.State != lifecycle.BatchReady || v.To != lifecycle.BatchInProgress ||
			!slices.Equal(v.Next, []mes.Command{mes.CmdCancel, mes.CmdStart}) {
			t.Fatalf("Check(start by op-8) = %+v, %v; want allowed, ready -> in-progress, next [cancel start]", v, err)
		}
		if v, err := env.Engine.Check(ctx, start("qa-3")); err != nil || v.Allowed || !hasCode(v.Reasons, gate.CodeRoleMissing) {
			t.Errorf("Check(start by qa-3) = %+v, %v; want denied for the role", v, err)
		}
		c := start("op-8")
		c.Command = mes.CmdComplete
		if v, err := env.Engine.Check(ctx, c); err != nil || v.Allowed || v.To != "" || !hasCode(v.Reasons, mes.CodeIllegalTransition) {
			t.Errorf("Check(complete in ready) = %+v, %v; want illegal", v, err)
		}
		// As of 90 minutes: released, but op-8 was not yet an operator.
		if v, err := env.Engine.CheckAt(ctx, start("op-8"), t0.Add(90*time.Minute)); err != nil || v.Allowed ||
			v.State != lifecycle.BatchReady || !hasCode(v.Reasons, gate.CodeRoleMissing) {
			t.Errorf("CheckAt(+90m) = %+v, %v; want ready and denied for the role", v, err)
		}
		// As of 30 minutes: not even released.
		if v, err := env.Engine.CheckAt(ctx, start("op-7"), t0.Add(30*time.Minute)); err != nil || v.State != lifecycle.BatchPlanned ||
			!hasCode(v.Reasons, mes.CodeIllegalTransition) {
			t.Errorf("CheckAt(+30m) = %+v, %v; want planned and illegal", v, err)
		}
		if after := len(readAll(t, s)); after != before {
			t.Errorf("checks wrote %d records", after-before)
		}

		for _, c := range []struct {
			at   time.Time
			want mes.State
		}{{t0.Add(time.Hour), lifecycle.BatchReady}, {t0.Add(4 * time.Hour), lifecycle.BatchReady}} {
			if st, err := env.Engine.StateAt(ctx, batch, "batch-C1", "", c.at); err != nil || st != c.want {
				t.Errorf("StateAt(%v) = %q, %v; want %q", c.at, st, err, c.want)
			}
		}
		if _, err := env.Engine.StateAt(ctx, batch, "batch-C1", "", t0.Add(30*time.Minute)); !errors.Is(err, mes.ErrNoRecordsYet) {
			t.Errorf("StateAt before the first record: %v, want ErrNoRecordsYet", err)
		}
		if st, err := env.Engine.State(ctx, batch, "batch-C1", ""); err != nil || st != lifecycle.BatchReady {
			t.Errorf("State = %q, %v", st, err)
		}
		// A record written around the engine: the read side says so too.
		forge(t, s, "batch-C1", "batch.started", mes.CmdStart, lifecycle.BatchReady, lifecycle.BatchInProgress, "op-8")
		var ue *mes.UnprovenError
		if _, err := env.Engine.State(ctx, batch, "batch-C1", ""); !errors.As(err, &ue) {
			t.Errorf("State after a forged record: %v, want an *UnprovenError", err)
		}
		if _, err := env.Engine.Check(ctx, start("op-8")); !errors.As(err, &ue) {
			t.Errorf("Check after a forged record: %v, want an *UnprovenError", err)
		}
		var re *mes.RequestError
		if _, err := env.Engine.Check(ctx, mes.Request{Model: batch, Subject: "batch-C1", Command: mes.CmdStart}); !errors.As(err, &re) {
			t.Errorf("Check without an actor: %v, want a *RequestError", err)
		}
	})
}

func readAll(t *testing.T, s storage.Store) []string {
	t.Helper()
	recs, err := s.ReadAll(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Stream
	}
	return out
}

// TestDispatch: for each subject, what the actor could do now and, for the
// rest of what the model permits, which gates block it.
func TestDispatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		env := mestest.NewOn(t, s, clock, nil).Plant()
		batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
		if _, err := env.Engine.Execute(ctx, mes.Request{ID: "r2", Model: batch, Subject: "batch-D2", Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
			t.Fatal(err)
		}
		subjects := []mes.Subject{{Model: batch, Subject: "batch-D1"}, {Model: batch, Subject: "batch-D2"}}
		before := len(readAll(t, s))
		got, err := env.Engine.Dispatch(ctx, "op-7", subjects)
		if err != nil {
			t.Fatal(err)
		}
		blocked := func(d mes.Dispatch) []mes.Command {
			var out []mes.Command
			for _, b := range d.Blocked {
				if !hasCode(b.Reasons, gate.CodeRoleMissing) {
					t.Errorf("%s %s blocked by %v, want the role", d.Subject, b.Command, b.Reasons)
				}
				out = append(out, b.Command)
			}
			return out
		}
		if len(got) != 2 || got[0].State != lifecycle.BatchPlanned || len(got[0].Allowed) != 0 ||
			!slices.Equal(blocked(got[0]), []mes.Command{mes.CmdCancel, mes.CmdRelease}) {
			t.Errorf("op-7 on batch-D1: %+v; want planned, cancel and release blocked", got[0])
		}
		if len(got) == 2 && (!slices.Equal(got[1].Allowed, []mes.Command{mes.CmdStart}) || !slices.Equal(blocked(got[1]), []mes.Command{mes.CmdCancel})) {
			t.Errorf("op-7 on batch-D2: %+v; want start allowed, cancel blocked", got[1])
		}
		sv, err := env.Engine.Dispatch(ctx, "sv-1", subjects[:1])
		if err != nil || !slices.Equal(sv[0].Allowed, []mes.Command{mes.CmdCancel, mes.CmdRelease}) {
			t.Errorf("sv-1 on batch-D1: %+v, %v; want cancel and release allowed", sv, err)
		}
		if after := len(readAll(t, s)); after != before {
			t.Errorf("dispatch wrote %d records", after-before)
		}
		var re *mes.RequestError
		if _, err := env.Engine.Dispatch(ctx, "", subjects); !errors.As(err, &re) {
			t.Errorf("Dispatch without an actor: %v", err)
		}
	})
}

// TestAnotherModelVersionIsTyped: a subject that runs v1 of a model, asked
// to run v2, fails with a *ModelVersionError naming both, on Execute and
// on the read side.
func TestAnotherModelVersionIsTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	build := func(v int) *mes.Model {
		return mestest.Must[*mes.Model](t)(mes.NewModel("widget", v).States("new", "made").Initial("new").Final("made").
			Permit("new", mes.CmdComplete, "made", mes.Recording("widget.made")).Build())
	}
	v1, v2 := build(1), build(2)
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "w1", Model: v1, Subject: "widget-1", Command: mes.CmdComplete, Actor: "op-7"}); err != nil {
		t.Fatal(err)
	}
	var mv *mes.ModelVersionError
	_, err := env.Engine.Execute(ctx, mes.Request{ID: "w2", Model: v2, Subject: "widget-1", Command: mes.CmdComplete, Actor: "op-7"})
	if !errors.As(err, &mv) || !errors.Is(err, mes.ErrModelVersion) || mv.Running != 1 || mv.Asked != 2 || mv.Stream != "widget-1" {
		t.Errorf("Execute under v2: %v, want a *ModelVersionError running 1, asked 2", err)
	}
	if _, err := env.Engine.State(ctx, v2, "widget-1", ""); !errors.As(err, &mv) {
		t.Errorf("State under v2: %v", err)
	}
}
