package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/signature"
)

// TestCommandIDReusedForAnotherRequest: a retry that repeats its request
// replays the first outcome; the same command id with another weight, by
// another operator, or with other data, refs or command is refused with a
// *CommandReusedError naming the field, and nothing is recorded.
func TestCommandIDReusedForAnotherRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	m := mestest.Must[*mes.Model](t)(mes.NewModel("weigh", 1).States("open", "weighed").Initial("open").Final("weighed").
		Permit("open", "record", "weighed").Build())
	weight := func(v string) []gate.Evidence {
		return []gate.Evidence{{Name: "net", HasValue: true, Value: mestest.Decimal(t, v), Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}}
	}
	first := mes.Request{ID: "w-1", Model: m, Subject: "batch-B1", Command: "record", Actor: "op-7",
		Refs: map[string]string{"scale": "SC-01"}, Evidence: weight("12.50"), Data: json.RawMessage(`{"note":"first"}`)}
	out, err := env.Engine.Execute(ctx, first)
	if err != nil || !out.Allowed {
		t.Fatalf("first: %+v, %v", out, err)
	}
	again, err := env.Engine.Execute(ctx, first)
	if err != nil || !again.Replayed || again.Records[0].Hash != out.Records[0].Hash {
		t.Fatalf("identical retry: %+v, %v; want the first outcome replayed", again, err)
	}
	for _, tt := range []struct {
		field  string
		modify func(*mes.Request)
	}{
		{"Actor", func(r *mes.Request) { r.Actor = "qa-3" }},
		{"Evidence", func(r *mes.Request) { r.Evidence = weight("13.10") }},
		{"Data", func(r *mes.Request) { r.Data = json.RawMessage(`{"note":"second"}`) }},
		{"Refs", func(r *mes.Request) { r.Refs = map[string]string{"scale": "SC-02"} }},
	} {
		req := first
		tt.modify(&req)
		_, err := env.Engine.Execute(ctx, req)
		var ce *mes.CommandReusedError
		if !errors.As(err, &ce) || ce.Field != tt.field || !errors.Is(err, mes.ErrCommandReused) || !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s changed: %v; want a *CommandReusedError naming %s", tt.field, err, tt.field)
		}
	}
	recs := mestest.Must[[]audit.Record](t)(env.Engine.Records(ctx, "batch-B1"))
	if len(recs) != 1 {
		t.Errorf("batch-B1 holds %d records after refused reuses; want the first one alone", len(recs))
	}
}

// TestCommandIDOnAnotherSubject: a command id recorded on one subject and
// sent for another is a reused command id naming the subject, and nothing
// is written; a transition that needs signatures on an engine without a
// Signer says so with ErrNoSigner.
func TestCommandIDOnAnotherSubject(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	ctx := context.Background()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "rel-1", Model: batch, Subject: "batch/A", Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
		t.Fatal(err)
	}
	_, err := env.Engine.Execute(ctx, mes.Request{ID: "rel-1", Model: batch, Subject: "batch/B", Command: mes.CmdRelease, Actor: "sv-1"})
	var reused *mes.CommandReusedError
	if !errors.As(err, &reused) || reused.Field != "Subject" || !errors.Is(err, mes.ErrCommandReused) {
		t.Fatalf("the id again on batch/B: %v; want a *CommandReusedError naming the subject", err)
	}
	if recs := mestest.Must[[]audit.Record](t)(env.Store.Load(ctx, "batch/B", 1)); len(recs) != 0 {
		t.Errorf("batch/B has %d records", len(recs))
	}
	signed := mestest.Must[*mes.Model](t)(mes.NewModel("signed", 1).States("a", "b").Initial("a").Final("b").
		Permit("a", "go", "b", mes.Recording("signed.went"), mes.WithSignatures(mes.SignatureRequirement{Meaning: "approved", Count: 1})).Build())
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "go-1", Model: signed, Subject: "thing/1", Command: "go", Actor: "sv-1",
		Signatures: []mes.Sign{{Meaning: "approved", Challenge: signature.Challenge{UserID: "sv-1", Secret: signature.NewSecret("x")}}}}); !errors.Is(err, mes.ErrNoSigner) {
		t.Errorf("signatures without a Signer: %v; want ErrNoSigner", err)
	}
}
