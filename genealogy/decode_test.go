package genealogy

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock/event"
	"github.com/shopspring/decimal"
)

// read is what the graph reads of a payload: the fields of the
// event.Transition it uses, and an annotation's reason from its Data.
type read struct {
	IdentitySource string
	Step           string
	Critical       bool
	Quantities     []event.Quantity
	Nodes          []event.Node
	Reason         string
	Location       *event.Location
	References     []event.Reference
}

// reference reads in with encoding/json and checks it as CheckPayload
// does, for the members the graph reads: the decoder skips the others
// without checking their types.
func reference(in []byte) (read, error) {
	var view struct {
		IdentitySource string            `json:"identity_source"`
		Step           string            `json:"step"`
		Critical       bool              `json:"critical"`
		Data           json.RawMessage   `json:"data"`
		Quantities     []event.Quantity  `json:"quantities"`
		Nodes          []event.Node      `json:"nodes"`
		Location       *event.Location   `json:"location"`
		References     []event.Reference `json:"references"`
	}
	if t := bytes.TrimSpace(in); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(in, &view); err != nil {
			return read{}, err
		}
	}
	t := &event.Transition{IdentitySource: view.IdentitySource, Step: view.Step, Critical: view.Critical, Data: view.Data,
		Quantities: view.Quantities, Nodes: view.Nodes, Location: view.Location, References: view.References}
	if err := checkRead(t); err != nil {
		return read{}, err
	}
	r := read{IdentitySource: t.IdentitySource, Step: t.Step, Critical: t.Critical, Quantities: t.Quantities, Nodes: t.Nodes,
		Location: t.Location, References: t.References}
	if d := bytes.TrimLeft(t.Data, " \t\r\n"); len(d) > 0 && d[0] == '{' {
		var data struct {
			Reason *string `json:"reason"`
		}
		if err := json.Unmarshal(d, &data); err != nil {
			return read{}, err
		}
		if data.Reason != nil {
			r.Reason = *data.Reason
		}
	}
	return r, nil
}

// fromRaw turns the decoder's output into a read, to compare it with
// encoding/json's.
func fromRaw(r *rawPayload) read {
	p := read{IdentitySource: string(r.source), Step: string(r.step), Critical: r.critical, Reason: string(r.reason),
		Location: r.location, References: r.references}
	for _, q := range r.quantities {
		p.Quantities = append(p.Quantities, event.Quantity{From: string(q.from), To: string(q.to), Quantity: q.q.decimal(), Unit: string(q.unit)})
	}
	for _, n := range r.nodes {
		ni := event.Node{ID: string(n.id), Kind: string(n.kind), Material: string(n.material), GTIN: string(n.gtin),
			Supplier: string(n.supplier), SupplierLot: string(n.supplierLot), Customer: string(n.customer), Unit: string(n.unit),
			Description: string(n.description), LotSource: n.lotSource, Landing: n.landing, Destination: n.destination}
		if n.q.set {
			v := n.q.decimal()
			ni.Quantity = &v
		}
		p.Nodes = append(p.Nodes, ni)
	}
	return p
}

var decOpts = cmp.Options{
	cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b *decimal.Decimal) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }),
}

// checkDecode holds the fast decoder to CheckPayload (encoding/json): both
// accept or both reject, and when they accept they agree.
func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	want, werr := reference(in)
	var raw rawPayload
	gerr := decodePayload(in, &raw)
	if gerr == nil {
		gerr = raw.check()
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: encoding/json error %v, decoder error %v", in, werr, gerr)
	}
	if werr != nil {
		return
	}
	got := fromRaw(&raw)
	if len(want.Quantities) == 0 {
		want.Quantities = nil
	}
	if len(want.Nodes) == 0 {
		want.Nodes = nil
	}
	if diff := cmp.Diff(want, got, decOpts); diff != "" {
		t.Fatalf("%q (-encoding/json +decoder):\n%s", in, diff)
	}
}

var decodeSeeds = []string{
	``, `null`, `{}`, ` { } `, `[]`, `"x"`, `{"step":"charge","critical":true}`,
	`{"identity_source":"scan","quantities":[{"from":"A","to":"B","quantity":"12.50","unit":"kg"}]}`,
	`{"location":{"read_point":{"gln":"4012345000009","ext":"L1"},"biz_location":{"id":"room-2","description":"Room 2"}},"references":[{"type":"po","number":"PO-1"}]}`,
	`{"location":{"read_point":{"id":"a"}},"location":{"biz_location":{"id":"b"}},"references":[{"type":"po","number":"1"},{"type":"bol","number":"2"}],"references":[{"number":"3"}]}`,
	`{"location":null}`, `{"location":5}`, `{"references":{}}`, `{"location":{"read_point":[]}}`,
	`{"nodes":[{"id":"L1","kind":"lot","description":"Romaine","lot_source":{"gln":"4012345000009"},"landing":{"harvest_start":"2026-01-02T00:00:00Z","harvest_end":"2026-01-03T00:00:00Z","harvest_area":"NMFS 514","landed":"2026-01-04T00:00:00Z"}}]}`,
	`{"nodes":[{"id":"L1","kind":"lot","landing":{"landed":"yesterday"}}]}`, `{"nodes":[{"id":"L1","kind":"lot","lot_source":{"id":"a"},"lot_source":{"description":"d"}}]}`,
	`{"quantities":[{"from":"A","to":"B","quantity":12.5e1,"unit":"kg"}]}`,
	`{"quantities":[{"from":"A","to":"B","quantity":"99999999999999999999.5","unit":"kg"}]}`,
	`{"quantities":[{"from":"A","to":"B","quantity":"-1","unit":"kg"}]}`,
	`{"quantities":[{"from":"A","to":"B","quantity":"1"}]}`,
	`{"quantities":null,"nodes":null}`, `{"quantities":[null]}`,
	`{"nodes":[{"id":"L1","kind":"lot","material":"M","supplier":"S","supplier_lot":"x","quantity":"5","unit":"kg"}]}`,
	`{"nodes":[{"id":"","kind":"lot"}]}`, `{"nodes":[{"id":"a","kind":"pallet"}]}`,
	`{"identity_source":"telepathy"}`, `{"Step":"x","STEP":"y"}`,
	`{"step":"a\u00e9\ud83d\ude00\n\"b"}`, `{"step":"\ud800"}`, "{\"step\":\"\xff\"}",
	`{"unknown":{"deep":[1,2,{"x":null}]},"critical":false}`,
	`{"data":{"reason":"supplier complaint","other":[1]}}`, `{"data":[1,2]}`, `{"data":{"reason":7}}`, `{"data":null}`, `{"data":{"Reason":"x","reason":"y"}}`,
	`{"step":1}`, `{"critical":"yes"}`, `{"quantities":{}}`, `{"step":"a"} x`, `{"a":01}`, `{"a":1.}`,
	`{"nodes":[{"id":"a","quantity":"\u0031","unit":"kg"}]}`, `{"nodes":[{"id":"a","quantity":"","unit":"kg"}]}`,
}

func TestDecodePayload(t *testing.T) {
	t.Parallel()
	for _, s := range decodeSeeds {
		checkDecode(t, []byte(s))
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) && len(in) > 0 {
			// Still must not panic, and must reject.
			var raw rawPayload
			if err := decodePayload(in, &raw); err == nil {
				if _, werr := reference(in); werr == nil {
					return
				}
				t.Fatalf("%q: decoder accepted invalid JSON", in)
			}
			return
		}
		checkDecode(t, in)
	})
}
