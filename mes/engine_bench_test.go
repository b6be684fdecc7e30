package mes

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// BenchmarkGatedTransition runs one start through five gates on a fresh
// batch each time: fold, facts read from four streams, gates, the append
// of the transition asserting the read versions.
func BenchmarkGatedTransition(b *testing.B) {
	e, _ := newEngine(b)
	m := dispenseModel(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := startReq(m, fmt.Sprint("cmd-", i), "op-7")
		req.Subject = fmt.Sprint("batch-", i)
		if _, err := e.Execute(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFold10000 folds a batch stream of 10,000 events: 5,000
// transitions of a two-state model and 5,000 other events.
func BenchmarkFold10000(b *testing.B) {
	m := must[*Model](b)(NewModel("loop", 1).States("a", "b").Initial("a").
		Permit("a", "go", "b", Recording("went")).Permit("b", "back", "a", Recording("returned")).Build())
	s := memory.New(nil)
	ctx := context.Background()
	// The records the engine would write, appended a hundred at a time.
	var version int64
	for version < 10_000 {
		evs := make([]storage.Event, 0, 100)
		for j := range 50 {
			i := int(version)/2 + j
			from, to, typ, cmd := "a", "b", "went", "go"
			if i%2 == 1 {
				from, to, typ, cmd = "b", "a", "returned", "back"
			}
			p, _ := json.Marshal(transitionPayload{CommandID: fmt.Sprint("c", i), Model: "loop", ModelVersion: 1, Command: Command(cmd), From: State(from), To: State(to)})
			evs = append(evs, storage.Event{Type: typ, Actor: "op-7", Payload: p},
				storage.Event{Type: "note", Actor: "op-7", Payload: []byte(`{"text":"checked"}`)})
		}
		if _, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-F", ExpectedVersion: version, Events: evs}}}); err != nil {
			b.Fatal(err)
		}
		version += int64(len(evs))
	}
	recs, err := s.Load(ctx, "batch-F", 1)
	if err != nil || len(recs) != 10000 {
		b.Fatalf("%d records, %v", len(recs), err)
	}
	b.ReportAllocs()
	for b.Loop() {
		st, err := fold(m, "", recs)
		if err != nil || st != "a" {
			b.Fatalf("fold = %q, %v", st, err)
		}
	}
}
