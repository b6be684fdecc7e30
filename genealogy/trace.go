package genealogy

import (
	"context"
	"fmt"
	"math/bits"
	"slices"

	"github.com/interlock-mes/interlock/storage/backend"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/storage"
)

// TraceRequest asks for every flow link reachable from From.
type TraceRequest struct {
	From      []string          // start nodes; at least one
	Direction storage.Direction // storage.Forward or storage.Backward
	// MaxDepth bounds the walk: 1 returns only the links that touch From.
	// It must be between 1 and storage.MaxTraverseDepth.
	MaxDepth int
	// Kinds limits the walk to these flow kinds; empty means every flow
	// kind (never Concerns).
	Kinds []Kind
}

// Edge is one link of a trace.
type Edge struct {
	From, To string
	Kind     Kind
	Depth    int // 1 for links that touch a start node, then +1 per hop
	// Quantity and Unit are what moved along the link; Unit is empty when
	// the event did not record a quantity.
	Quantity decimal.Decimal
	Unit     string
	Proof    Proof
}

// Trace is the result of a trace: the edges found, in the order backend.Walk
// gives (depth, position, from, to, kind), each with its proof. It reads the
// graph lazily, so a trace of a quarter of a million edges costs only its
// edge ids until they are asked for.
type Trace struct {
	g     *Graph
	req   TraceRequest
	ids   []uint32
	depth []int32 // ids[depthEnd[d-1]:depthEnd[d]] are at depth d+1
}

// Len returns the number of edges.
func (t *Trace) Len() int { return len(t.ids) }

// Edge returns edge i, 0 <= i < Len.
func (t *Trace) Edge(i int) Edge {
	t.g.mu.RLock()
	defer t.g.mu.RUnlock()
	return t.edge(i)
}

func (t *Trace) edge(i int) Edge {
	g, e := t.g, t.ids[i]
	q, u := g.quantity(e)
	d, _ := slices.BinarySearch(t.depth, int32(i+1))
	return Edge{
		From: g.nodes.name(g.eFrom[e]), To: g.nodes.name(g.eTo[e]), Kind: flowKinds[g.eKind[e]],
		Depth: d + 1, Quantity: q, Unit: u, Proof: g.proof(g.eProof[e]),
	}
}

// Edges returns every edge.
func (t *Trace) Edges() []Edge {
	t.g.mu.RLock()
	defer t.g.mu.RUnlock()
	out := make([]Edge, len(t.ids))
	for i := range t.ids {
		out[i] = t.edge(i)
	}
	return out
}

// Nodes returns the start nodes and every node the trace reached, each once:
// start nodes first, then in the order the edges reach them.
func (t *Trace) Nodes() []string {
	t.g.mu.RLock()
	defer t.g.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, f := range t.req.From {
		add(f)
	}
	for _, e := range t.ids {
		far := t.g.eTo[e]
		if t.req.Direction == storage.Backward {
			far = t.g.eFrom[e]
		}
		add(t.g.nodes.name(far))
	}
	return out
}

// visit is the scratch of one trace, pooled: marks[n] == epoch means node n
// was seen by the current trace, so nothing is cleared between traces.
type visit struct {
	marks          []uint32
	epoch          uint32
	frontier, next []uint32
	found          []uint32
	bits           []uint64 // edge bitset for sorting large levels
}

// Trace walks the graph from req.From, with the semantics of backend.Walk:
// each node is expanded once, at its shortest distance from a start node,
// so cycles end; edges of other kinds are neither returned nor followed.
// Start nodes the graph does not know give no edges. It returns an error
// matching storage.ErrInvalid for a request backend.ValidateTraverse
// rejects or a kind that is not a flow kind.
func (g *Graph) Trace(ctx context.Context, req TraceRequest) (*Trace, error) {
	sreq := storage.TraverseRequest{From: req.From, Direction: req.Direction, MaxDepth: req.MaxDepth}
	for _, k := range req.Kinds {
		sreq.Kinds = append(sreq.Kinds, string(k))
	}
	if err := backend.ValidateTraverse(sreq); err != nil {
		return nil, fmt.Errorf("genealogy: trace: %w", err)
	}
	var mask uint16
	for _, k := range req.Kinds {
		i := kindIndex(k)
		if i < 0 {
			return nil, fmt.Errorf("genealogy: trace: %w", &storage.ValidationError{Field: "kinds", Reason: fmt.Sprintf("%q is not a flow kind", k)})
		}
		mask |= 1 << i
	}
	if mask == 0 {
		mask = 1<<len(flowKinds) - 1
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	v, _ := g.visits.Get().(*visit)
	if v == nil {
		v = &visit{}
	}
	defer g.visits.Put(v)
	if len(v.marks) < len(g.kind) {
		v.marks = make([]uint32, len(g.kind)+len(g.kind)/4)
		v.epoch = 0
	}
	v.epoch++
	if v.epoch == 0 { // wrapped: old marks could match again
		clear(v.marks)
		v.epoch = 1
	}
	backward := req.Direction == storage.Backward
	off, adjs, tail := g.outOff, g.outAdj, g.tailOut
	if backward {
		off, adjs, tail = g.inOff, g.inAdj, g.tailIn
	}
	v.frontier = v.frontier[:0]
	for _, s := range req.From {
		n, ok := g.nodes.lookupString(s)
		if ok && v.marks[n] != v.epoch {
			v.marks[n] = v.epoch
			v.frontier = append(v.frontier, n)
		}
	}
	t := &Trace{g: g, req: req}
	v.found = v.found[:0]
	for depth := 1; depth <= req.MaxDepth && len(v.frontier) > 0; depth++ {
		if depth%2 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		start := len(v.found)
		v.next = v.next[:0]
		marks, epoch := v.marks, v.epoch
		for _, n := range v.frontier {
			var list []adj
			if int(n)+1 < len(off) {
				list = adjs[off[n]:off[n+1]]
			}
			for pass := 0; pass < 2; pass++ {
				for _, a := range list {
					if mask&(1<<a.kind()) == 0 {
						continue
					}
					v.found = append(v.found, a.edge())
					if marks[a.far] != epoch {
						marks[a.far] = epoch
						v.next = append(v.next, a.far)
					}
				}
				if len(tail) == 0 {
					break
				}
				list = tail[n]
			}
		}
		g.sortLevel(v, v.found[start:])
		t.depth = append(t.depth, int32(len(v.found)))
		v.frontier, v.next = v.next, v.frontier
	}
	t.ids = slices.Clone(v.found)
	return t, nil
}

// sortLevel puts a level's edge ids in ascending order, which is the order
// (position, from, to, kind). A large level goes through a bitset over all
// edges, which is linear; a small one is sorted.
func (g *Graph) sortLevel(v *visit, level []uint32) {
	if len(level) < 4096 || len(level)*32 < len(g.eFrom) {
		slices.Sort(level)
		return
	}
	words := (len(g.eFrom) + 63) / 64
	if len(v.bits) < words {
		v.bits = make([]uint64, words)
	}
	lo, hi := words, 0
	for _, e := range level {
		w := int(e / 64)
		v.bits[w] |= 1 << (e % 64)
		lo, hi = min(lo, w), max(hi, w)
	}
	out := level[:0]
	for w := lo; w <= hi; w++ {
		b := v.bits[w]
		for b != 0 {
			out = append(out, uint32(w*64+bits.TrailingZeros64(b)))
			b &= b - 1
		}
		v.bits[w] = 0
	}
}
