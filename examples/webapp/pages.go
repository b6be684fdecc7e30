package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/release"
	"github.com/interlock-mes/interlock/mes/weigh"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// workItem is one line of the dispatch board.
type workItem struct {
	Batch, Step, What string
	State             mes.State
	Link              string
	Allowed           []mes.Command
	Blocked           []mes.Blocked
	// Ready are commands blocked only for want of what the screen asks
	// for (a scan, a reference, a weight): the person's next work.
	Ready []mes.Blocked
	// Signing says what signatures an allowed command still needs: the
	// dry run does not judge them (who signs is decided when they sign).
	Signing []string
}

// board is the dispatch board: the signed-in person's work, by column.
type board struct {
	InProgress, Queued, Blocked []workItem
	Batches                     []string
	Lots                        []lotRow
}

// dispatchPage asks the engine what the signed-in person could do with
// every batch, its weighing step and its release, and why not. It is the
// read side: nothing is tried, so no denied attempt is left behind.
func (a *app) dispatchPage(w http.ResponseWriter, r *http.Request) {
	p := a.plant
	// The batches and lots are those on the record, not a list the app
	// keeps: a batch another instance starts shows here too.
	bs, err := p.streams(r.Context(), "batch/")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lots, err := a.lotRows(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var subjects []mes.Subject
	for _, id := range bs {
		b := "batch/" + id
		subjects = append(subjects, mes.Subject{Model: p.steps[weighStepID], Subject: b, Step: weighStepID})
		for _, t := range p.tasks {
			subjects = append(subjects, mes.Subject{Model: p.steps[t.ID], Subject: b, Step: t.ID})
		}
		subjects = append(subjects, mes.Subject{Model: p.batch, Subject: b}, mes.Subject{Model: p.release, Subject: b})
	}
	ds, err := p.engine.Dispatch(r.Context(), current(r).actor, subjects)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	bd := board{Lots: lots, Batches: bs}
	for i, d := range ds {
		id := pathID(d.Subject)
		it := workItem{Batch: id, Step: d.Step, State: d.State, Allowed: d.Allowed}
		for _, b := range d.Blocked {
			if b.AwaitsInput() {
				it.Ready = append(it.Ready, b)
			} else {
				it.Blocked = append(it.Blocked, b)
			}
		}
		switch {
		case d.Step == weighStepID:
			it.What, it.Link = "weighing step "+d.Step, stepLink(id, d.Step)
		case d.Step != "":
			it.What, it.Link = "step "+d.Step, stepLink(id, d.Step)
		case subjects[i].Model == p.release:
			it.What, it.Link = "QA release", "/batches/"+url.PathEscape(id)+"/review"
		default:
			it.What, it.Link = "batch", "/batches/"+url.PathEscape(id)+"/review"
		}
		allowed := it.Allowed
		it.Allowed = nil
		for _, c := range allowed {
			// The dry run leaves signatures out (who signs is decided when
			// they sign); on these pages the signed-in person signs their
			// own command, so a signature they could not give (their role,
			// their part in the work) blocks it for them.
			actor := current(r).actor
			v, err := p.engine.CheckSigner(r.Context(), mes.Request{Model: subjects[i].Model, Subject: d.Subject, Step: d.Step, Command: c, Actor: actor}, actor)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if !v.Allowed {
				it.Blocked = append(it.Blocked, mes.Blocked{Command: c, Reasons: v.Reasons})
				continue
			}
			it.Allowed = append(it.Allowed, c)
			for _, s := range v.Signatures {
				need := fmt.Sprintf("%s needs %d signature(s) meaning %q by %s", c, s.Count, s.Meaning, strings.Join(s.Roles, " or "))
				if s.NotPerformer {
					need += ", from someone who took no part"
				}
				it.Signing = append(it.Signing, need)
			}
		}
		switch {
		case d.State == lifecycle.StepInProgress || d.State == lifecycle.BatchInProgress:
			bd.InProgress = append(bd.InProgress, it)
		case len(it.Allowed) > 0 || len(it.Ready) > 0:
			bd.Queued = append(bd.Queued, it)
		case len(it.Blocked) > 0:
			bd.Blocked = append(bd.Blocked, it)
		}
	}
	a.render(w, r, http.StatusOK, "dispatch", "Dispatch board", bd)
}

// stepView is what the step screen shows.
type stepView struct {
	Batch, Step string
	State       mes.State
	Tolerance   gate.Tolerance
	Low, High   decimal.Decimal
	Key         string // the idempotency key of the next command
	Next        []mes.Command
	Verdicts    map[mes.Command]*mes.Verdict
	Outcome     string
	Denied      []gate.Reason
	Error       string
	Lot, Weight string
	Live        bool   // a scale is connected
	Tare        string // the tare in the scale's memory, read by the server, such as "0.80 kg"
	Path        string
	// Scanner is whether scanner SCN-1 is connected, Scanned its last
	// read, and Labels the lots whose labels its simulator can scan.
	Scanner bool
	Scanned *scanRead
	Labels  []lotRow
	// LotSource is how the completion takes the lot: "scanner" (the
	// server's last read from SCN-1) or "typed" (the Lot field, recorded
	// as manual entry).
	LotSource string
	ScannerID string
	// scanned is the scanner's read a completion takes, forgotten once
	// the completion is allowed.
	scanned *scanRead
}

func (a *app) stepView(ctx context.Context, batch, step string) (*stepView, error) {
	if step != weighStepID || !a.knownBatch(ctx, batch) {
		return nil, fmt.Errorf("batch %s has no step %s: %w", batch, step, errNotFound)
	}
	p := a.plant
	state, err := p.engine.State(ctx, p.steps[weighStepID], "batch/"+batch, step)
	if err != nil {
		return nil, err
	}
	v := &stepView{Batch: batch, Step: step, State: state, Tolerance: tolerance, Key: randomToken(), Live: a.live != nil,
		Path: "/batches/" + url.PathEscape(batch) + "/steps/" + url.PathEscape(step),
		Low:  tolerance.Target.Sub(tolerance.Below), High: tolerance.Target.Add(tolerance.Above), Verdicts: map[mes.Command]*mes.Verdict{},
		Scanner: a.scanner != nil, LotSource: "typed", ScannerID: scannerID}
	if a.scanner != nil {
		v.Scanned, v.LotSource = a.scanner.lastRead(), "scanner"
		rows, err := a.lotRows(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if _, ok := materialGTINs[r.Material]; ok {
				v.Labels = append(v.Labels, r)
			}
		}
	}
	return v, nil
}

// knownBatch says whether batch is on the record.
func (a *app) knownBatch(ctx context.Context, id string) bool {
	if id == "" || strings.Contains(id, "/") {
		return false
	}
	recs, err := storage.LoadPage(ctx, a.plant.store, "batch/"+id, 1, 1)
	return err == nil && len(recs) > 0
}

func (a *app) stepPage(w http.ResponseWriter, r *http.Request) {
	if a.plant.task(r.PathValue("step")) != nil {
		v, err := a.taskView(r.Context(), current(r).actor, r.PathValue("batch"), r.PathValue("step"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.render(w, r, http.StatusOK, "task", "Step "+v.Step+" of "+v.Batch, v)
		return
	}
	v, err := a.stepView(r.Context(), r.PathValue("batch"), r.PathValue("step"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderStep(w, r, http.StatusOK, v)
}

// renderStep adds the dry run of what the person could do next.
func (a *app) renderStep(w http.ResponseWriter, r *http.Request, status int, v *stepView) {
	p := a.plant
	ds, err := p.engine.Dispatch(r.Context(), current(r).actor, []mes.Subject{{Model: p.steps[weighStepID], Subject: "batch/" + v.Batch, Step: v.Step}})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := ds[0]
	v.State = d.State
	if a.live != nil && v.State == lifecycle.StepInProgress && v.Tare == "" {
		if tr, err := a.live.tareWeight(r.Context()); err != nil {
			v.Tare = "unknown (the scale did not answer)"
		} else {
			v.Tare = tr.Value.StringFixed(2) + " " + tr.Unit
		}
	}
	v.Next = append(append(v.Next, d.Allowed...), blockedCommands(d.Blocked)...)
	for _, b := range d.Blocked {
		// The screen names the scale itself; the dry run judges with it,
		// so that only what the person still has to give is listed.
		vd, err := p.engine.Check(r.Context(), mes.Request{Model: p.steps[weighStepID], Subject: "batch/" + v.Batch, Step: v.Step,
			Command: b.Command, Actor: current(r).actor, Refs: map[string]string{"scale": "SC-01"}})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if len(vd.Reasons) > 0 {
			v.Verdicts[b.Command] = vd
		}
	}
	a.render(w, r, status, "step", "Step "+v.Step+" of "+v.Batch, v)
}

func blockedCommands(bs []mes.Blocked) []mes.Command {
	out := make([]mes.Command, len(bs))
	for i, b := range bs {
		out[i] = b.Command
	}
	return out
}

// stepPost runs the command the form asks for through the engine, as the
// signed-in person. A denial is on the record and shown with its reasons.
func (a *app) stepPost(w http.ResponseWriter, r *http.Request) {
	if a.plant.task(r.PathValue("step")) != nil {
		a.taskPost(w, r, r.PathValue("batch"), r.PathValue("step"))
		return
	}
	v, err := a.stepView(r.Context(), r.PathValue("batch"), r.PathValue("step"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	actor := current(r).actor
	v.Lot, v.Weight = strings.TrimSpace(r.PostFormValue("lot")), strings.TrimSpace(r.PostFormValue("weight"))
	req := mes.Request{ID: r.PostFormValue("key"), Model: a.plant.steps[weighStepID], Subject: "batch/" + v.Batch, Step: v.Step, Actor: actor}
	if req.ID == "" {
		req.ID = randomToken()
	}
	refs := map[string]string{"scale": "SC-01"}
	action := r.PostFormValue("action")
	var lotScan gate.Evidence
	if action == "complete" || action == "complete-scale" {
		var status int
		if lotScan, status = a.lotEvidence(r, v); status != 0 {
			a.renderStep(w, r, status, v)
			return
		}
	}
	lot := lotScan.Identity
	switch action {
	case "start":
		req.Command, req.Refs = mes.CmdStart, refs
	case "complete":
		weight, err := decimal.NewFromString(v.Weight)
		if err != nil {
			v.Error = "the weight is not a number: " + v.Weight
			a.renderStep(w, r, http.StatusBadRequest, v)
			return
		}
		req.Command, req.Refs = mes.CmdComplete, refs
		req.Evidence = []gate.Evidence{lotScan, {Name: "net-weight", HasValue: true, Value: weight, Unit: "kg", Source: gate.SourceManual, Stable: true}}
		req.Consume = []event.Consumption{{Lot: lot, Quantity: weight, Unit: "kg"}}
	case "complete-scale":
		if a.live == nil {
			http.Error(w, "no scale connected", http.StatusNotFound)
			return
		}
		// The server reads the scale now; the browser's display is only
		// a display.
		rd, err := a.live.read(r.Context())
		if err != nil {
			v.Error = "the scale did not answer: " + err.Error()
			a.renderStep(w, r, http.StatusServiceUnavailable, v)
			return
		}
		// The tare in the scale's memory goes on the record with the net
		// weight, and the gross they make: the container's weight is
		// part of the weighing.
		tr, err := a.live.tareWeight(r.Context())
		if err != nil {
			v.Error = "the scale did not say its tare: " + err.Error()
			a.renderStep(w, r, http.StatusServiceUnavailable, v)
			return
		}
		v.Weight = rd.Value.String()
		req.Command, req.Refs = mes.CmdComplete, refs
		weighed, err := weigh.RouteEvidence("net-weight", tr, rd)
		if err != nil {
			v.Error = "the scale's tare and weight are not one weighing: " + err.Error()
			a.renderStep(w, r, http.StatusServiceUnavailable, v)
			return
		}
		req.Evidence = append([]gate.Evidence{lotScan}, weighed...)
		req.Consume = []event.Consumption{{Lot: lot, Quantity: rd.Value, Unit: rd.Unit}}
	case "tare":
		a.tarePost(w, r, v)
		return
	case "verify":
		req.Command = mes.CmdVerify
		req.Signatures = []mes.Sign{{Meaning: "verified", Reason: r.PostFormValue("reason"),
			Challenge: signature.Challenge{UserID: actor, Secret: signature.NewSecret(r.PostFormValue("password"))}}}
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	status := a.execute(r.Context(), req, &v.Outcome, &v.Denied, &v.Error)
	if status == http.StatusOK && v.scanned != nil {
		// The label was scanned for this weighing; the next needs its own.
		a.scanner.used(v.scanned)
		v.Scanned = a.scanner.lastRead()
	}
	a.renderStep(w, r, status, v)
}

// lotEvidence is the lot scan a completion carries: the server's last
// read from scanner SCN-1 when the form says so, or the lot typed in,
// recorded as manual entry (a keyboard-wedge scanner types too, and the
// page cannot tell it apart). Without a lot it sets v.Error and returns
// the status to answer with.
func (a *app) lotEvidence(r *http.Request, v *stepView) (gate.Evidence, int) {
	v.LotSource = r.PostFormValue("lot_source")
	switch v.LotSource {
	case "scanner":
		if a.scanner == nil {
			v.Error = "no scanner is connected: type the lot"
			return gate.Evidence{}, http.StatusConflict
		}
		rd := a.scanner.lastRead()
		switch {
		case rd == nil:
			v.Error = "scanner " + scannerID + " has read no label yet: scan the lot's label, or type the lot"
			return gate.Evidence{}, http.StatusConflict
		case rd.Err != "":
			v.Error = "scanner " + scannerID + "'s last read is not a lot label (" + rd.Err + "): scan the lot's label again"
			return gate.Evidence{}, http.StatusConflict
		case time.Since(rd.At) > scanMaxAge:
			v.Error = fmt.Sprintf("scanner %s's last read (lot %s) is %s old: scan the lot's label again", scannerID, rd.Lot, time.Since(rd.At).Round(time.Second))
			return gate.Evidence{}, http.StatusConflict
		}
		v.scanned = rd
		// The label as the scanner sent it goes on the record with the
		// lot read from it.
		return gate.Evidence{Name: "lot-scan", Identity: rd.Lot, Source: gate.SourceScanner, Instrument: scannerID,
			Raw: device.Reading{Raw: []byte(rd.Data)}.RawText(), At: rd.At}, 0
	case "typed", "":
		if v.Lot == "" {
			v.Error = "no lot: scan the lot's label, or type the lot"
			return gate.Evidence{}, http.StatusBadRequest
		}
		v.LotSource = "typed"
		return gate.Evidence{Name: "lot-scan", Identity: v.Lot, Source: gate.SourceManual}, 0
	}
	v.Error = "unknown lot source " + v.LotSource
	return gate.Evidence{}, http.StatusBadRequest
}

// tarePost tares scale SC-01 with what is on its pan, as the signed-in
// person, while the step is in progress: the server sends the command,
// never the browser. A tare is not a transition of the step, so it is
// not on the record by itself; the tare the scale holds when the step is
// completed from the scale is (see stepPost). Who tared, and what, is
// logged.
func (a *app) tarePost(w http.ResponseWriter, r *http.Request, v *stepView) {
	if a.live == nil {
		http.Error(w, "no scale connected", http.StatusNotFound)
		return
	}
	if v.State != lifecycle.StepInProgress {
		v.Error = fmt.Sprintf("the step is %s: tare the scale once the step is started, with the container on the pan", v.State)
		a.renderStep(w, r, http.StatusConflict, v)
		return
	}
	tr, err := a.live.tare(r.Context())
	switch {
	case errors.Is(err, errUnsettled):
		v.Error = "Not tared: " + err.Error()
		a.renderStep(w, r, http.StatusConflict, v)
		return
	case err != nil:
		v.Error = "Not tared: the scale did not tare: " + err.Error()
		a.renderStep(w, r, http.StatusServiceUnavailable, v)
		return
	}
	a.log.Info("scale tared", "instrument", tr.Instrument, "tare", tr.Value.String(), "unit", tr.Unit,
		"actor", current(r).actor, "subject", "batch/"+v.Batch, "step", v.Step)
	v.Tare = tr.Value.StringFixed(2) + " " + tr.Unit
	v.Outcome = "tared SC-01 at " + v.Tare + "; the scale now shows the net weight"
	a.renderStep(w, r, http.StatusOK, v)
}

// execute runs req through the engine and says what came of it.
func (a *app) execute(ctx context.Context, req mes.Request, outcome *string, denied *[]gate.Reason, msg *string) int {
	out, err := a.plant.engine.Execute(ctx, req)
	var d *mes.DeniedError
	var bad *mes.RequestError
	switch {
	case errors.As(err, &d):
		*denied = d.Reasons
		if len(d.Reasons) == 0 {
			*msg = d.Error()
		}
		return http.StatusUnprocessableEntity
	case errors.As(err, &bad):
		*msg = bad.Error()
		return http.StatusBadRequest
	case err != nil:
		*msg = err.Error()
		return http.StatusConflict
	}
	*outcome = fmt.Sprintf("%s: %s → %s", req.Command, out.From, out.To)
	for _, s := range out.Signatures {
		m := s.Manifestation
		*outcome += fmt.Sprintf("; signed by %s (%s) at %s, meaning %q", m.PrintedName, m.SignerID, m.Time.Format("2006-01-02 15:04:05 MST"), m.Meaning)
	}
	return http.StatusOK
}

func reviewOptions(p *plant) *review.Options {
	return &review.Options{SigningKeys: p.releaseCfg.SigningKeys, Attestation: p.attestation}
}

// reviewView is the QA review page.
type reviewView struct {
	Batch     string
	Report    *review.Report
	Record    *review.BatchRecord
	Readiness *release.Verdict
	Release   mes.State
	State     mes.State // the batch's
	Product   string    // the lot id the completion form proposes
	Key       string
	Outcome   string
	Denied    []gate.Reason
	Error     string
}

func (a *app) reviewView(ctx context.Context, batch string) (*reviewView, error) {
	if !a.knownBatch(ctx, batch) {
		return nil, fmt.Errorf("batch %s: %w", batch, errNotFound)
	}
	p := a.plant
	subject := "batch/" + batch
	rep, err := review.Build(ctx, p.store, subject, reviewOptions(p))
	if err != nil {
		return nil, err
	}
	ready, err := release.Readiness(ctx, p.store, subject, p.releaseCfg)
	if err != nil {
		return nil, err
	}
	rec, err := a.batchRecordOf(ctx, subject, rep)
	if err != nil {
		return nil, err
	}
	st, err := p.engine.State(ctx, p.release, subject, "")
	if err != nil {
		return nil, err
	}
	bst, err := p.engine.State(ctx, p.batch, subject, "")
	if err != nil {
		return nil, err
	}
	return &reviewView{Batch: batch, Report: rep, Record: rec, Readiness: ready, Release: st, State: bst, Product: "FG-" + strings.TrimPrefix(batch, "B-"),
		Key: randomToken()}, nil
}

func (a *app) reviewPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.reviewView(r.Context(), r.PathValue("batch"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "review", "Review of "+v.Batch, v)
}

// reviewReport is the review package's own page of the report, shown in
// a frame of the review page.
func (a *app) reviewReport(w http.ResponseWriter, r *http.Request) {
	v, err := a.reviewView(r.Context(), r.PathValue("batch"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := review.WriteHTML(w, v.Report); err != nil {
		a.log.Error("review report", "err", err)
	}
}

// releasePost releases the batch through the release model: the engine
// checks readiness, the QA role, that the signer took no part, and the
// signature's re-authentication.
func (a *app) releasePost(w http.ResponseWriter, r *http.Request) {
	v, err := a.reviewView(r.Context(), r.PathValue("batch"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	actor := current(r).actor
	req := mes.Request{ID: r.PostFormValue("key"), Model: a.plant.release, Subject: "batch/" + v.Batch, Command: mes.CmdRelease, Actor: actor,
		Signatures: []mes.Sign{{Meaning: mes.MeaningApproved, Reason: r.PostFormValue("reason"),
			Challenge: signature.Challenge{UserID: actor, Secret: signature.NewSecret(r.PostFormValue("password"))}}}}
	if req.ID == "" {
		req.ID = randomToken()
	}
	status := a.execute(r.Context(), req, &v.Outcome, &v.Denied, &v.Error)
	if nv, err := a.reviewView(r.Context(), v.Batch); err == nil {
		nv.Outcome, nv.Denied, nv.Error = v.Outcome, v.Denied, v.Error
		v = nv
	}
	a.render(w, r, status, "review", "Review of "+v.Batch, v)
}

// lotView is the genealogy page of a lot.
type lotView struct {
	Lot               string
	Info              genealogy.NodeInfo
	Backward, Forward []genealogy.Edge
	Recall            *genealogy.RecallScope
	EPCIS             string
	SVG               template.HTML // drawn here from the traces, every name escaped
	// Suppliers are the received lots the backward trace reaches, with
	// their suppliers' lot numbers: what a recall asks a supplier about.
	Suppliers []supplierLot
}

// supplierLot is a received lot in a backward trace.
type supplierLot struct {
	Lot, Material, Supplier, SupplierLot string
}

func (a *app) lotView(ctx context.Context, lot string) (*lotView, *genealogy.Trace, *genealogy.Trace, error) {
	g := a.plant.graph
	if err := g.Update(ctx); err != nil {
		return nil, nil, nil, err
	}
	node := event.LotStream(lot)
	info, ok := g.NodeInfo(node)
	if !ok {
		return nil, nil, nil, fmt.Errorf("lot %s: %w", lot, errNotFound)
	}
	back, err := g.Backward(ctx, node)
	if err != nil {
		return nil, nil, nil, err
	}
	fwd, err := g.Forward(ctx, node)
	if err != nil {
		return nil, nil, nil, err
	}
	rc, err := g.Recall(ctx, node)
	if err != nil {
		return nil, nil, nil, err
	}
	v := &lotView{Lot: lot, Info: info, Backward: back.Edges(), Forward: fwd.Edges(), Recall: rc,
		EPCIS: "/api/genealogy/" + url.PathEscape(node) + "/epcis"}
	seen := map[string]bool{}
	for _, e := range v.Backward {
		for _, n := range []string{e.From, e.To} {
			if seen[n] || n == node {
				continue
			}
			seen[n] = true
			if ni, ok := g.NodeInfo(n); ok && ni.SupplierLot != "" {
				v.Suppliers = append(v.Suppliers, supplierLot{Lot: n, Material: ni.Material, Supplier: ni.Supplier, SupplierLot: ni.SupplierLot})
			}
		}
	}
	return v, back, fwd, nil
}

func (a *app) lotPage(w http.ResponseWriter, r *http.Request) {
	v, _, _, err := a.lotView(r.Context(), r.PathValue("lot"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.SVG = template.HTML(drawGraph(event.LotStream(v.Lot), v.Backward, v.Forward))
	a.render(w, r, http.StatusOK, "lot", "Lot "+v.Lot, v)
}

// lotGraph draws the lot's backward and forward traces as one layered SVG.
func (a *app) lotGraph(w http.ResponseWriter, r *http.Request) {
	v, _, _, err := a.lotView(r.Context(), r.PathValue("lot"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(drawGraph(event.LotStream(v.Lot), v.Backward, v.Forward))
}

// auditView is the verification of the whole record.
type auditView struct {
	Report     *storage.Report
	Checkpoint bool
	Heads      int
}

func (a *app) auditPage(w http.ResponseWriter, r *http.Request) {
	p := a.plant
	cfg := storage.VerifyConfig{Attestation: p.attestation}
	if p.checkpoint != nil {
		cfg.Checkpoint, cfg.Keys = p.checkpoint, p.checkpointKeys
	}
	// A broken record comes back as the report and its first break; only
	// a failure to read (no report) is the page's failure.
	rep, err := storage.VerifyWith(r.Context(), p.store, cfg)
	if rep == nil {
		a.fail(w, r, err)
		return
	}
	v := &auditView{Report: rep, Checkpoint: p.checkpoint != nil}
	if p.checkpoint != nil {
		v.Heads = len(p.checkpoint.Heads)
	}
	a.render(w, r, http.StatusOK, "audit", "Audit", v)
}

// completePost completes the batch and produces its finished lot, as the
// signed-in person, through the batch model: operators complete, and an
// open exception that blocks or holds the batch stops it.
func (a *app) completePost(w http.ResponseWriter, r *http.Request) {
	v, err := a.reviewView(r.Context(), r.PathValue("batch"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lot := strings.TrimSpace(r.PostFormValue("lot"))
	qty, err := decimal.NewFromString(strings.TrimSpace(r.PostFormValue("quantity")))
	status := http.StatusBadRequest
	switch {
	case lot == "" || strings.Contains(lot, "/"):
		v.Error = "name the finished lot (no slash)"
	case err != nil || !qty.IsPositive():
		v.Error = "the quantity made is not a positive number: " + r.PostFormValue("quantity")
	default:
		req := mes.Request{ID: r.PostFormValue("key"), Model: a.plant.batch, Subject: "batch/" + v.Batch, Command: mes.CmdComplete,
			Actor:   current(r).actor,
			Produce: []mes.Production{{Lot: lot, Material: "TAB-500", Quantity: qty, Unit: "ea", GTIN: "09506000134352"}}}
		if req.ID == "" {
			req.ID = randomToken()
		}
		status = a.execute(r.Context(), req, &v.Outcome, &v.Denied, &v.Error)
	}
	if nv, err := a.reviewView(r.Context(), v.Batch); err == nil {
		nv.Outcome, nv.Denied, nv.Error = v.Outcome, v.Denied, v.Error
		v = nv
	}
	a.render(w, r, status, "review", "Review of "+v.Batch, v)
}
