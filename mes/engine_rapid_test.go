package mes_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// TestEngineAgainstModel drives random starts and completions of the
// weighing step by several actors on two batches sharing one lot, and checks
// after every command that the engine agrees with a plain reference model:
// the same decision, no step complete without an in-tolerance device
// reading, no lot over-consumed, every denial on the record. The audit trail
// verifies at the end.
func TestEngineAgainstModel(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		s := memory.New(nil)
		e, _, _ := newEngineOn(t, s)
		w := newWeighing(t)
		lower, upper := decimal.RequireFromString("12.45"), decimal.RequireFromString("12.55")

		type step struct {
			state    mes.State
			operator string
		}
		model := map[string]*step{"batch-B1": {state: lifecycle.StepPending}, "batch-B2": {state: lifecycle.StepPending}}
		remaining := decimal.RequireFromString("50")
		n := 0
		rt.Repeat(map[string]func(*rapid.T){
			"start": func(rt *rapid.T) {
				batch := rapid.SampledFrom([]string{"batch-B1", "batch-B2"}).Draw(rt, "batch")
				actor := rapid.SampledFrom([]string{"op-7", "qa-3"}).Draw(rt, "actor")
				n++
				out, err := e.Execute(ctx, mes.Request{ID: fmt.Sprint("cmd-", n), Model: w.weigh, Subject: batch, Step: "S10",
					Command: mes.CmdStart, Actor: actor, Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{scan("L7")}})
				want := model[batch].state == lifecycle.StepPending && actor == "op-7"
				check(rt, s, batch, out, err, want)
				if want {
					model[batch] = &step{state: lifecycle.StepInProgress, operator: actor}
				}
			},
			"complete": func(rt *rapid.T) {
				batch := rapid.SampledFrom([]string{"batch-B1", "batch-B2"}).Draw(rt, "batch")
				actor := rapid.SampledFrom([]string{"op-7", "qa-3"}).Draw(rt, "actor")
				v := decimal.New(int64(rapid.IntRange(1240, 1260).Draw(rt, "centigrams")), -2)
				src := rapid.SampledFrom([]gate.Source{gate.SourceDevice, gate.SourceManual}).Draw(rt, "source")
				qty := decimal.New(int64(rapid.IntRange(1, 30).Draw(rt, "kg")), 0)
				ev := gate.Evidence{Name: "net-weight", HasValue: true, Value: v, Unit: "kg", Source: src, Instrument: "SC-01", Stable: true}
				n++
				out, err := e.Execute(ctx, mes.Request{ID: fmt.Sprint("cmd-", n), Model: w.weigh, Subject: batch, Step: "S10",
					Command: mes.CmdComplete, Actor: actor, Refs: map[string]string{"lot": "L7", "scale": "SC-01"},
					Evidence: []gate.Evidence{ev}, Consume: []event.Consumption{{Lot: "L7", Quantity: qty, Unit: "kg"}}})
				st := model[batch]
				want := st.state == lifecycle.StepInProgress && actor == st.operator &&
					src == gate.SourceDevice && !v.LessThan(lower) && !v.GreaterThan(upper) && !qty.GreaterThan(remaining)
				check(rt, s, batch, out, err, want)
				if want {
					st.state = lifecycle.StepComplete
					remaining = remaining.Sub(qty)
				}
			},
			"": func(rt *rapid.T) {
				lot, err := mes.NewFacts(s, "", nil).Lot(ctx, "L7")
				if err != nil {
					rt.Fatal(err)
				}
				if !lot.Available.Equal(remaining) || lot.Available.IsNegative() {
					rt.Fatalf("lot L7 holds %s, the model %s", lot.Available, remaining)
				}
				for batch, st := range model {
					recs, err := s.Load(ctx, batch, 1)
					if err != nil {
						rt.Fatal(err)
					}
					got, err := mes.Fold(w.weigh, "S10", recs)
					if err != nil || got != st.state {
						rt.Fatalf("%s S10: engine %q (%v), model %q", batch, got, err, st.state)
					}
				}
			},
		})
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			rt.Fatalf("audit trail: %v", err)
		}
	})
}

// check compares one decision with the model's and, for a denial, that the
// subject's last record is the denied attempt.
func check(rt *rapid.T, s storage.Store, subject string, out *mes.Outcome, err error, allowed bool) {
	switch {
	case allowed && err != nil:
		rt.Fatalf("%s: engine denied what the model allows: %v", subject, err)
	case !allowed && !errors.Is(err, mes.ErrDenied):
		rt.Fatalf("%s: engine allowed what the model denies (allowed %v, to %q, err %v)", subject, out != nil && out.Allowed, outcomeTo(out), err)
	case !allowed:
		recs, lerr := s.Load(context.Background(), subject, 1)
		if lerr != nil || len(recs) == 0 || recs[len(recs)-1].Type != event.Denied {
			rt.Fatalf("%s: denial not on the record", subject)
		}
	}
}

func outcomeTo(out *mes.Outcome) mes.State {
	if out == nil {
		return ""
	}
	return out.To
}
