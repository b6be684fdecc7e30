package main

import (
	"context"
	"encoding/json"
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
	"github.com/interlock-mes/interlock/review"
)

// batchRecord is the batch record as QA reads it before signing the
// release, beside review by exception: every accepted weight against its
// target with its tare, the lots consumed and produced, the material
// balance and yield, the people by printed name, the refused attempts
// apart from the real exceptions, and the signatures with their
// manifestation. Everything in it is read from the batch's records and the
// route version the batch is bound to.
type batchRecord struct {
	Route      string // "TAB-500 v1", or "" when the batch bound no route
	Weighings  []weighing
	Consumed   []flow
	Produced   []flow
	Balance    *release.Reconciliation
	NoBalance  string // why there is no balance yet
	People     []actorRow
	Exceptions []review.Entry // raised by the batch's steps, not refusals
	Refused    []review.Entry // attempts the gates refused
	Signatures []review.Signature
}

// weighing is one accepted weight of a route step.
type weighing struct {
	Step, Name       string
	Lot, LotFrom     string // the lot scanned for the step, and how it was given
	Net, Tare, Gross string // "" when not given
	Unit             string
	Target, Band     string
	Within           bool
	From             string // the instrument and whether it was stable, or "typed"
	Frame            string // the net weight as the scale sent it; "" when typed
	By, At           string
}

// flow is a quantity of a lot into or out of the batch.
type flow struct {
	Lot, Material, Quantity, Unit string
}

// actorRow is a person who acted on the batch.
type actorRow struct {
	ID, Name string
	Did      []string
}

// batchRecordOf reads the batch record of subject; rep is its review by
// exception.
func (a *app) batchRecordOf(ctx context.Context, subject string, rep *review.Report) (*batchRecord, error) {
	p := a.plant
	recs, err := p.engine.Records(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := &batchRecord{}
	var rt *route.Route
	if v, err := p.routes.VerifyBinding(ctx, recs); err == nil {
		rt = v.Route
		out.Route = fmt.Sprintf("%s v%d", rt.Product, rt.Version)
	}
	lots, err := a.lotRows(ctx)
	if err != nil {
		return nil, err
	}
	material := map[string]string{}
	for _, l := range lots {
		material[l.ID] = l.Material
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
	weighed := map[string]decimal.Decimal{} // accepted net weight by material and unit
	consumed := map[string]decimal.Decimal{}
	produced := decimal.Zero
	yieldUnit := ""
	if rt != nil && rt.Yield != nil {
		yieldUnit = rt.Yield.Unit
	}
	for i := range recs {
		r := &recs[i]
		if r.Type == event.Denied {
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
			case q.To == subject:
				lot := strings.TrimPrefix(q.From, "lot/")
				out.Consumed = append(out.Consumed, flow{Lot: lot, Material: material[lot], Quantity: q.Quantity.String(), Unit: q.Unit})
				k := material[lot] + "\x00" + q.Unit
				consumed[k] = consumed[k].Add(q.Quantity)
			case q.From == subject:
				lot := strings.TrimPrefix(q.To, "lot/")
				m := material[lot]
				for _, n := range t.Nodes {
					if n.ID == q.To && n.Material != "" {
						m = n.Material
					}
				}
				out.Produced = append(out.Produced, flow{Lot: lot, Material: m, Quantity: q.Quantity.String(), Unit: q.Unit})
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
			w.By, w.At = r.Actor, r.Time.Format("2006-01-02 15:04:05 UTC")
			out.Weighings = append(out.Weighings, w.weighing)
			if w.material != "" {
				k := w.material + "\x00" + w.Unit
				weighed[k] = weighed[k].Add(w.net)
			}
		}
	}
	for _, s := range rep.Signatures {
		act(s.SignerID, "signed "+s.Meaning)
	}
	for _, id := range order {
		name, err := a.printedName(ctx, id)
		if err != nil {
			return nil, err
		}
		out.People = append(out.People, actorRow{ID: id, Name: name, Did: did[id]})
	}
	for _, e := range rep.Exceptions {
		if e.Kind == review.KindDenied {
			out.Refused = append(out.Refused, e)
		} else {
			out.Exceptions = append(out.Exceptions, e)
		}
	}
	out.Signatures = rep.Signatures

	// The material balance: what the steps weighed out for the batch
	// against what it consumed, material by material, exactly; and the
	// yield against the route's range once the batch has made its lot.
	var in release.ReconcileInput
	keys := make([]string, 0, len(weighed))
	for k := range weighed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		m, unit, _ := strings.Cut(k, "\x00")
		in.Materials = append(in.Materials, release.MaterialBalance{Material: m, Unit: unit, Issued: weighed[k], Consumed: consumed[k]})
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

// stepWeighing is a weighing and what the balance needs of it.
type stepWeighing struct {
	weighing
	material string
	net      decimal.Decimal
}

// weighingsOf reads the weighings the route asks of step from the
// completion record r.
func weighingsOf(rt *route.Route, step string, r *audit.Record) ([]stepWeighing, error) {
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
		return nil, fmt.Errorf("%s v%d: evidence: %w", r.Stream, r.Version, err)
	}
	find := func(name string) (gate.Evidence, bool) {
		for _, e := range ev {
			if e.Name == name {
				return e, true
			}
		}
		return gate.Evidence{}, false
	}
	lots := map[string]gate.Evidence{} // scanned lot by material
	for _, req := range s.Requirements {
		if sl, ok := req.(route.ScanLot); ok {
			if e, ok := find(sl.Name); ok {
				lots[sl.Material] = e
			}
		}
	}
	var out []stepWeighing
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
		row := stepWeighing{material: w.Material, net: net.Value, weighing: weighing{
			Step: step, Name: w.Name, Net: net.Value.String(), Unit: net.Unit,
			Target: w.Target.String() + " " + w.Unit,
			Band:   tol.Target.Sub(tol.Below).String() + " to " + tol.Target.Add(tol.Above).String() + " " + w.Unit,
			Within: net.Unit == w.Unit && !net.Value.LessThan(tol.Target.Sub(tol.Below)) && !net.Value.GreaterThan(tol.Target.Add(tol.Above)),
			From:   "typed"}}
		row.Frame = net.Raw
		if net.Source == gate.SourceDevice {
			row.From = net.Instrument + ", stable"
			if !net.Stable {
				row.From = net.Instrument + ", NOT stable"
			}
		}
		if e, ok := find(weigh.Tare(w.Name)); ok && e.HasValue {
			row.Tare = e.Value.String()
		}
		if e, ok := find(weigh.Gross(w.Name)); ok && e.HasValue {
			row.Gross = e.Value.String()
		}
		if l, ok := lots[w.Material]; ok {
			row.Lot, row.LotFrom = l.Identity, "typed"
			if l.Source == gate.SourceScanner {
				row.LotFrom = "scanned on " + l.Instrument
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// printedName is the name the person id was registered with, from the
// person's own record; "" for someone the plant has no record of.
func (a *app) printedName(ctx context.Context, id string) (string, error) {
	recs, err := a.plant.engine.Records(ctx, event.PersonStream(id))
	if err != nil {
		return "", err
	}
	for i := range recs {
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
