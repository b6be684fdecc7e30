package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// FuzzBuild appends one arbitrary record to a batch that names an
// exception, or to that exception's stream, and builds the report: Build
// never fails or panics on what a store holds, no record is in two entries,
// a record it cannot read is listed rather than dropped, and the report
// renders and survives its JSON.
func FuzzBuild(f *testing.F) {
	f.Add(uint8(0), "step.done", []byte(`{"command_id":"c9","model":"m","model_version":1,"command":"do","from":"a","to":"b"}`), []byte(`null`))
	f.Add(uint8(0), event.Denied, []byte(`{"command_id":"c9","model":"m","model_version":1,"command":"do","from":"a","reasons":[{"gate":"g","code":"value.above-upper-limit","message":"m"}]}`), []byte(`null`))
	f.Add(uint8(0), "step.done", []byte(`{"command_id":"c9","model":"m","command":"do","from":"a","to":"b"}`), []byte(manualCount))
	f.Add(uint8(0), event.SignatureApplied, []byte(`{"command_id":"c1","signs":1,"signature":{"content":"00"}}`), []byte(`null`))
	f.Add(uint8(0), event.ExceptionClosed, []byte(`{"command_id":"c9","data":{"id":"X"}}`), []byte(`null`))
	f.Add(uint8(0), event.ValueCorrected, []byte(`{"command_id":"c9","model":"correction","command":"correct","from":"new","to":"corrected","data":{"corrects":1,"name":"count","source":"evidence","old":{"unit":"pcs","value":"4"},"new":{"unit":"pcs","value":"5"}}}`), []byte(`null`))
	f.Add(uint8(0), event.CorrectionReviewed, []byte(`{"command_id":"c9","model":"correction","command":"review","from":"corrected","to":"reviewed","data":{"reviews":7}}`), []byte(`null`))
	f.Add(uint8(0), "step.done", []byte(`{"command_id":"c9","model":"m","command":"do","from":"a","to":"b","override":{"reason":"r","overridden":[],"exception":"X"}}`), []byte(`[1,2]`))
	f.Add(uint8(1), event.ExceptionDispositioned, []byte(`{"command_id":"d","model":"exception","command":"disposition","from":"open","to":"dispositioned","data":{"decision":"substitute","substitute":"L7"}}`), []byte(`null`))
	f.Add(uint8(1), event.ExceptionOpened, []byte(`{"command_id":"d","model":"exception","data":{"id":"Y","cause":{"stream":"B-F","version":1}}}`), []byte(`null`))
	f.Add(uint8(1), "anything", []byte(`"a string"`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, which uint8, typ string, payload, evidence []byte) {
		ctx := context.Background()
		s := memory.New(nil)
		appendTo := func(stream string, e storage.Event) error {
			recs, err := s.Load(ctx, stream, 1)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: int64(len(recs)),
				Events: []storage.Event{e}}}})
			return err
		}
		setup := []struct {
			stream string
			e      storage.Event
		}{
			{"B-F", ev("step.done", "op-7", transition("c1", "m", "", "do", "a", "b", nil))},
			{"B-F", ev(event.ExceptionOpened, "op-7", map[string]any{"command_id": "c2", "data": map[string]string{"id": "X", "kind": "deviation"}})},
			{event.ExceptionStream("X"), ev(event.ExceptionOpened, "op-7", transition("c2", "exception", "", "open", "new", "open",
				map[string]any{"id": "X", "kind": "deviation", "summary": "s", "cause": map[string]any{"stream": "B-F", "version": 1}}))},
		}
		for _, x := range setup {
			if err := appendTo(x.stream, x.e); err != nil {
				t.Fatal(err)
			}
		}
		target := "B-F"
		if which%2 == 1 {
			target = event.ExceptionStream("X")
		}
		if err := appendTo(target, storage.Event{Type: typ, Actor: "op-9", Payload: payload, Evidence: evidence}); err != nil {
			return // the store refuses it, so no batch can hold it
		}
		rep, err := Build(ctx, s, "B-F", nil)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		seen := map[string]bool{}
		for _, e := range rep.Exceptions {
			for _, ev := range e.Events {
				k := fmt.Sprintf("%s@%d", ev.Stream, ev.Version)
				if seen[k] {
					t.Fatalf("%s is in two entries", k)
				}
				seen[k] = true
			}
			if e.Kind == KindUnrecognised && e.Problem == "" {
				t.Fatalf("unrecognised entry without a problem: %+v", e)
			}
		}
		if want := 3 - int(which%2); rep.Summary.Records != want {
			t.Fatalf("%d batch records; want %d", rep.Summary.Records, want)
		}
		var j, h bytes.Buffer
		if err := WriteJSON(&j, rep); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&h, rep); err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(j.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rep, &back); diff != "" {
			t.Fatalf("JSON round trip (-built +decoded):\n%s", diff)
		}
	})
}
