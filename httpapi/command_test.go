package httpapi

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

const batchCommands = "/subjects/batch-B1/commands"

// TestCommand runs commands through the front door on the memory store
// and on Postgres: an allowed command is recorded once under its key, a
// denied one is recorded with every reason and answers the same when sent
// again, and a key reused for another command is refused.
func TestCommand(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		f := newFixture(t, s, clock)
		release := call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "cmd-1",
			body: `{"model":"batch","version":1,"command":"release"}`}

		t.Run("allowed", func(t *testing.T) {
			res := f.do(release)
			if res.status != http.StatusOK {
				t.Fatalf("release = %d %s; want 200", res.status, res.body)
			}
			var out outcomeBody
			res.decode(t, &out)
			if !out.Allowed || out.From != "planned" || out.To != "ready" || out.Replayed {
				t.Errorf("outcome = %+v; want allowed planned → ready, not replayed", out)
			}
			if len(out.Records) != 1 || out.Records[0].Actor != "sv-1" || out.Records[0].Stream != "batch-B1" || out.Records[0].Version != 1 {
				t.Fatalf("records = %+v; want one record of batch-B1 by sv-1", out.Records)
			}

			// The same key again: the recorded outcome, nothing written.
			before := f.heads()
			again := f.do(release)
			var replay outcomeBody
			again.decode(t, &replay)
			if again.status != http.StatusOK || !replay.Replayed {
				t.Errorf("replay = %d %+v; want 200 replayed", again.status, replay)
			}
			out.Replayed = true
			if d := cmp.Diff(out, replay); d != "" {
				t.Errorf("replay differs from the first outcome (-first +replay):\n%s", d)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("the replay wrote (-before +after):\n%s", d)
			}
		})

		t.Run("key reused for another command", func(t *testing.T) {
			before := f.heads()
			res := f.do(call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "cmd-1",
				body: `{"model":"batch","version":1,"command":"cancel"}`})
			p := res.problem(t)
			if res.status != http.StatusConflict || p.Type != TypeCommandReused || p.Field != headerKey {
				t.Errorf("reused key = %d %+v; want 409 %s naming %s", res.status, p, TypeCommandReused, headerKey)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("a refused command wrote (-before +after):\n%s", d)
			}
		})

		t.Run("key reused on another subject", func(t *testing.T) {
			before := f.heads()
			res := f.do(call{method: http.MethodPost, path: "/subjects/batch-B2/commands", actor: "sv-1", key: "cmd-1",
				body: `{"model":"batch","version":1,"command":"release"}`})
			p := res.problem(t)
			if res.status != http.StatusConflict || p.Type != TypeCommandReused || p.Field != headerKey {
				t.Errorf("key of batch-B1 on batch-B2 = %d %+v; want 409 %s naming %s", res.status, p, TypeCommandReused, headerKey)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("a refused command wrote (-before +after):\n%s", d)
			}
		})

		t.Run("denied", func(t *testing.T) {
			start := call{method: http.MethodPost, path: batchCommands, actor: "qa-3", key: "cmd-2",
				body: `{"model":"batch","command":"start"}`}
			res := f.do(start)
			p := res.problem(t)
			if res.status != http.StatusUnprocessableEntity || p.Type != TypeDenied {
				t.Fatalf("start by qa-3 = %d %+v; want 422 %s", res.status, p, TypeDenied)
			}
			if p.Subject != "batch-B1" || p.Command != "start" || p.State != "ready" {
				t.Errorf("problem names %q %q %q; want batch-B1 start ready", p.Subject, p.Command, p.State)
			}
			if len(p.Reasons) == 0 || p.Reasons[0].Code != string(gate.CodeRoleMissing) {
				t.Errorf("reasons = %+v; want %s", p.Reasons, gate.CodeRoleMissing)
			}
			if len(p.Records) != 1 || p.Records[0].Type != event.Denied || p.Records[0].Actor != "qa-3" {
				t.Errorf("records = %+v; want the denied attempt by qa-3", p.Records)
			}
			// The denial is on the record, once: sending it again answers
			// the same and writes nothing.
			before := f.heads()
			again := f.do(start)
			if again.status != res.status || string(again.body) != string(res.body) {
				t.Errorf("denied again = %d %s; want the first answer %s", again.status, again.body, res.body)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("the replayed denial wrote (-before +after):\n%s", d)
			}
		})

		t.Run("actor from the body is refused", func(t *testing.T) {
			before := f.heads()
			res := f.do(call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "cmd-3",
				body: `{"model":"batch","command":"start","actor":"sv-1"}`})
			p := res.problem(t)
			if res.status != http.StatusBadRequest || p.Type != TypeInvalid || p.Field != "actor" {
				t.Errorf("body with actor = %d %+v; want 400 naming actor", res.status, p)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("a refused command wrote (-before +after):\n%s", d)
			}
		})

		t.Run("unauthenticated", func(t *testing.T) {
			res := f.do(call{method: http.MethodPost, path: batchCommands, key: "cmd-4", body: `{"model":"batch","command":"start"}`})
			if p := res.problem(t); res.status != http.StatusUnauthorized || p.Type != TypeUnauthenticated {
				t.Errorf("no credentials = %d %+v; want 401", res.status, p)
			}
		})

		t.Run("started by the operator", func(t *testing.T) {
			res := f.do(call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "cmd-5",
				body: `{"model":"batch","command":"start"}`})
			var out outcomeBody
			res.decode(t, &out)
			if res.status != http.StatusOK || out.To != "in-progress" || out.Records[0].Actor != "op-7" {
				t.Errorf("start by op-7 = %d %+v; want 200 → in-progress by op-7", res.status, out)
			}
		})

		t.Run("concurrent retries", func(t *testing.T) {
			// Eight clients send one command under one key at once: it is
			// recorded once, and every one of them gets its outcome.
			hold := call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "cmd-6", body: `{"model":"batch","command":"hold"}`}
			before := f.heads()
			outs := make([]outcomeBody, 8)
			statuses := make([]int, len(outs))
			var wg sync.WaitGroup
			for i := range outs {
				wg.Go(func() {
					res := f.do(hold)
					statuses[i] = res.status
					if res.status == http.StatusOK {
						// Not decode: a goroutine must not end the test.
						if err := json.Unmarshal(res.body, &outs[i]); err != nil {
							t.Errorf("client %d: %v", i, err)
						}
					}
				})
			}
			wg.Wait()
			fresh := 0
			for i, out := range outs {
				if statuses[i] != http.StatusOK || out.To != "held" || len(out.Records) != 1 || out.Records[0].Version != outs[0].Records[0].Version {
					t.Errorf("client %d = %d %+v; want 200 held, the one record", i, statuses[i], out)
				}
				if !out.Replayed {
					fresh++
				}
			}
			if fresh != 1 {
				t.Errorf("%d clients ran the command; want 1, the others replayed", fresh)
			}
			grew := 0
			after := f.heads()
			for i := range after {
				if after[i].Stream == "batch-B1" {
					for _, b := range before {
						if b.Stream == "batch-B1" {
							grew = int(after[i].Version - b.Version)
						}
					}
				}
			}
			if grew != 1 {
				t.Errorf("batch-B1 grew by %d records; want 1", grew)
			}
		})

		f.attested()
	})
}
