package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/release"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/mes/weigh"
)

// BatchRecord is the batch record as QA reads it before signing the
// release, beside the report by exception: every weight a route step
// accepted against its target, with its tare and gross and the lot it
// was weighed from; the lots consumed and produced; the material balance
// and the yield; the people by printed name; the refused attempts apart
// from the exceptions; and the signatures with their manifestation.
type BatchRecord struct {
	Batch string `json:"batch"`
	// Route is the route version the batch runs, such as "TAB-500 v1";
	// "" when none was given, and then no weighing is read.
	Route     string     `json:"route,omitempty"`
	Weighings []Weighing `json:"weighings"`
	Consumed  []Flow     `json:"consumed"`
	Produced  []Flow     `json:"produced"`
	// Balance is what the steps weighed out against what the batch
	// consumed, material by material, exactly, and the yield against the
	// route's range once the batch has made its lot (release.Reconcile);
	// nil with NoBalance saying why when there is nothing to balance yet.
	Balance   *release.Reconciliation `json:"balance,omitempty"`
	NoBalance string                  `json:"no_balance,omitempty"`
	People    []Person                `json:"people"`
	// Exceptions are the report's exceptions but refused attempts, which
	// are in Refused: the gates held, and nothing was done.
	Exceptions []Entry     `json:"exceptions"`
	Refused    []Entry     `json:"refused"`
	Signatures []Signature `json:"signatures"`
}

// Weighing is one weight a route step accepted.
type Weighing struct {
	Step string `json:"step"`
	Name string `json:"name"` // the weighing's evidence name (route.Weigh.Name)
	// Lot is the lot scanned for the step's material, and LotSource how
	// it was given ("scanner", "manual"); "" when the step scans none.
	Lot       string `json:"lot,omitempty"`
	LotSource string `json:"lot_source,omitempty"`
	// LotInstrument is the scanner that read it.
	LotInstrument string           `json:"lot_instrument,omitempty"`
	Material      string           `json:"material,omitempty"`
	Net           decimal.Decimal  `json:"net"`
	Tare          *decimal.Decimal `json:"tare,omitempty"`
	Gross         *decimal.Decimal `json:"gross,omitempty"`
	Unit          string           `json:"unit"`
	Target        decimal.Decimal  `json:"target"`
	Low           decimal.Decimal  `json:"low"`
	High          decimal.Decimal  `json:"high"`
	Within        bool             `json:"within"`
	// Evidence is the net weight's evidence as recorded: its source,
	// instrument, stability and frame.
	Evidence Evidence `json:"evidence"`
	// Record is the completion that recorded it.
	Record EventRef `json:"record"`
}

// Flow is a quantity of a lot into or out of the batch.
type Flow struct {
	Lot      string          `json:"lot"`
	Material string          `json:"material,omitempty"`
	Quantity decimal.Decimal `json:"quantity"`
	Unit     string          `json:"unit"`
}

// Person is someone who acted on the batch or signed for it.
type Person struct {
	ID string `json:"id"`
	// Name is the name the person's record was registered with; "" for
	// someone the plant has no record of.
	Name string   `json:"name"`
	Did  []string `json:"did"` // such as "start S10", "signed verified"
}

