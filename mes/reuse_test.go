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
	"github.com/interlock-mes/interlock/mes/mestest"
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
