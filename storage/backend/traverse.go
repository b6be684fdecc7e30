package backend

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// ValidateTraverse checks a traversal request; stores call it first. It
// returns an error matching storage.ErrInvalid for a request without start nodes,
// with an empty start node, an unknown direction or a depth outside
// 1..MaxTraverseDepth.
func ValidateTraverse(req storage.TraverseRequest) error {
	if len(req.From) == 0 {
		return invalid("from", "a traversal needs at least one start node")
	}
	for i, n := range req.From {
		if err := checkID(fmt.Sprintf("from[%d]", i), n, false); err != nil {
			return err
		}
	}
	if req.Direction != storage.Forward && req.Direction != storage.Backward {
		return invalid("direction", "%d is neither storage.Forward nor storage.Backward", req.Direction)
	}
	if req.MaxDepth < 1 || req.MaxDepth > storage.MaxTraverseDepth {
		return invalid("max_depth", "%d is outside 1..%d", req.MaxDepth, storage.MaxTraverseDepth)
	}
	for i, k := range req.Kinds {
		if err := checkID(fmt.Sprintf("kinds[%d]", i), k, false); err != nil {
			return err
		}
	}
	return nil
}

// FetchLinks returns every link occurrence whose near end (From when walking
// forward, To when walking backward) is one of nodes, each with its proving
// event; Depth is ignored. A store implements it with one lookup per level.
type FetchLinks func(ctx context.Context, nodes []string) ([]storage.Edge, error)

// Walk runs a breadth-first traversal with fetch, the one definition of
// traversal that every store shares: each node is expanded once, at its
// shortest distance from a start node, so cycles end; an edge's Depth is
// that distance plus one; edges of kinds not in req.Kinds are neither
// returned nor followed. The edges come sorted by depth, position, from, to
// and kind.
func Walk(ctx context.Context, req storage.TraverseRequest, fetch FetchLinks) ([]storage.Edge, error) {
	kinds := make(map[string]bool, len(req.Kinds))
	for _, k := range req.Kinds {
		kinds[k] = true
	}
	seen := make(map[string]bool, len(req.From))
	frontier := make([]string, 0, len(req.From))
	for _, n := range req.From {
		if !seen[n] {
			seen[n] = true
			frontier = append(frontier, n)
		}
	}
	var out []storage.Edge
	for depth := 1; depth <= req.MaxDepth && len(frontier) > 0; depth++ {
		edges, err := fetch(ctx, frontier)
		if err != nil {
			return nil, fmt.Errorf("traverse depth %d: %w", depth, err)
		}
		var next []string
		for _, e := range edges {
			if len(kinds) > 0 && !kinds[e.Kind] {
				continue
			}
			e.Depth = depth
			out = append(out, e)
			far := e.To
			if req.Direction == storage.Backward {
				far = e.From
			}
			if !seen[far] {
				seen[far] = true
				next = append(next, far)
			}
		}
		frontier = next
	}
	slices.SortFunc(out, compareEdges)
	return out, nil
}

func compareEdges(a, b storage.Edge) int {
	return cmp.Or(
		cmp.Compare(a.Depth, b.Depth),
		cmp.Compare(a.Position, b.Position),
		strings.Compare(a.From, b.From),
		strings.Compare(a.To, b.To),
		strings.Compare(a.Kind, b.Kind),
	)
}

// ValidateCheckpoint checks that cp can be stored: not nil, a position that
// is not negative, heads sorted by stream without repeats, and an ed25519
// signature. Stores call it first; it returns an error matching storage.ErrInvalid.
func ValidateCheckpoint(cp *audit.Checkpoint) error {
	if cp == nil {
		return invalid("checkpoint", "nil")
	}
	if cp.Position < 0 {
		return invalid("checkpoint.position", "%d is negative", cp.Position)
	}
	for i, h := range cp.Heads {
		if err := checkID(fmt.Sprintf("checkpoint.heads[%d].stream", i), h.Stream, false); err != nil {
			return err
		}
		if h.Version < 1 {
			return invalid(fmt.Sprintf("checkpoint.heads[%d].version", i), "%d is below 1", h.Version)
		}
		if i > 0 && cp.Heads[i-1].Stream >= h.Stream {
			return invalid("checkpoint.heads", "not sorted by stream, or %q repeated", h.Stream)
		}
	}
	if len(cp.Signature) != 64 {
		return invalid("checkpoint.signature", "%d bytes, an ed25519 signature has 64", len(cp.Signature))
	}
	return nil
}
