package review

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// TestUnattestedIsAnException plays an attacker who appends a correctly
// chained completion straight to the store, around the engine: review by
// exception with the engine's attestation keys lists it as an exception,
// never as routine, and the report's integrity fails; without the keys it
// would pass as routine.
func TestUnattestedIsAnException(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store, c *clock) {
		ctx := context.Background()
		p := newPlant(t, s, c)
		p.routine("B-FORGED")
		recs, err := s.Load(ctx, "B-FORGED", 1)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := json.Marshal(event.Transition{CommandID: "forged-close", Model: "batch", ModelVersion: 1,
			Command: "close", From: "verified", To: "closed"})
		if err != nil {
			t.Fatal(err)
		}
		forged, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "B-FORGED",
			ExpectedVersion: int64(len(recs)), Events: []storage.Event{{Type: "batch.closed", Actor: "qa-3", Payload: payload}}}}})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Build(ctx, ordinalsOf(t, s), "B-FORGED", &Options{SealKey: p.pub})
		if err != nil {
			t.Fatal(err)
		}
		if plain.Summary.ByKind[KindUnattested] != 0 || !plain.Integrity.OK {
			t.Fatalf("without attestation keys: %+v", plain.Summary)
		}
		rep, err := Build(ctx, ordinalsOf(t, s), "B-FORGED", &Options{SealKey: p.pub, Attestation: mestest.Attestation()})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Summary.ByKind[KindUnattested] != 1 || rep.Summary.Routine != plain.Summary.Routine-1 {
			t.Errorf("summary %+v; want one unattested entry, taken out of the routine %d", rep.Summary, plain.Summary.Routine)
		}
		if rep.Integrity.OK || rep.Integrity.Unattested != 1 {
			t.Errorf("integrity %+v; want not OK with one unattested record", rep.Integrity)
		}
		var found bool
		for _, e := range rep.Exceptions {
			if e.Kind == KindUnattested && e.Record.Version == forged.Records[0].Version && e.Open {
				found = true
			}
		}
		if !found {
			t.Errorf("no open unattested entry for v%d in %+v", forged.Records[0].Version, rep.Exceptions)
		}
	})
}

// TestUnattestedExceptionRecord: a record planted on an exception's own
// stream (here a closing, around the engine) is found too: the exception
// is marked unattested and stays open, and integrity fails.
func TestUnattestedExceptionRecord(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store, c *clock) {
		ctx := context.Background()
		p := newPlant(t, s, c)
		p.exceptional("B-EXC")
		opts := &Options{SealKey: p.pub, Attestation: mestest.Attestation()}
		before, err := Build(ctx, ordinalsOf(t, s), "B-EXC", opts)
		if err != nil {
			t.Fatal(err)
		}
		if !before.Integrity.OK || before.Integrity.Unattested != 0 {
			t.Fatalf("before the plant: integrity %+v", before.Integrity)
		}
		var id string
		for _, e := range before.Exceptions {
			if e.Exception != nil && e.Exception.ID != "" {
				id = e.Exception.ID
				break
			}
		}
		if id == "" {
			t.Fatal("the exceptional batch has no exception")
		}
		stream := event.ExceptionStream(id)
		recs, err := s.Load(ctx, stream, 1)
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(event.Transition{CommandID: "forged-close", Model: "deviation", ModelVersion: 1, Command: "close", From: "approved", To: "closed"})
		if _, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: int64(len(recs)),
			Events: []storage.Event{{Type: event.ExceptionClosed, Actor: "qa-3", Payload: payload}}}}}); err != nil {
			t.Fatal(err)
		}
		rep, err := Build(ctx, ordinalsOf(t, s), "B-EXC", opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Integrity.OK || rep.Integrity.Unattested != 1 {
			t.Errorf("integrity %+v; want not OK with one unattested record", rep.Integrity)
		}
		var marked bool
		for _, e := range rep.Exceptions {
			if e.Exception != nil && e.Exception.ID == id {
				marked = e.Open && slices.Contains(e.Also, KindUnattested) && strings.Contains(e.Problem, stream)
			}
		}
		if !marked {
			t.Errorf("exception %s is not open and marked unattested: %+v", id, rep.Exceptions)
		}
	})
}
