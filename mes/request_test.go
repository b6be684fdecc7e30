package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// TestBadRequestsNameTheirField: every malformed request is refused with a
// *RequestError naming the field, matching interlock.ErrInvalid, and
// nothing is recorded.
func TestBadRequestsNameTheirField(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil)
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	good := mes.Request{ID: "c1", Model: batch, Subject: "batch-B1", Command: mes.CmdRelease, Actor: "op-7"}
	for _, tt := range []struct {
		field  string
		modify func(*mes.Request)
	}{
		{"ID", func(r *mes.Request) { r.ID = "" }},
		{"Model", func(r *mes.Request) { r.Model = nil }},
		{"Subject", func(r *mes.Request) { r.Subject = "" }},
		{"Command", func(r *mes.Request) { r.Command = "" }},
		{"Actor", func(r *mes.Request) { r.Actor = "" }},
		{"Data", func(r *mes.Request) { r.Data = json.RawMessage(`[1]`) }},
		{"Consume", func(r *mes.Request) {
			r.Consume = []event.Consumption{{Lot: "L7", Quantity: decimal.NewFromInt(-1), Unit: "kg"}}
		}},
		{"Produce", func(r *mes.Request) { r.Produce = []mes.Production{{Lot: "", Material: "M"}} }},
		{"Declare", func(r *mes.Request) { r.Declare = &mes.Declaration{Kind: "planet"} }},
	} {
		req := good
		tt.modify(&req)
		_, err := env.Engine.Execute(context.Background(), req)
		var re *mes.RequestError
		if !errors.As(err, &re) || re.Field != tt.field || !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s: %v; want a *RequestError naming %s, matching ErrInvalid", tt.field, err, tt.field)
		}
	}
	recs, err := env.Store.ReadAll(context.Background(), 0, 10)
	if err != nil || len(recs) != 0 {
		t.Errorf("the store holds %d records after refused requests (%v); want none", len(recs), err)
	}
}
