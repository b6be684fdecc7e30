package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/interlock-mes/interlock/mes/correction"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// trailModel writes batches in the contracted record shapes straight to a
// store, and remembers what a review must find.
type trailModel struct {
	t        *rapid.T
	s        storage.Store
	versions map[string]int64
	n        int

	expect      map[int64]Kind // main batch record → the kind of its entry
	routine     int
	transitions int
	open        map[string]bool  // exceptions not closed, by id
	manual      []int64          // versions of manual entries
	unreviewed  map[int64]bool   // corrections without a review
	exceptionAt map[string]int64 // exception id → the version of its entry's main record
}

const batchID = "B-R"

func (m *trailModel) cmd() string { m.n++; return fmt.Sprintf("c%d", m.n) }

func (m *trailModel) append(streams ...storage.StreamAppend) []audit.Record {
	for i := range streams {
		streams[i].ExpectedVersion = m.versions[streams[i].Stream]
		m.versions[streams[i].Stream] += int64(len(streams[i].Events))
	}
	res, err := m.s.Append(context.Background(), storage.AppendRequest{Streams: streams})
	if err != nil {
		m.t.Fatal(err)
	}
	return res.Records
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func transition(cmd, model, step, command, from, to string, data any) map[string]any {
	p := map[string]any{"command_id": cmd, "model": model, "model_version": 1, "command": command, "from": from}
	if step != "" {
		p["step"] = step
	}
	if to != "" {
		p["to"] = to
	}
	if data != nil {
		p["data"] = data
	}
	return p
}

func ev(typ, actor string, payload any) storage.Event {
	return storage.Event{Type: typ, Actor: actor, Payload: raw(payload)}
}

func onBatch(events ...storage.Event) storage.StreamAppend {
	return storage.StreamAppend{Stream: batchID, Events: events}
}

var manualCount = json.RawMessage(`[{"Name":"count","Identity":"","HasValue":true,"Value":"4","Unit":"pcs","Source":"manual","Instrument":"","Stable":false}]`)

func (m *trailModel) routineStep(step string) {
	m.append(onBatch(ev("step.done", "op-7", transition(m.cmd(), "step", step, "do", "a", "b", nil))))
	m.routine++
	m.transitions++
}

func (m *trailModel) denied(step string) {
	p := transition(m.cmd(), "step", step, "do", "a", "", nil)
	p["reasons"] = []map[string]string{{"gate": "require-role", "code": "role.missing", "message": "no"}}
	r := m.append(onBatch(ev(event.Denied, "op-9", p)))
	m.expect[r[0].Version] = KindDenied
}

func (m *trailModel) manualEntry(step string) {
	e := ev("step.done", "op-7", transition(m.cmd(), "step", step, "do", "a", "b", nil))
	e.Evidence = manualCount
	r := m.append(onBatch(e))
	m.expect[r[0].Version] = KindManualEntry
	m.manual = append(m.manual, r[0].Version)
	m.transitions++
}

// exception opens one, by a person or by an override.
func (m *trailModel) exception(override bool) {
	cmd := m.cmd()
	id := "X-" + cmd
	data := map[string]string{"id": id, "kind": "deviation", "summary": "s", "subject": batchID, "source": "person"}
	marker := ev(event.ExceptionOpened, "op-7", map[string]any{"command_id": cmd, "data": map[string]string{"id": id, "kind": "deviation", "summary": "s"}})
	batch := onBatch(marker)
	kind := KindDeviation
	if override {
		p := transition(cmd, "step", "S9", "do", "a", "b", nil)
		p["override"] = map[string]any{"reason": "r", "overridden": []map[string]string{{"gate": "g", "code": "lot.on-hold", "message": "m"}}, "exception": id}
		batch.Events = []storage.Event{ev("step.done", "op-7", p), marker}
		data["source"] = "override"
		kind = KindOverride
		m.transitions++
	}
	r := m.append(batch, storage.StreamAppend{Stream: event.ExceptionStream(id),
		Events: []storage.Event{ev(event.ExceptionOpened, "op-7", transition(cmd, "exception", "", "open", "new", "open", data))}})
	m.expect[r[0].Version] = kind
	m.open[id] = true
	m.exceptionAt[id] = r[0].Version
}

func (m *trailModel) close(id string) {
	cmd := m.cmd()
	m.append(onBatch(ev(event.ExceptionClosed, "qa-3", map[string]any{"command_id": cmd, "data": map[string]string{"id": id}})),
		storage.StreamAppend{Stream: event.ExceptionStream(id),
			Events: []storage.Event{ev(event.ExceptionApproved, "qa-3", transition(cmd, "exception", "", "approve", "dispositioned", "closed", nil))}})
	delete(m.open, id)
}

func (m *trailModel) consequence(id string) {
	m.append(onBatch(ev("batch.blocked", "op-7", transition(m.cmd(), "batch", "", "block", "a", "blocked", map[string]string{"exception": id}))))
	m.transitions++
}

func (m *trailModel) correction(of int64) {
	cmd := m.cmd()
	r := m.append(onBatch(ev(event.ValueCorrected, "op-7", transition(cmd, correction.ModelName, "correction/"+cmd, "correct", "new", "corrected",
		map[string]any{"corrects": of, "name": "count", "source": "evidence", "old": map[string]string{"unit": "pcs", "value": "4"},
			"new": map[string]string{"unit": "pcs", "value": "5"}, "reason": "recount"}))))
	m.expect[r[0].Version] = KindCorrection
	m.unreviewed[r[0].Version] = true
	m.transitions++
}

func (m *trailModel) review(of int64) {
	cmd := m.cmd()
	m.append(onBatch(ev(event.CorrectionReviewed, "qa-3", transition(cmd, correction.ModelName, "correction/"+cmd, "review", "corrected", "reviewed",
		map[string]int64{"reviews": of}))))
	delete(m.unreviewed, of)
	m.transitions++
}

// TestReportProperty: whatever mix of routine work and exceptions a batch
// holds, each exception is one entry of its kind, no record is in two
// entries, the routine transitions are counted, and what needs action is
// open.
func TestReportProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		c := newClock()
		m := &trailModel{t: rt, s: memory.New(&memory.Config{Clock: c.next}), versions: map[string]int64{},
			expect: map[int64]Kind{}, open: map[string]bool{}, unreviewed: map[int64]bool{}, exceptionAt: map[string]int64{}}
		steps := rapid.SampledFrom([]string{"", "S1", "S2"})
		m.routineStep("S0") // a batch has at least one record
		for range rapid.IntRange(0, 30).Draw(rt, "actions") {
			switch rapid.IntRange(0, 8).Draw(rt, "action") {
			case 0, 1:
				m.routineStep(steps.Draw(rt, "step"))
			case 2:
				m.denied(steps.Draw(rt, "step"))
			case 3:
				m.manualEntry(steps.Draw(rt, "step"))
			case 4:
				m.exception(rapid.Bool().Draw(rt, "override"))
			case 5:
				if ids := sortedKeys(m.open); len(ids) > 0 {
					m.close(rapid.SampledFrom(ids).Draw(rt, "close"))
				}
			case 6:
				if ids := sortedKeys(m.open); len(ids) > 0 {
					m.consequence(rapid.SampledFrom(ids).Draw(rt, "consequence"))
				}
			case 7:
				if len(m.manual) > 0 {
					m.correction(rapid.SampledFrom(m.manual).Draw(rt, "corrects"))
				}
			case 8:
				if vs := sortedKeys(m.unreviewed); len(vs) > 0 {
					m.review(rapid.SampledFrom(vs).Draw(rt, "reviews"))
				}
			}
		}
		rep, err := Build(context.Background(), m.s, batchID, nil)
		if err != nil {
			rt.Fatal(err)
		}
		got := map[int64]Kind{}
		inEntry := map[string]bool{}
		open := 0
		for _, e := range rep.Exceptions {
			if e.Record.Stream != batchID || e.Kind == KindUnrecognised {
				rt.Fatalf("entry %+v", e)
			}
			got[e.Record.Version] = e.Kind
			for _, ev := range e.Events {
				k := fmt.Sprintf("%s@%d", ev.Stream, ev.Version)
				if inEntry[k] {
					rt.Fatalf("%s is in two entries", k)
				}
				inEntry[k] = true
			}
			if e.Open {
				open++
			}
		}
		if diff := cmp.Diff(m.expect, got); diff != "" {
			rt.Fatalf("entries by main record (-model +report):\n%s", diff)
		}
		wantOpen := len(m.open) + len(m.unreviewed)
		if rep.Summary.Routine != m.routine || rep.Summary.Transitions != m.transitions || open != wantOpen || rep.Summary.Open != wantOpen {
			rt.Fatalf("summary %+v, %d open; want %d routine, %d transitions, %d open", rep.Summary, open, m.routine, m.transitions, wantOpen)
		}
		if !rep.Integrity.OK || len(rep.Integrity.Chains) != 1+len(m.exceptionAt) {
			rt.Fatalf("integrity %+v", rep.Integrity)
		}
		var j, h bytes.Buffer
		if err := WriteJSON(&j, rep); err != nil {
			rt.Fatal(err)
		}
		if err := WriteHTML(&h, rep); err != nil {
			rt.Fatal(err)
		}
		if n := bytes.Count(h.Bytes(), []byte(`<article class="entry`)); n != len(rep.Exceptions) {
			rt.Fatalf("the page has %d entries; the report %d", n, len(rep.Exceptions))
		}
	})
}

func sortedKeys[K string | int64, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