// ReadBatchRecord reads the batch record of rep's batch from src: rep is
// its report by exception (Build), rt the route version the batch is
// bound to (route.Registry.VerifyBinding; nil when it runs none). With
// Options.Attestation, a record without a valid attestation is left out,
// as the report lists it.
func ReadBatchRecord(ctx context.Context, src Reader, rep *Report, rt *route.Route, opts *Options) (*BatchRecord, error) {
	if src == nil || rep == nil {
		return nil, errors.New("review: ReadBatchRecord: no reader or no report")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	recs, err := src.Load(ctx, rep.Batch, 1)
	if err != nil {
		return nil, fmt.Errorf("review: load %s: %w", rep.Batch, err)
	}
	out := &BatchRecord{Batch: rep.Batch, Weighings: []Weighing{}, Consumed: []Flow{}, Produced: []Flow{}, People: []Person{},
		Exceptions: []Entry{}, Refused: []Entry{}, Signatures: rep.Signatures}
	if rt != nil {
		out.Route = fmt.Sprintf("%s v%d", rt.Product, rt.Version)
	}
	materials := map[string]string{} // lot stream → material, read once
	material := func(lotStream string) (string, error) {
		if m, ok := materials[lotStream]; ok {
			return m, nil
		}
		m, err := lotMaterial(ctx, src, lotStream, o.Attestation)
		materials[lotStream] = m
		return m, err
	}
	did := map[string][]string{}
	var order []string
	act := func(who, what string) {
		if _, ok := did[who]; !ok {
			order = append(order, who)
		}
		if !slices.Contains(did[who], what) {
			did[who] = append(did[who], what)
		}
	}
	weighed := map[[2]string]decimal.Decimal{} // accepted net by material and unit
	consumed := map[[2]string]decimal.Decimal{}
	produced, yieldUnit := decimal.Zero, ""
	if rt != nil && rt.Yield != nil {
		yieldUnit = rt.Yield.Unit
	}
	for i := range recs {
		r := &recs[i]
		if r.Type == event.Denied || (o.Attestation != nil && o.Attestation.Check(r) != nil) {
			continue
		}
		var t event.Transition
		if json.Unmarshal(r.Payload, &t) != nil || t.Model == "" || t.To == "" {
			continue
		}
		what := string(t.Command)
		if t.Step != "" {
			what += " " + t.Step
		}
		act(r.Actor, what)
		for _, q := range t.Quantities {
			switch {
			case q.To == rep.Batch:
				m, err := material(q.From)
				if err != nil {
					return nil, err
				}
				out.Consumed = append(out.Consumed, Flow{Lot: strings.TrimPrefix(q.From, "lot/"), Material: m, Quantity: q.Quantity, Unit: q.Unit})
				consumed[[2]string{m, q.Unit}] = consumed[[2]string{m, q.Unit}].Add(q.Quantity)
			case q.From == rep.Batch:
				m := ""
				for _, n := range t.Nodes {
					if n.ID == q.To {
						m = n.Material
					}
				}
				out.Produced = append(out.Produced, Flow{Lot: strings.TrimPrefix(q.To, "lot/"), Material: m, Quantity: q.Quantity, Unit: q.Unit})
				if q.Unit == yieldUnit {
					produced = produced.Add(q.Quantity)
				}
			}
		}
		if rt == nil || t.Step == "" || t.To != lifecycle.StepComplete {
			continue
		}
		ws, err := weighingsOf(rt, t.Step, r)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			out.Weighings = append(out.Weighings, w)
			if w.Material != "" {
				k := [2]string{w.Material, w.Unit}
				weighed[k] = weighed[k].Add(w.Net)
			}
		}
	}
	for _, s := range rep.Signatures {
		act(s.SignerID, "signed "+s.Meaning)
	}
	for _, id := range order {
		name, err := registeredName(ctx, src, id, o.Attestation)
		if err != nil {
			return nil, err
		}
		out.People = append(out.People, Person{ID: id, Name: name, Did: did[id]})
	}
	for _, e := range rep.Exceptions {
		if e.Kind == KindDenied {
			out.Refused = append(out.Refused, e)
		} else {
			out.Exceptions = append(out.Exceptions, e)
		}
	}
	var in release.ReconcileInput
	keys := make([][2]string, 0, len(weighed))
	for k := range weighed {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	for _, k := range keys {
		in.Materials = append(in.Materials, release.MaterialBalance{Material: k[0], Unit: k[1], Issued: weighed[k], Consumed: consumed[k]})
	}
	if rt != nil && len(out.Produced) > 0 {
		in.Yield = rt.YieldCheck(produced)
	}
	switch bal, err := release.Reconcile(in); {
	case len(in.Materials) == 0 && in.Yield == nil:
		out.NoBalance = "nothing weighed or made yet"
	case err != nil:
		out.NoBalance = err.Error()
	default:
		out.Balance = bal
	}
	return out, nil
}

// weighingsOf reads the weighings route rt asks of step from its
// completion record r.
func weighingsOf(rt *route.Route, step string, r *audit.Record) ([]Weighing, error) {
	var s *route.Step
	for _, st := range rt.Steps() {
		if st.ID == step {
			s = st
		}
	}
	if s == nil || len(r.Evidence) == 0 || string(r.Evidence) == "null" {
		return nil, nil
	}
	var ev []gate.Evidence
	if err := json.Unmarshal(r.Evidence, &ev); err != nil {
		return nil, fmt.Errorf("review: %s v%d: evidence: %w", r.Stream, r.Version, err)
	}
	find := func(name string) (gate.Evidence, bool) {
		for _, e := range ev {
			if e.Name == name {
				return e, true
			}
		}
		return gate.Evidence{}, false
	}
	lots := map[string]gate.Evidence{} // the lot scanned, by material
	for _, req := range s.Requirements {
		if sl, ok := req.(route.ScanLot); ok {
			if e, ok := find(sl.Name); ok {
				lots[sl.Material] = e
			}
		}
	}
	var out []Weighing
	for _, req := range s.Requirements {
		w, ok := req.(route.Weigh)
		if !ok {
			continue
		}
		net, ok := find(w.Name)
		if !ok || !net.HasValue {
			continue
		}
		tol := w.Tolerance()
		low, high := tol.Target.Sub(tol.Below), tol.Target.Add(tol.Above)
		row := Weighing{Step: step, Name: w.Name, Material: w.Material, Net: net.Value, Unit: net.Unit, Target: w.Target, Low: low, High: high,
			Within:   net.Unit == w.Unit && !net.Value.LessThan(low) && !net.Value.GreaterThan(high),
			Evidence: Evidence{Name: net.Name, Value: net.Value.String(), Unit: net.Unit, Source: string(net.Source), Instrument: net.Instrument, Stable: net.Stable, Raw: net.Raw, At: net.At},
			Record:   EventRef{Stream: r.Stream, Version: r.Version, Position: r.Position, Hash: r.Hash, Type: r.Type, Actor: r.Actor, Time: r.Time}}
		if e, ok := find(weigh.Tare(w.Name)); ok && e.HasValue {
			row.Tare = &e.Value
		}
		if e, ok := find(weigh.Gross(w.Name)); ok && e.HasValue {
			row.Gross = &e.Value
		}
		if l, ok := lots[w.Material]; ok {
			row.Lot, row.LotSource, row.LotInstrument = l.Identity, string(l.Source), l.Instrument
		}
		out = append(out, row)
	}
	return out, nil
}

// lotMaterial is the material lot stream's records declare it of; "" when
// they do not.
func lotMaterial(ctx context.Context, src Reader, stream string, keys *audit.Attested) (string, error) {
	recs, err := src.Load(ctx, stream, 1)
	if err != nil {
		return "", fmt.Errorf("review: load %s: %w", stream, err)
	}
	for i := range recs {
		if keys != nil && keys.Check(&recs[i]) != nil {
			continue
		}
		var t event.Transition
		if json.Unmarshal(recs[i].Payload, &t) != nil {
			continue
		}
		for _, n := range t.Nodes {
			if n.ID == stream && n.Material != "" {
				return n.Material, nil
			}
		}
		var receipt event.Receipt
		if t.Command == gate.Command(mes.CmdReceive) && json.Unmarshal(t.Data, &receipt) == nil && receipt.Material != "" {
			return receipt.Material, nil
		}
	}
	return "", nil
}

// registeredName is the name person id was registered with, from their own
// record; "" for someone the plant has no record of.
func registeredName(ctx context.Context, src Reader, id string, keys *audit.Attested) (string, error) {
	recs, err := src.Load(ctx, event.PersonStream(id), 1)
	if err != nil {
		return "", fmt.Errorf("review: load %s: %w", event.PersonStream(id), err)
	}
	for i := range recs {
		if keys != nil && keys.Check(&recs[i]) != nil {
			continue
		}
		var t event.Transition
		if json.Unmarshal(recs[i].Payload, &t) != nil || t.Command != gate.Command(mes.CmdRegister) || len(t.Data) == 0 {
			continue
		}
		var d struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(t.Data, &d) == nil && d.Name != "" {
			return d.Name, nil
		}
	}
	return "", nil
}
