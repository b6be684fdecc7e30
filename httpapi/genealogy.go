package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
)

// node reads the graph node of a genealogy route, with the graph brought
// up to date; a node the graph does not know answers 404.
func (h *Handler) node(r *http.Request) (string, *problem) {
	if h.cfg.Graph == nil {
		return "", newProblem(http.StatusNotFound, TypeNotFound, "this service keeps no lot graph")
	}
	if err := h.cfg.Graph.Update(r.Context()); err != nil {
		// A record the graph cannot read is the record's problem, not
		// the request's.
		return "", h.internal(r, err)
	}
	id := r.PathValue("node")
	if _, ok := h.cfg.Graph.NodeInfo(id); !ok {
		p := newProblem(http.StatusNotFound, TypeNotFound, "no link or declaration names "+strconv.Quote(id))
		p.Field = "node"
		return "", p
	}
	return id, nil
}

// trace walks the graph from the route's node in dir, as deep as the
// query's depth (default genealogy.DefaultDepth).
func (h *Handler) trace(r *http.Request, dir storage.Direction) (*genealogy.Trace, string, *problem) {
	depth := genealogy.DefaultDepth
	if s := r.URL.Query().Get("depth"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d < 1 || d > storage.MaxTraverseDepth {
			return nil, "", invalid("depth", "depth must be an integer from 1 to %d, not %q", storage.MaxTraverseDepth, s)
		}
		depth = d
	}
	id, p := h.node(r)
	if p != nil {
		return nil, "", p
	}
	t, err := h.cfg.Graph.Trace(r.Context(), genealogy.TraceRequest{From: []string{id}, Direction: dir, MaxDepth: depth})
	if err != nil {
		return nil, "", h.answer(r, err)
	}
	return t, id, nil
}

type traceBody struct {
	Node        string           `json:"node"`
	Direction   string           `json:"direction"`
	Nodes       []nodeBody       `json:"nodes"`
	Edges       []edgeBody       `json:"edges"`
	Annotations []annotationBody `json:"annotations"`
}

type nodeBody struct {
	ID          string  `json:"id"`
	Kind        string  `json:"kind"`
	Material    string  `json:"material,omitempty"`
	GTIN        string  `json:"gtin,omitempty"`
	Supplier    string  `json:"supplier,omitempty"`
	SupplierLot string  `json:"supplier_lot,omitempty"`
	Customer    string  `json:"customer,omitempty"`
	Quantity    *string `json:"quantity,omitempty"`
	Unit        string  `json:"unit,omitempty"`
}

type edgeBody struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	Kind     string    `json:"kind"`
	Depth    int       `json:"depth"`
	Quantity *string   `json:"quantity,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Proof    proofBody `json:"proof"`
}

type proofBody struct {
	Stream         string     `json:"stream"`
	Version        int64      `json:"version"`
	Position       int64      `json:"position"`
	Hash           audit.Hash `json:"hash"`
	Type           string     `json:"type"`
	Time           time.Time  `json:"time"`
	IdentitySource string     `json:"identity_source,omitempty"`
	Step           string     `json:"step,omitempty"`
	Critical       bool       `json:"critical"`
}

type annotationBody struct {
	Node      string    `json:"node"`
	Exception string    `json:"exception"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason,omitempty"`
	Proof     proofBody `json:"proof"`
}

func proof(p genealogy.Proof) proofBody {
	return proofBody{Stream: p.Stream, Version: p.Version, Position: p.Position, Hash: p.Hash, Type: p.Type, Time: p.Time,
		IdentitySource: string(p.IdentitySource), Step: p.Step, Critical: p.Critical}
}

