package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// genRequest draws an append of one to three streams of one to three
// events, with optional evidence and links.
func genRequest(t *rapid.T) storage.AppendRequest {
	names := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"batch-1", "batch-2", "lot/L1", "lot/L2"}), 1, 3, rapid.ID).Draw(t, "streams")
	req := storage.AppendRequest{IdempotencyKey: "cmd-1"}
	for _, name := range names {
		sa := storage.StreamAppend{Stream: name, ExpectedVersion: rapid.Int64Range(0, 3).Draw(t, "expected")}
		for range rapid.IntRange(1, 3).Draw(t, "events") {
			ev := storage.Event{
				Type:    rapid.SampledFrom([]string{"step.started", "step.completed"}).Draw(t, "type"),
				Actor:   rapid.SampledFrom([]string{"op-1", "op-2"}).Draw(t, "actor"),
				Payload: json.RawMessage(fmt.Sprintf(`{"n": %d}`, rapid.IntRange(0, 2).Draw(t, "payload"))),
			}
			if rapid.Bool().Draw(t, "evidence") {
				ev.Evidence = json.RawMessage(fmt.Sprintf(`[{"scan":"L%d"}]`, rapid.IntRange(0, 2).Draw(t, "scan")))
			}
			for range rapid.IntRange(0, 2).Draw(t, "links") {
				ev.Links = append(ev.Links, audit.Link{From: "lot/L1", To: name, Kind: rapid.SampledFrom([]string{"consumed", "produced"}).Draw(t, "kind")})
			}
			sa.Events = append(sa.Events, ev)
		}
		req.Streams = append(req.Streams, sa)
	}
	return req
}

// mutate changes one thing of req, or nothing, and says whether the
// change is to its content (what Digest covers).
func mutate(t *rapid.T, req storage.AppendRequest) (storage.AppendRequest, bool) {
	out := req
	out.Streams = slices.Clone(req.Streams)
	for i := range out.Streams {
		out.Streams[i].Events = slices.Clone(out.Streams[i].Events)
		for j := range out.Streams[i].Events {
			out.Streams[i].Events[j].Links = slices.Clone(out.Streams[i].Events[j].Links)
		}
	}
	s := rapid.IntRange(0, len(out.Streams)-1).Draw(t, "stream")
	sa := &out.Streams[s]
	ev := &sa.Events[rapid.IntRange(0, len(sa.Events)-1).Draw(t, "event")]
	switch rapid.IntRange(0, 11).Draw(t, "change") {
	case 0:
		return out, false
	case 1: // preconditions are not content
		sa.ExpectedVersion++
		return out, false
	case 2: // neither is the layout of the JSON
		ev.Payload = json.RawMessage(" " + string(ev.Payload) + "\n")
		return out, false
	case 3:
		sa.Stream += "-x"
	case 4:
		ev.Type += "-x"
	case 5:
		ev.Actor += "-x"
	case 6:
		ev.Payload = json.RawMessage(`{"n": 99}`)
	case 7:
		ev.Evidence = json.RawMessage(`{"other":true}`)
	case 8:
		ev.Links = append(ev.Links, audit.Link{From: "lot/L9", To: sa.Stream, Kind: "consumed"})
	case 9:
		if len(out.Streams) < 2 {
			return out, false
		}
		out.Streams[0], out.Streams[1] = out.Streams[1], out.Streams[0]
	case 10:
		sa.Events = append(sa.Events, sa.Events[len(sa.Events)-1])
	case 11:
		if len(ev.Links) == 0 {
			return out, false
		}
		ev.Links[0].Kind += "-x"
	}
	return out, true
}

// SameContent agrees with Digest: the records of one request hold the
// content of another exactly when their digests are equal.
func TestSameContentAgreesWithDigest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := genRequest(t)
		b, changed := mutate(t, a)
		pa, err := Prepare(a)
		if err != nil {
			t.Fatalf("prepare a: %v", err)
		}
		pb, err := Prepare(b)
		if err != nil {
			t.Fatalf("prepare b: %v", err)
		}
		same := pb.SameContent(pa.Records(time.Unix(0, 0)))
		if digests := pa.Digest() == pb.Digest(); same != digests {
			t.Fatalf("SameContent = %v, digests equal = %v", same, digests)
		}
		if same == changed {
			t.Fatalf("SameContent = %v after a change to content = %v", same, changed)
		}
	})
}

// TestPrepareHostileNumbersCostLittle: a payload just under four times the
// limit, of numbers that would expand a hundredfold, is refused as invalid
// without expanding them: allocation stays under ten times the input.
func TestPrepareHostileNumbersCostLittle(t *testing.T) {
	var b strings.Builder
	b.WriteString(`[1e1000`)
	for b.Len()+9 < 4*storage.MaxPayloadBytes {
		b.WriteString(`,1e1000`)
	}
	b.WriteString(`]`)
	raw := []byte(b.String())
	req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "s", Events: []storage.Event{{Type: "t", Actor: "a", Payload: raw}}}}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Prepare(req)
	runtime.ReadMemStats(&after)
	var ve *storage.ValidationError
	if !errors.As(err, &ve) || ve.Field != "streams[0].events[0].payload" {
		t.Fatalf("Prepare of %d bytes of hostile numbers: %v; want a ValidationError naming the payload", len(raw), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(10*len(raw)) {
		t.Errorf("refusing %d bytes allocated %d bytes; want under ten times the input", len(raw), grew)
	}
}
