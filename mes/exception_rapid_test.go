package mes_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/release"

	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/storage/memory"
)

// TestExceptionsAgainstModel drives random openings, dispositions,
// rejections, CAPA references and approvals by several people over several
// exceptions of one batch, and checks after every command that Exceptions
// agrees with a plain reference model: the same decision (an exception
// closes only when dispositioned and approved by a qa person who took no
// part in it, an investigation only with a CAPA reference), the same state,
// and exactly the exceptions not closed are open on the batch for gates and
// for release readiness.
func TestExceptionsAgainstModel(t *testing.T) {
	t.Parallel()
	people := []string{"op-7", "qa-3", "qa-4", "qa-5"}
	qa := map[string]bool{"qa-3": true, "qa-4": true, "qa-5": true}
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
		type exc struct {
			state       mes.State
			took        map[string]bool // opened, dispositioned, rejected or attached a CAPA
			investigate bool
			capa        bool
		}
		model := map[string]*exc{}
		var ids []string
		n := 0
		cmd := func(what string) string { n++; return fmt.Sprintf("%s-%d", what, n) }
		expect := func(rt *rapid.T, what string, err error, allowed bool) {
			rt.Helper()
			switch {
			case allowed && err != nil:
				rt.Fatalf("%s: %v; the model allows it", what, err)
			case !allowed && !errors.Is(err, mes.ErrDenied):
				rt.Fatalf("%s: %v; the model denies it", what, err)
			}
		}
		pick := func(rt *rapid.T) (string, *exc) {
			id := rapid.SampledFrom(ids).Draw(rt, "exception")
			return id, model[id]
		}
		rt.Repeat(map[string]func(*rapid.T){
			"open": func(rt *rapid.T) {
				who := rapid.SampledFrom(people).Draw(rt, "opener")
				id := fmt.Sprintf("DEV-%d", len(ids)+1)
				_, err := v.x.Open(ctx, exception.By{CommandID: cmd("open"), Actor: who}, exception.Deviation{ID: id, Summary: "s", Subject: "batch-B42"})
				expect(rt, "open "+id, err, true)
				ids = append(ids, id)
				model[id] = &exc{state: exception.StateOpen, took: map[string]bool{who: true}}
			},
			"disposition": func(rt *rapid.T) {
				if len(ids) == 0 {
					rt.Skip("nothing open")
				}
				id, x := pick(rt)
				who := rapid.SampledFrom(people).Draw(rt, "actor")
				d := exception.Disposition{Decision: rapid.SampledFrom(exception.DispositionKinds()).Draw(rt, "decision"), Rationale: "r"}
				if d.Decision == exception.DispositionSubstitute {
					d.Substitute = "L8"
				}
				if rapid.Bool().Draw(rt, "with CAPA") {
					d.CAPA = "CAPA-1"
				}
				_, err := v.x.Disposition(ctx, exception.By{CommandID: cmd("disp"), Actor: who}, id, d)
				ok := x.state == exception.StateOpen
				expect(rt, "disposition "+id, err, ok)
				if ok {
					x.state, x.took[who], x.investigate = exception.StateDispositioned, true, d.Decision == exception.DispositionInvestigate
					x.capa = x.capa || d.CAPA != ""
				}
			},
			"reject": func(rt *rapid.T) {
				if len(ids) == 0 {
					rt.Skip("nothing open")
				}
				id, x := pick(rt)
				who := rapid.SampledFrom(people).Draw(rt, "actor")
				_, err := v.x.Reject(ctx, exception.By{CommandID: cmd("rej"), Actor: who}, id, "no")
				ok := x.state == exception.StateDispositioned && qa[who]
				expect(rt, "reject "+id, err, ok)
				if ok {
					x.state, x.took[who] = exception.StateOpen, true
				}
			},
			"capa": func(rt *rapid.T) {
				if len(ids) == 0 {
					rt.Skip("nothing open")
				}
				id, x := pick(rt)
				who := rapid.SampledFrom(people).Draw(rt, "actor")
				_, err := v.x.AttachCAPA(ctx, exception.By{CommandID: cmd("capa"), Actor: who}, id, "CAPA-2")
				expect(rt, "attach CAPA to "+id, err, true)
				x.took[who], x.capa = true, true
			},
			"approve": func(rt *rapid.T) {
				if len(ids) == 0 {
					rt.Skip("nothing open")
				}
				id, x := pick(rt)
				who := rapid.SampledFrom(people).Draw(rt, "signer")
				_, err := v.x.Approve(ctx, exception.By{CommandID: cmd("appr"), Actor: who}, id, mes.Sign{Challenge: full(who)})
				ok := x.state == exception.StateDispositioned && qa[who] && !x.took[who] && (!x.investigate || x.capa)
				expect(rt, fmt.Sprintf("approve %s by %s", id, who), err, ok)
				if ok {
					x.state = exception.StateClosed
				}
			},
			"": func(rt *rapid.T) {
				var want []string
				for _, id := range ids {
					got := must[*exception.Exception](t)(v.x.Get(ctx, id))
					if got.State != model[id].state {
						rt.Fatalf("%s is %s; the model says %s", id, got.State, model[id].state)
					}
					if got.State != exception.StateClosed {
						want = append(want, id)
					}
				}
				slices.Sort(want)
				open := v.openIDs(t, "batch-B42")
				slices.Sort(open)
				if !slices.Equal(want, open) && (len(want) > 0 || len(open) > 0) {
					rt.Fatalf("open on the batch %v; the model says %v", open, want)
				}
				verdict := must[*release.Verdict](t)(release.Readiness(ctx, v.s, "batch-B42", &release.Config{Releasable: []mes.State{lifecycle.BatchPlanned}}))
				var blocking []string
				for _, b := range verdict.Blocking {
					if b.Code != release.CodeExceptionOpen {
						rt.Fatalf("unexpected blocker %+v", b)
					}
					blocking = append(blocking, b.Ref)
				}
				slices.Sort(blocking)
				if !slices.Equal(want, blocking) && (len(want) > 0 || len(blocking) > 0) || verdict.Ready != (len(want) == 0) {
					rt.Fatalf("readiness %+v; the model has %v open", verdict, want)
				}
			},
		})
	})
}
