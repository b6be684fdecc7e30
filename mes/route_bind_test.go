package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"testing"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// routeBatchModel is a batch whose start requires an approved route.
func routeBatchModel(tb testing.TB) *mes.Model {
	tb.Helper()
	g, err := route.RequireApproved(route.Ref)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := mes.NewModel("routed-batch", 1).
		States(lifecycle.BatchReady, lifecycle.BatchInProgress, lifecycle.BatchComplete).
		Initial(lifecycle.BatchReady).Final(lifecycle.BatchComplete).
		Permit(lifecycle.BatchReady, mes.CmdStart, lifecycle.BatchInProgress, mes.WithGates(g), mes.Recording("batch.started")).
		Permit(lifecycle.BatchInProgress, mes.CmdComplete, lifecycle.BatchComplete, mes.Recording("batch.completed")).
		Build()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// routeApproved drafts r by qa-3 and approves it by qa-4.
func routeApproved(tb testing.TB, rs *route.Registry, r *route.Route) {
	tb.Helper()
	ctx := context.Background()
	if _, err := rs.Draft(ctx, route.DraftRequest{CommandID: "draft-" + route.Stream(r.Product, r.Version), Actor: "qa-3", Route: r}); err != nil {
		tb.Fatal(err)
	}
	if _, err := rs.Approve(ctx, route.VersionRequest{CommandID: "approve-" + route.Stream(r.Product, r.Version), Actor: "qa-4", Product: r.Product, Version: r.Version}); err != nil {
		tb.Fatal(err)
	}
}

// TestNewVersionLeavesBoundBatch binds a batch to v1, then publishes v2 and
// retires v1: the batch still verifies against v1, its content and digest.
func TestNewVersionLeavesBoundBatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := routeMemory(t)
	e, rs := routeEnv(t, s)
	v1 := routeFixture()
	routeApproved(t, rs, v1)
	b, err := rs.Bind(ctx, "P-100", 1)
	if err != nil {
		t.Fatal(err)
	}
	m := routeBatchModel(t)
	if _, err := e.Execute(ctx, mes.Request{ID: "start", Model: m, Subject: "batch-B1", Command: mes.CmdStart, Actor: "op-7",
		Refs: b.Refs(), Data: b.Data()}); err != nil {
		t.Fatal(err)
	}

	v2 := routeFixture()
	v2.Version = 2
	v2.Operations[0].Steps[1].Requirements[0] = route.Weigh{Name: "net-weight", Material: "API-100", Target: routeDec("12.6"),
		Below: routeDec("0.05"), Above: routeDec("0.05"), Unit: "kg", Bounds: gate.Inclusive}
	routeApproved(t, rs, v2)
	if _, err := rs.Retire(ctx, route.VersionRequest{CommandID: "retire-v1", Actor: "qa-3", Product: "P-100", Version: 1}); err != nil {
		t.Fatal(err)
	}
	b2, err := rs.Bind(ctx, "P-100", 2)
	if err != nil {
		t.Fatal(err)
	}
	if b2.Digest == b.Digest {
		t.Fatal("v2 has v1's digest")
	}

	recs, err := s.Load(ctx, "batch-B1", 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rs.VerifyBinding(ctx, recs)
	if err != nil {
		t.Fatalf("VerifyBinding: %v", err)
	}
	if got.Digest != b.Digest || got.Status != route.Retired {
		t.Errorf("verified %s (%s), want v1's digest %s, retired", got.Digest, got.Status, b.Digest)
	}
	if diff := cmp.Diff(v1, got.Route, routeCmp); diff != "" {
		t.Errorf("the batch's route (-want +got):\n%s", diff)
	}
	// The record itself says what was bound, for any reader.
	var p event.Transition
	if err := json.Unmarshal(recs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	var data struct{ Route route.Binding }
	if err := json.Unmarshal(p.Data, &data); err != nil || data.Route != b {
		t.Errorf("start data %s: want the binding %+v", p.Data, b)
	}
}

func TestRequireApprovedRoute(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := routeMemory(t)
	e, rs := routeEnv(t, s)
	routeApproved(t, rs, routeFixture())
	draft := routeFixture()
	draft.Version = 2
	if _, err := rs.Draft(ctx, route.DraftRequest{CommandID: "d-2", Actor: "qa-3", Route: draft}); err != nil {
		t.Fatal(err)
	}
	m := routeBatchModel(t)
	tests := []struct {
		name string
		refs map[string]string
		want []gate.Code
	}{
		{"approved", map[string]string{route.Ref: route.Stream("P-100", 1)}, nil},
		{"draft", map[string]string{route.Ref: route.Stream("P-100", 2)}, []gate.Code{route.CodeNotApproved}},
		{"never drafted", map[string]string{route.Ref: route.Stream("P-100", 3)}, []gate.Code{route.CodeNotApproved}},
		{"no reference", nil, []gate.Code{gate.CodeRefMissing}},
	}
	for i, tt := range tests {
		_, err := e.Execute(ctx, mes.Request{ID: tt.name, Model: m, Subject: "batch-" + string(rune('A'+i)), Command: mes.CmdStart, Actor: "op-7", Refs: tt.refs})
		var codes []gate.Code
		var de *mes.DeniedError
		if errors.As(err, &de) {
			for _, r := range de.Reasons {
				codes = append(codes, r.Code)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, codes); diff != "" {
			t.Errorf("%s: denial codes (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, err := route.RequireApproved(""); err == nil {
		t.Error("RequireApprovedRoute(\"\"): no error")
	}
}

// TestVerifyBindingDetects forges batch records that disagree with their
// route and expects VerifyBinding to say how.
func TestVerifyBindingDetects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := routeMemory(t)
	_, rs := routeEnv(t, s)
	r := routeFixture()
	if _, err := rs.Draft(ctx, route.DraftRequest{CommandID: "d-1", Actor: "qa-3", Route: r}); err != nil {
		t.Fatal(err)
	}
	digest, err := r.Digest()
	if err != nil {
		t.Fatal(err)
	}
	stream := route.Stream("P-100", 1)
	// A batch bound while the version was still a draft.
	early := appendBatchRecord(t, s, "batch-early", map[string]string{route.Ref: stream, route.RefDigest: digest})
	if _, err := rs.Approve(ctx, route.VersionRequest{CommandID: "a-1", Actor: "qa-4", Product: "P-100", Version: 1}); err != nil {
		t.Fatal(err)
	}
	wrong := "sha256:" + digest[len(digest)-64:len(digest)-1] + "0"
	if wrong == digest {
		wrong = "sha256:" + digest[len(digest)-64:len(digest)-1] + "1"
	}
	good := map[string]string{route.Ref: stream, route.RefDigest: digest}
	tests := []struct {
		name    string
		records []audit.Record
		want    error
	}{
		{"bound after approval", appendBatchRecord(t, s, "batch-good", good), nil},
		{"bound before approval", early, &route.NotApprovedError{Product: "P-100", Version: 1, Status: route.Draft}},
		{"another digest recorded", appendBatchRecord(t, s, "batch-wrong", map[string]string{route.Ref: stream, route.RefDigest: wrong}),
			&route.MismatchError{Subject: "batch-wrong", Version: 1, Stream: stream, Recorded: wrong, Found: digest}},
		{"records disagree", append(appendBatchRecord(t, s, "batch-two", good),
			appendBatchRecord(t, s, "batch-two", map[string]string{route.Ref: route.Stream("P-100", 2), route.RefDigest: digest})...),
			&route.MismatchError{Subject: "batch-two", Version: 2, Stream: route.Stream("P-100", 2), Recorded: digest, Found: digest + " (" + stream + " at v1)"}},
		{"no binding", appendBatchRecord(t, s, "batch-none", nil), route.ErrNotBound},
		{"a bound version never drafted", appendBatchRecord(t, s, "batch-ghost", map[string]string{route.Ref: route.Stream("P-100", 7), route.RefDigest: digest}), route.ErrNotFound},
	}
	for _, tt := range tests {
		_, err := rs.VerifyBinding(ctx, tt.records)
		switch want := tt.want.(type) {
		case nil:
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
		case *route.MismatchError:
			var got *route.MismatchError
			if !errors.As(err, &got) || !errors.Is(err, route.ErrMismatch) {
				t.Fatalf("%s: %v, want a *RouteMismatchError", tt.name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		case *route.NotApprovedError:
			var got *route.NotApprovedError
			if !errors.As(err, &got) || !errors.Is(err, route.ErrNotApproved) {
				t.Fatalf("%s: %v, want a *RouteNotApprovedError", tt.name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		default:
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", tt.name, err, want)
			}
		}
	}
}

// appendBatchRecord appends one start record with refs to a batch stream,
// around the engine, and returns the stream's records.
func appendBatchRecord(tb testing.TB, s storage.Store, subject string, refs map[string]string) []audit.Record {
	tb.Helper()
	ctx := context.Background()
	recs, err := s.Load(ctx, subject, 1)
	if err != nil {
		tb.Fatal(err)
	}
	payload, _ := json.Marshal(event.Transition{CommandID: subject + "-start", Model: "routed-batch", ModelVersion: 1,
		Command: mes.CmdStart, From: lifecycle.BatchReady, To: lifecycle.BatchInProgress, Refs: maps.Clone(refs)})
	if _, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: subject, ExpectedVersion: int64(len(recs)),
		Events: []storage.Event{{Type: "batch.started", Actor: "op-7", Payload: payload}}}}}); err != nil {
		tb.Fatal(err)
	}
	out, err := s.Load(ctx, subject, int64(len(recs))+1)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestRouteBindingRefs(t *testing.T) {
	t.Parallel()
	b := route.Binding{Product: "P-100", Version: 3, Digest: "sha256:ab"}
	if diff := cmp.Diff(map[string]string{"route": "route/P-100/v3", "route-digest": "sha256:ab"}, b.Refs()); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
	if got, want := string(b.Data()), `{"route":{"product":"P-100","version":3,"digest":"sha256:ab"}}`; got != want {
		t.Errorf("Data = %s, want %s", got, want)
	}
}
