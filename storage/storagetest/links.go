package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// edge is an expected traversal result: the link, its proving stream and
// version, and its depth.
type edge struct {
	From, To, Kind string
	Stream         string
	Version        int64
	Depth          int
}

func edges(es []storage.Edge) []edge {
	out := make([]edge, len(es))
	for i, e := range es {
		out[i] = edge{From: e.From, To: e.To, Kind: e.Kind, Stream: e.Stream, Version: e.Version, Depth: e.Depth}
	}
	return out
}

func testLinks(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t)
	// supplier lot S1 → batch B1 → lot F1 → shipment SH1, S1 → B2, and a
	// (bad) rework link F1 → B1 closing a cycle. One event proves two links.
	l := func(from, to, kind string) audit.Link { return audit.Link{From: from, To: to, Kind: kind} }
	mustAppend(t, s, one("batch-B1", 0, ev("material.consumed", `{}`, l("S1", "B1", "consumed"))))
	mustAppend(t, s, one("batch-B2", 0, ev("material.consumed", `{}`, l("S1", "B2", "consumed"))))
	mustAppend(t, s, one("batch-B1", 1, ev("lot.produced", `{}`, l("B1", "F1", "produced"), l("B1", "F2", "produced"))))
	mustAppend(t, s, one("shipment-SH1", 0, ev("shipped", `{}`, l("F1", "SH1", "shipped"))))
	mustAppend(t, s, one("batch-B1", 2, ev("rework.consumed", `{}`, l("F1", "B1", "consumed"))))

	traverse := func(t *testing.T, req storage.TraverseRequest) []edge {
		t.Helper()
		got, err := s.Traverse(ctx, req)
		if err != nil {
			t.Fatalf("Traverse(%+v): %v", req, err)
		}
		return edges(got)
	}
	tests := []struct {
		name string
		req  storage.TraverseRequest
		want []edge
	}{
		{"forward depth 1", storage.TraverseRequest{From: []string{"S1"}, Direction: storage.Forward, MaxDepth: 1}, []edge{
			{"S1", "B1", "consumed", "batch-B1", 1, 1},
			{"S1", "B2", "consumed", "batch-B2", 1, 1},
		}},
		{"forward to the end, through the cycle", storage.TraverseRequest{From: []string{"S1"}, Direction: storage.Forward, MaxDepth: 10}, []edge{
			{"S1", "B1", "consumed", "batch-B1", 1, 1},
			{"S1", "B2", "consumed", "batch-B2", 1, 1},
			{"B1", "F1", "produced", "batch-B1", 2, 2},
			{"B1", "F2", "produced", "batch-B1", 2, 2},
			{"F1", "SH1", "shipped", "shipment-SH1", 1, 3},
			{"F1", "B1", "consumed", "batch-B1", 3, 3},
		}},
		{"backward from a shipment", storage.TraverseRequest{From: []string{"SH1"}, Direction: storage.Backward, MaxDepth: 10}, []edge{
			{"F1", "SH1", "shipped", "shipment-SH1", 1, 1},
			{"B1", "F1", "produced", "batch-B1", 2, 2},
			{"S1", "B1", "consumed", "batch-B1", 1, 3},
			{"F1", "B1", "consumed", "batch-B1", 3, 3},
		}},
		{"backward depth 2", storage.TraverseRequest{From: []string{"SH1"}, Direction: storage.Backward, MaxDepth: 2}, []edge{
			{"F1", "SH1", "shipped", "shipment-SH1", 1, 1},
			{"B1", "F1", "produced", "batch-B1", 2, 2},
		}},
		{"kinds filter", storage.TraverseRequest{From: []string{"S1"}, Direction: storage.Forward, MaxDepth: 10, Kinds: []string{"consumed", "produced"}}, []edge{
			{"S1", "B1", "consumed", "batch-B1", 1, 1},
			{"S1", "B2", "consumed", "batch-B2", 1, 1},
			{"B1", "F1", "produced", "batch-B1", 2, 2},
			{"B1", "F2", "produced", "batch-B1", 2, 2},
			{"F1", "B1", "consumed", "batch-B1", 3, 3},
		}},
		{"several starts, repeated", storage.TraverseRequest{From: []string{"F2", "B2", "F2"}, Direction: storage.Backward, MaxDepth: 1}, []edge{
			{"S1", "B2", "consumed", "batch-B2", 1, 1},
			{"B1", "F2", "produced", "batch-B1", 2, 1},
		}},
		{"unknown node", storage.TraverseRequest{From: []string{"nowhere"}, Direction: storage.Forward, MaxDepth: 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := traverse(t, tt.req)
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for _, req := range []storage.TraverseRequest{
			{Direction: storage.Forward, MaxDepth: 1},
			{From: []string{""}, Direction: storage.Forward, MaxDepth: 1},
			{From: []string{"S1"}, MaxDepth: 1},
			{From: []string{"S1"}, Direction: storage.Forward, MaxDepth: 0},
			{From: []string{"S1"}, Direction: storage.Backward, MaxDepth: storage.MaxTraverseDepth + 1},
		} {
			if _, err := s.Traverse(ctx, req); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("Traverse(%+v): error = %v, want ErrInvalid", req, err)
			}
		}
	})
}
