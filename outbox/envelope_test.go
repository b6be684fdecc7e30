package outbox_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/outbox"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// TestEnvelopeCarriesTheChain: a consumer can recompute every record's
// hash from the envelopes alone.
func TestEnvelopeCarriesTheChain(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	_, err := s.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{
		Stream: "batch/B-1",
		Events: []storage.Event{
			{Type: "batch.started", Actor: "op:ana", Payload: json.RawMessage(`{"a":[1,2],"b":"é <&> \u2028"}`),
				Links: []audit.Link{{From: "lot/L-1", To: "batch/B-1", Kind: "consumed"}}},
			{Type: "batch.noted", Actor: "op:ana", Evidence: json.RawMessage(`{"scale":"S1"}`)},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.ReadAll(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i := range recs {
		data, err := outbox.Marshal(nil, &recs[i])
		if err != nil {
			t.Fatal(err)
		}
		env, err := outbox.Unmarshal(data)
		if err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
		got := env.Record()
		if diff := cmp.Diff(recs[i], got); diff != "" {
			t.Errorf("record through the envelope (-want +got):\n%s", diff)
		}
		var h audit.Hash
		if h, buf, err = audit.ComputeHash(buf, &got); err != nil || h != recs[i].Hash {
			t.Errorf("ComputeHash of %s version %d = %v, %v; want %v", got.Stream, got.Version, h, err, recs[i].Hash)
		}
		if outbox.ID(&recs[i]) != recs[i].Hash.String() {
			t.Errorf("ID = %q; want the hash", outbox.ID(&recs[i]))
		}
	}
	var members map[string]json.RawMessage
	data, _ := outbox.Marshal(nil, &recs[1])
	if err := json.Unmarshal(data, &members); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"stream", "version", "position", "type", "actor", "time", "payload", "evidence", "prev_hash", "hash"} {
		if _, ok := members[m]; !ok {
			t.Errorf("envelope %s has no %q", data, m)
		}
	}
	if string(members["payload"]) != "null" {
		t.Errorf("payload of an event without one = %s; want null", members["payload"])
	}
}

func TestUnmarshalRefusesWhatIsNoEnvelope(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `[]`, `{}`, `{"stream":"a","version":1,"position":1}`, `{"stream":"a","version":0,"position":1,"hash":"` + zeros(64) + `"}`} {
		if _, err := outbox.Unmarshal([]byte(in)); err == nil {
			t.Errorf("Unmarshal(%s) = nil error", in)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '1'
	}
	return string(b)
}

// FuzzUnmarshal: any bytes either fail to decode or give an envelope that
// survives a round trip unchanged.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"stream":"lot/L-1","version":1,"position":7,"type":"t","actor":"a","time":"2026-12-05T17:41:29.123456Z","payload":{"a":"<&>"},"evidence":null,"prev_hash":"` + zeros(64) + `","hash":"` + zeros(64) + `"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := outbox.Unmarshal(data)
		if err != nil {
			return
		}
		rec := env.Record()
		out, err := outbox.Marshal(nil, &rec)
		if err != nil {
			return // a string that is not UTF-8 cannot be on the record
		}
		again, err := outbox.Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%s)): %v", out, err)
		}
		r2 := again.Record()
		if diff := cmp.Diff(rec, r2, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}