func (h *Handler) traceBody(id, dir string, t *genealogy.Trace) *traceBody {
	g := h.cfg.Graph
	out := &traceBody{Node: id, Direction: dir, Nodes: []nodeBody{}, Edges: make([]edgeBody, 0, t.Len()), Annotations: []annotationBody{}}
	nodes := t.Nodes()
	for _, n := range nodes {
		info, _ := g.NodeInfo(n)
		nb := nodeBody{ID: n, Kind: string(info.Kind), Material: info.Material, GTIN: info.GTIN, Supplier: info.Supplier,
			SupplierLot: info.SupplierLot, Customer: info.Customer, Unit: info.Unit}
		if info.Quantity != nil {
			q := info.Quantity.String()
			nb.Quantity = &q
		}
		out.Nodes = append(out.Nodes, nb)
	}
	for _, e := range t.Edges() {
		eb := edgeBody{From: e.From, To: e.To, Kind: string(e.Kind), Depth: e.Depth, Unit: e.Unit, Proof: proof(e.Proof)}
		if e.Unit != "" {
			q := e.Quantity.String()
			eb.Quantity = &q
		}
		out.Edges = append(out.Edges, eb)
	}
	for _, a := range g.Annotations(nodes...) {
		out.Annotations = append(out.Annotations, annotationBody{Node: a.Lot, Exception: a.Exception, Type: a.Type, Reason: a.Reason, Proof: proof(a.Proof)})
	}
	return out
}

func (h *Handler) backward(w http.ResponseWriter, r *http.Request, _ string) *problem {
	t, id, p := h.trace(r, storage.Backward)
	if p != nil {
		return p
	}
	return ok(w, h.traceBody(id, "backward", t))
}

func (h *Handler) forward(w http.ResponseWriter, r *http.Request, _ string) *problem {
	t, id, p := h.trace(r, storage.Forward)
	if p != nil {
		return p
	}
	return ok(w, h.traceBody(id, "forward", t))
}

type recallBody struct {
	Node       string        `json:"node"`
	Shipped    []shippedBody `json:"shipped"`
	Customers  []string      `json:"customers"`
	InStock    []string      `json:"in_stock"`
	InProgress []string      `json:"in_progress"`
	Trace      *traceBody    `json:"trace"`
}

type shippedBody struct {
	Item     string    `json:"item"`
	Shipment string    `json:"shipment"`
	Customer string    `json:"customer"`
	Proof    proofBody `json:"proof"`
}

func (h *Handler) recall(w http.ResponseWriter, r *http.Request, _ string) *problem {
	id, p := h.node(r)
	if p != nil {
		return p
	}
	rs, err := h.cfg.Graph.Recall(r.Context(), id)
	if err != nil {
		return h.answer(r, err)
	}
	out := &recallBody{Node: id, Shipped: []shippedBody{}, Customers: nonNil(rs.Customers), InStock: nonNil(rs.InStock),
		InProgress: nonNil(rs.InProgress), Trace: h.traceBody(id, "forward", rs.Trace)}
	for _, s := range rs.Shipped {
		out.Shipped = append(out.Shipped, shippedBody{Item: s.Item, Shipment: s.Shipment, Customer: s.Customer, Proof: proof(s.Proof)})
	}
	return ok(w, out)
}

// epcis sends a trace as an EPCIS 2.0 JSON-LD document.
func (h *Handler) epcis(w http.ResponseWriter, r *http.Request, _ string) *problem {
	dir := storage.Forward
	switch d := r.URL.Query().Get("direction"); d {
	case "", "forward":
	case "backward":
		dir = storage.Backward
	default:
		return invalid("direction", "direction must be forward or backward, not %q", d)
	}
	t, _, p := h.trace(r, dir)
	if p != nil {
		return p
	}
	doc, err := h.exporter.EPCIS(t)
	if err != nil {
		// A unit without a UN/CEFACT code is the service's configuration
		// to fix (Config.Export), not the request's.
		return h.internal(r, err)
	}
	w.Header().Set("Content-Type", "application/ld+json")
	// A browser saves the document rather than show it.
	w.Header().Set("Content-Disposition", `attachment; filename="epcis.jsonld"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
	return nil
}
