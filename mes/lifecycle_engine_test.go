package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// pathsFrom returns, for every state of m, a shortest path of transitions
// from the initial state to it (empty for the initial state itself).
func pathsFrom(m *mes.Model) map[mes.State][]*mes.Transition {
	paths := map[mes.State][]*mes.Transition{m.Initial(): {}}
	queue := []mes.State{m.Initial()}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, t := range m.Transitions() {
			if _, seen := paths[t.To]; t.From != s || seen {
				continue
			}
			paths[t.To] = append(append([]*mes.Transition{}, paths[s]...), t)
			queue = append(queue, t.To)
		}
	}
	return paths
}

// walkSigners are the people who sign where a transition needs it: none of
// them ever performs work in the walk.
var walkSigners = []string{"qa-3", "qa-4"}

// signaturesFor returns what t needs signed, by people who took no part.
func signaturesFor(t *mes.Transition) []mes.Sign {
	var out []mes.Sign
	for _, r := range t.Signatures {
		for i := range r.Count {
			out = append(out, mes.Sign{Meaning: r.Meaning, Challenge: full(walkSigners[i%len(walkSigners)])})
		}
	}
	return out
}

// TestEveryLifecyclePairThroughTheEngine walks every (state, command) pair
// of each standard lifecycle and fact model through the engine, on both
// stores: a fresh subject is driven into the state along a shortest path,
// then given the command. A legal command moves it to the transition's
// target; an illegal one is denied with a *DeniedError matching
// ErrIllegalTransition, recorded as the subject's last record with code
// transition.illegal, and leaves the state as it was.
func TestEveryLifecyclePairThroughTheEngine(t *testing.T) {
	t.Parallel()
	lifecycles := []struct {
		name   string
		build  func() (*mes.Model, error)
		stream func(id string) string
		step   string // run as this step of the subject
	}{
		// The lifecycles without their role gates: this test is about
		// the moves (TestLifecycleRoles is about who may make them).
		{"order", func() (*mes.Model, error) { return lifecycle.Order(lifecycle.WithoutRoles()) }, func(id string) string { return "order-" + id }, ""},
		{"batch", func() (*mes.Model, error) { return lifecycle.Batch(lifecycle.WithoutRoles()) }, func(id string) string { return "batch-" + id }, ""},
		{"step", func() (*mes.Model, error) { return lifecycle.Step(lifecycle.WithoutRoles()) }, func(id string) string { return "batch-" + id }, "S10"},
		{"lot", func() (*mes.Model, error) { return mes.LotModel() }, event.LotStream, ""},
		{"equipment", func() (*mes.Model, error) { return mes.EquipmentModel() }, event.EquipmentStream, ""},
		{"person", func() (*mes.Model, error) { return mes.PersonModel() }, event.PersonStream, ""},
	}
	// dataFor is the Data of command c: a calibration's, which the
	// equipment model checks; none for the others.
	dataFor := func(t *testing.T, c mes.Command) json.RawMessage {
		if c == mes.CmdGrantRole || c == mes.CmdRevokeRole {
			return json.RawMessage(`{"role":"walker"}`)
		}
		if c != mes.CmdCalibrate {
			return nil
		}
		// A map marshals with its keys sorted: the canonical form the
		// record holds.
		return must[[]byte](t)(json.Marshal(map[string]any{"status": gate.CalibrationValid, "due": now.Add(30 * 24 * time.Hour)}))
	}
	for _, lc := range lifecycles {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			m := must[*mes.Model](t)(lc.build())
			paths := pathsFrom(m)
			if len(paths) != len(m.States()) {
				t.Fatalf("%d of %d states reachable", len(paths), len(m.States()))
			}
			// One store (one Postgres schema) per lifecycle; every pair
			// has a subject of its own.
			stores(t, func(t *testing.T, s storage.Store) {
				ctx := context.Background()
				sg := newSigning(t, s, walkSigners...)
				n, legal := 0, 0
				for _, state := range m.States() {
					for _, cmd := range m.Commands() {
						n++
						subject := lc.stream(fmt.Sprintf("walk-%d", n))
						actorOf := func(c mes.Command) string {
							if c == mes.CmdChangeSecret {
								return strings.TrimPrefix(subject, event.PersonStream("")) // only one's own
							}
							return "op-7"
						}
						run := func(id string, c mes.Command, sigs []mes.Sign) (*mes.Outcome, error) {
							actor := actorOf(c)
							return sg.e.Execute(ctx, mes.Request{ID: id, Model: m, Subject: subject, Step: lc.step, Command: c,
								Actor: actor, Signatures: sigs, Data: dataFor(t, c)})
						}
						for i, tr := range paths[state] {
							if _, err := run(fmt.Sprintf("%s-path-%d", subject, i), tr.Command, signaturesFor(tr)); err != nil {
								t.Fatalf("%s: driving to %s, %s: %v", subject, state, tr.Command, err)
							}
						}
						if _, err := m.Transition(state, mes.CmdGrantRole); err == nil && cmd == mes.CmdRevokeRole {
							// Only a role held can be revoked.
							if _, err := run(subject+"-grant", mes.CmdGrantRole, nil); err != nil {
								t.Fatalf("%s: grant before revoking: %v", subject, err)
							}
						}
						before := must[[]audit.Record](t)(s.Load(ctx, subject, 1))
						if st := must[mes.State](t)(mes.Fold(m, lc.step, before)); st != state {
							t.Fatalf("%s is %s after its path, want %s", subject, st, state)
						}
						want, illegal := m.Transition(state, cmd)
						if illegal == nil {
							legal++
							out, err := run(subject+"-cmd", cmd, signaturesFor(want))
							if err != nil {
								t.Errorf("%s --%s--> %s: %v", state, cmd, want.To, err)
								continue
							}
							after := must[[]audit.Record](t)(s.Load(ctx, subject, 1))
							if st := must[mes.State](t)(mes.Fold(m, lc.step, after)); !out.Allowed || out.To != want.To || st != want.To {
								t.Errorf("%s --%s-->: allowed %v, to %s, folds to %s; want %s", state, cmd, out.Allowed, out.To, st, want.To)
							}
							continue
						}
						out, err := run(subject+"-cmd", cmd, nil)
						var de *mes.DeniedError
						if !errors.As(err, &de) || !errors.Is(err, mes.ErrIllegalTransition) || !errors.Is(err, mes.ErrDenied) {
							t.Errorf("%s in %s: error %v, want a *DeniedError matching ErrIllegalTransition", cmd, state, err)
							continue
						}
						if de.Illegal == nil || de.Illegal.State != state || de.Illegal.Command != cmd || de.State != state {
							t.Errorf("%s in %s: denial %+v names the wrong state or command", cmd, state, de)
						}
						if out == nil || out.Allowed || out.To != state {
							t.Errorf("%s in %s: outcome %+v, want denied and staying in %s", cmd, state, out, state)
						}
						after := must[[]audit.Record](t)(s.Load(ctx, subject, 1))
						if st := must[mes.State](t)(mes.Fold(m, lc.step, after)); st != state {
							t.Errorf("%s in %s: the subject folds to %s after the denial", cmd, state, st)
						}
						if len(after) != len(before)+1 {
							t.Errorf("%s in %s: %d records after the denial, want %d", cmd, state, len(after), len(before)+1)
							continue
						}
						last := after[len(after)-1]
						var p event.Transition
						if err := json.Unmarshal(last.Payload, &p); err != nil {
							t.Fatal(err)
						}
						wantP := event.Transition{CommandID: subject + "-cmd", Model: m.Name(), ModelVersion: m.Version(),
							Step: lc.step, Command: cmd, From: state, Data: dataFor(t, cmd)}
						var codes []gate.Code
						for _, r := range p.Reasons {
							codes = append(codes, r.Code)
						}
						p.Reasons = nil
						if last.Type != event.Denied || last.Actor != actorOf(cmd) || !cmp.Equal(codes, []gate.Code{"transition.illegal"}) {
							t.Errorf("%s in %s: last record %s by %s with codes %v; want %s by %s with transition.illegal",
								cmd, state, last.Type, last.Actor, codes, event.Denied, actorOf(cmd))
						}
						if diff := cmp.Diff(wantP, p); diff != "" {
							t.Errorf("%s in %s: denied payload (-want +got):\n%s", cmd, state, diff)
						}
					}
				}
				if want := len(m.States()) * len(m.Commands()); n != want {
					t.Errorf("walked %d pairs, want %d", n, want)
				}
				if legal != len(m.Transitions()) {
					t.Errorf("%d legal pairs, want one per transition (%d)", legal, len(m.Transitions()))
				}
			})
		})
	}
}
