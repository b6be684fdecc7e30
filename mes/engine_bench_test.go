package mes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// BenchmarkGatedTransition runs one start through five gates on a fresh
// batch each time, with a lot scan as required evidence: fold, facts read
// from three streams, gates, the evidence requirement, the append of the
// transition with its evidence asserting the read versions.
func BenchmarkGatedTransition(b *testing.B) {
	e, _ := newEngine(b)
	benchGated(b, e)
}

// BenchmarkGatedTransitionUnattested is BenchmarkGatedTransition on an
// engine without attestation keys: the difference is what attesting
// every record costs.
func BenchmarkGatedTransitionUnattested(b *testing.B) {
	s := memory.New(&memory.Config{Clock: func() time.Time { return now }})
	e, err := mes.New(s, &mes.Config{Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	plant(b, e)
	benchGated(b, e)
}

func benchGated(b *testing.B, e *mes.Engine) {
	m := benchTransitionModel(b)
	ctx := context.Background()
	ev := []gate.Evidence{scan("L7")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := startReq(m, fmt.Sprint("cmd-", i), "op-7")
		req.Subject, req.Evidence = fmt.Sprint("batch-", i), ev
		if _, err := e.Execute(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGatedTransitionStore appends, to a fresh memory store, the
// request the engine appends for one BenchmarkGatedTransition (captured
// once), on a fresh batch each time: the store's part of a gated
// transition, and so the least one can cost.
func BenchmarkGatedTransitionStore(b *testing.B) {
	e, s := newEngine(b)
	rec := &recordingStore{Store: s}
	mes.SetStore(e, rec)
	req := startReq(benchTransitionModel(b), "cmd-0", "op-7")
	req.Subject, req.Evidence = "batch-0", []gate.Evidence{scan("L7")}
	if _, err := e.Execute(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	if len(rec.last.Streams) != 1 || len(rec.last.Reads) != 3 || len(rec.last.Streams[0].Events[0].Evidence) == 0 {
		b.Fatalf("captured %+v; want one stream with evidence and three reads", rec.last)
	}
	captured := rec.last
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := captured
		req.IdempotencyKey = fmt.Sprint("command/cmd-", i)
		sa := req.Streams[0]
		sa.Stream = fmt.Sprint("batch-", i)
		req.Streams = []storage.StreamAppend{sa}
		if _, err := s.Append(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// recordingStore keeps a copy of the last append request.
type recordingStore struct {
	storage.Store
	last storage.AppendRequest
}

func (r *recordingStore) Append(ctx context.Context, req storage.AppendRequest) (storage.AppendResult, error) {
	c := req
	c.Reads = slices.Clone(req.Reads)
	c.Streams = slices.Clone(req.Streams)
	for i := range c.Streams {
		c.Streams[i].Events = slices.Clone(c.Streams[i].Events)
		for j := range c.Streams[i].Events {
			ev := &c.Streams[i].Events[j]
			ev.Payload, ev.Evidence = slices.Clone(ev.Payload), slices.Clone(ev.Evidence)
		}
	}
	r.last = c
	return r.Store.Append(ctx, req)
}

// benchTransitionModel starts a batch through five gates (role, training,
// lot usable, scale ready, no open exception) and requires a scan of the
// lot.
func benchTransitionModel(tb testing.TB) *mes.Model {
	m := must[gate.Gate](tb)
	return must[*mes.Model](tb)(mes.NewModel("dispense", 1).
		States(lifecycle.BatchReady, lifecycle.BatchInProgress).Initial(lifecycle.BatchReady).Final(lifecycle.BatchInProgress).
		Permit(lifecycle.BatchReady, mes.CmdStart, lifecycle.BatchInProgress, mes.Recording("batch.started"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "lot-scan", Sources: []gate.Source{gate.SourceScanner}}),
			mes.WithGates(
				m(gate.RequireRole("operator")),
				m(gate.TrainingCurrent("dispensing")),
				m(gate.LotUsable(gate.FromRef("lot"), "API-100")),
				m(gate.EquipmentReady(gate.FromRef("scale"))),
				m(gate.NoOpenException()),
			)).
		Build())
}

// BenchmarkFold10000 folds a batch stream of 10,000 events: 5,000
// transitions of a two-state model and 5,000 other events.
func BenchmarkFold10000(b *testing.B) { benchFold(b, 10_000) }

// BenchmarkFold100000 is BenchmarkFold10000 with ten times the events: a
// fold that stays linear costs ten times as much per fold and the same per
// event (reported as ns/event).
func BenchmarkFold100000(b *testing.B) { benchFold(b, 100_000) }

func benchFold(b *testing.B, n int) {
	m := must[*mes.Model](b)(mes.NewModel("loop", 1).States("a", "b").Initial("a").
		Permit("a", "go", "b", mes.Recording("went")).Permit("b", "back", "a", mes.Recording("returned")).Build())
	s := memory.New(nil)
	ctx := context.Background()
	// The records the engine would write, appended a hundred at a time.
	var version int64
	for version < int64(n) {
		evs := make([]storage.Event, 0, 100)
		for j := range 50 {
			i := int(version)/2 + j
			from, to, typ, cmd := "a", "b", "went", "go"
			if i%2 == 1 {
				from, to, typ, cmd = "b", "a", "returned", "back"
			}
			p, _ := json.Marshal(event.Transition{CommandID: fmt.Sprint("c", i), Model: "loop", ModelVersion: 1, Command: mes.Command(cmd), From: mes.State(from), To: mes.State(to)})
			evs = append(evs, storage.Event{Type: typ, Actor: "op-7", Payload: p},
				storage.Event{Type: "note", Actor: "op-7", Payload: []byte(`{"text":"checked"}`)})
		}
		if _, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-F", ExpectedVersion: version, Events: evs}}}); err != nil {
			b.Fatal(err)
		}
		version += int64(len(evs))
	}
	recs, err := s.Load(ctx, "batch-F", 1)
	if err != nil || len(recs) != n {
		b.Fatalf("%d records, %v", len(recs), err)
	}
	b.ReportAllocs()
	for b.Loop() {
		st, err := mes.Fold(m, "", recs)
		if err != nil || st != "a" {
			b.Fatalf("fold = %q, %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
