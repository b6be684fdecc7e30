package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/exception"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/signature"
)

// Result is what came of a write: done, denied with reasons (on the
// record), or refused with a message (nothing recorded).
type Result struct {
	Outcome string
	Denied  []gate.Reason
	Error   string
}

// explain says what came of running a command, and the status the page
// answers with: 422 for a denial, 400 for bad input, 404 for something
// that does not exist, 409 for anything else. Never a 500: a failure of
// the store is a message on the page like any other.
func (res *Result) explain(cmd mes.Command, out *mes.Outcome, err error) int {
	var d *mes.DeniedError
	var bad *mes.RequestError
	var in *exception.InputError
	var nr *exception.NotResumableError
	switch {
	case errors.As(err, &d):
		res.Denied = d.Reasons
		if len(d.Reasons) == 0 {
			res.Error = d.Error()
		}
		return http.StatusUnprocessableEntity
	case errors.As(err, &in):
		res.Error = "nothing was recorded: " + strings.Join(in.Problems, "; ")
		return http.StatusBadRequest
	case errors.As(err, &bad):
		res.Error = bad.Error()
		return http.StatusBadRequest
	case errors.As(err, &nr):
		res.Error = nr.Error()
		return http.StatusConflict
	case errors.Is(err, mes.ErrCommandReused):
		res.Error = "this form was sent already: nothing new was recorded; the page shows what the first sending did"
		return http.StatusConflict
	case errors.Is(err, exception.ErrNotFound):
		res.Error = err.Error()
		return http.StatusNotFound
	case err != nil:
		res.Error = err.Error()
		return http.StatusConflict
	case out == nil:
		return http.StatusOK
	}
	res.Outcome = fmt.Sprintf("%s: %s → %s", cmd, out.From, out.To)
	if out.Replayed {
		res.Outcome += " (done before; nothing recorded again)"
	}
	for _, s := range out.Signatures {
		m := s.Manifestation
		res.Outcome += fmt.Sprintf("; signed by %s (%s) at %s, meaning %q", m.PrintedName, m.SignerID, m.Time.Format("2006-01-02 15:04:05 MST"), m.Meaning)
	}
	return http.StatusOK
}

// lotRow is a lot on the exceptions page: its state, for holds.
type lotRow struct {
	ID       string
	Material string
	State    mes.State
}

// exceptionsView is the exceptions page: every exception on the record,
// the form to open a deviation, and the lots to hold or release.
type exceptionsView struct {
	Result
	Exceptions []*exception.Exception
	Batches    []string
	Lots       []lotRow
	Steps      []string
	Kinds      []exception.DispositionKind
	Key        string
	// The form's values, kept when it comes back with a message.
	Batch, Step, Summary, Consequence string
}

func (a *app) exceptionsView(ctx context.Context) (*exceptionsView, error) {
	p := a.plant
	v := &exceptionsView{Key: randomToken(), Steps: []string{weighStepID, mixStepID, packStepID}, Kinds: exception.DispositionKinds()}
	ids, err := p.streams(ctx, event.ExceptionStream(""))
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		x, err := p.exceptions.Get(ctx, id)
		if errors.Is(err, exception.ErrNotFound) {
			continue // a stream with only a denied opening
		}
		if err != nil {
			return nil, err
		}
		v.Exceptions = append(v.Exceptions, x)
	}
	if v.Batches, err = p.streams(ctx, "batch/"); err != nil {
		return nil, err
	}
	if v.Lots, err = a.lotRows(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// lotRows lists the lots on the record with their state, as the engine
// folds it.
func (a *app) lotRows(ctx context.Context) ([]lotRow, error) {
	p := a.plant
	ids, err := p.streams(ctx, event.LotStream(""))
	if err != nil {
		return nil, err
	}
	if err := p.graph.Update(ctx); err != nil {
		return nil, err
	}
	var out []lotRow
	for _, id := range ids {
		st, err := p.engine.State(ctx, p.lot, event.LotStream(id), "")
		if err != nil {
			return nil, err
		}
		info, _ := p.graph.NodeInfo(event.LotStream(id))
		out = append(out, lotRow{ID: id, Material: info.Material, State: st})
	}
	return out, nil
}

func (a *app) exceptionsPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.exceptionsView(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "exceptions", "Exceptions", v)
}

// consequences are those the page offers: a deviation blocks nothing
// (release waits for its closing), blocks the step it names (the route's
// step model has a block of its own) or the batch, or holds the batch.
var consequences = map[string]exception.Consequence{"none": exception.ConsequenceNone, "block": exception.ConsequenceBlock,
	"hold": exception.ConsequenceHold}

// maxOpenAttempts bounds how many numbers one opening tries when others
// take them first.
const maxOpenAttempts = 4

// openPost opens a deviation on a batch (and one of its steps), by the
// signed-in person, through the exception service.
func (a *app) openPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, err := a.exceptionsView(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Batch, v.Step = strings.TrimSpace(r.PostFormValue("batch")), strings.TrimSpace(r.PostFormValue("step"))
	v.Summary, v.Consequence = strings.TrimSpace(r.PostFormValue("summary")), r.PostFormValue("consequence")
	cons, ok := consequences[v.Consequence]
	switch {
	case !slices.Contains(v.Batches, v.Batch):
		v.Error = fmt.Sprintf("there is no batch %q on the record", v.Batch)
	case v.Step != "" && a.plant.steps[v.Step] == nil:
		v.Error = fmt.Sprintf("batch %s has no step %q", v.Batch, v.Step)
	case !ok:
		v.Error = "choose what the deviation does: nothing, block the step (or the batch), or hold the batch"
	}
	if v.Error != "" {
		a.render(w, r, http.StatusBadRequest, "exceptions", "Exceptions", v)
		return
	}
	key := r.PostFormValue("key")
	if key == "" {
		key = randomToken()
	}
	// The next free number. Two people opening at once count the same
	// deviations: the second's opening is denied, the number being taken
	// (the denial is on the record), and it opens the next number as a
	// command of its own. The form's key stays the first attempt's, so a
	// form sent twice still records nothing new.
	attemptKey := func(attempt int) string {
		if attempt == 0 {
			return key
		}
		return fmt.Sprintf("%s~%d", key, attempt)
	}
	// A form sent again opens nothing, under whichever number its first
	// sending took (the opening's marker on the batch names its command).
	recs, err := a.plant.engine.Records(ctx, "batch/"+v.Batch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for attempt := range maxOpenAttempts {
		if mes.CommandRecorded(recs, attemptKey(attempt)) {
			v.Error = "this form was sent before and opened its deviation then: nothing new was recorded"
			a.render(w, r, http.StatusConflict, "exceptions", "Exceptions", v)
			return
		}
	}
	var (
		id     string
		opened *exception.Opened
	)
	for attempt := 0; ; attempt++ {
		id = fmt.Sprintf("DEV-%04d", len(v.Exceptions)+1+attempt)
		by := exception.By{CommandID: attemptKey(attempt), Actor: current(r).actor}
		opened, err = a.plant.exceptions.Open(ctx, by, exception.Deviation{
			ID: id, Summary: v.Summary, Subject: "batch/" + v.Batch, Step: v.Step, Consequence: cons})
		var denied *mes.DeniedError
		if attempt < maxOpenAttempts-1 && errors.As(err, &denied) && denied.Illegal != nil && (opened == nil || opened.Exception == nil || !opened.Exception.Allowed) {
			continue
		}
		break
	}
	var out *mes.Outcome
	if opened != nil {
		out = opened.Exception
	}
	status := v.explain(exception.CmdOpen, out, err)
	if opened != nil && opened.Exception != nil && opened.Exception.Allowed {
		v.Outcome = "opened " + id + ": " + v.Outcome
		if opened.NotApplied != "" {
			v.Outcome += "; its consequence was not applied: " + opened.NotApplied
		}
		// The exception's own page, with what was done.
		xv, xerr := a.exceptionView(ctx, id)
		if xerr == nil {
			xv.Result = v.Result
			a.render(w, r, status, "exception", "Exception "+id, xv)
			return
		}
	}
	if nv, err := a.exceptionsView(ctx); err == nil {
		nv.Result, nv.Batch, nv.Step, nv.Summary, nv.Consequence = v.Result, v.Batch, v.Step, v.Summary, v.Consequence
		v = nv
	}
	a.render(w, r, status, "exceptions", "Exceptions", v)
}

// exceptionView is the page of one exception.
type exceptionView struct {
	Result
	X     *exception.Exception
	Kinds []exception.DispositionKind
	Key   string
	// Held is set when the exception held its batch and the batch is
	// still held: the page offers to release the hold.
	Held bool
	// Blocked is set when the exception blocked its step (or batch) and
	// it is still blocked: once the exception is closed, the page offers
	// to resume it.
	Blocked bool
}

func (a *app) exceptionView(ctx context.Context, id string) (*exceptionView, error) {
	x, err := a.plant.exceptions.Get(ctx, id)
	if errors.Is(err, exception.ErrNotFound) {
		return nil, fmt.Errorf("exception %s: %w", id, errNotFound)
	}
	if err != nil {
		return nil, err
	}
	v := &exceptionView{X: x, Kinds: exception.DispositionKinds(), Key: randomToken()}
	if x.Consequence == exception.ConsequenceHold && strings.HasPrefix(x.Subject, "batch/") {
		st, err := a.plant.engine.State(ctx, a.plant.batch, x.Subject, "")
		if err != nil {
			return nil, err
		}
		v.Held = st == "held"
	}
	if x.Consequence == exception.ConsequenceBlock {
		m, step := a.plant.batch, ""
		if x.Step != "" {
			m, step = a.plant.steps[x.Step], x.Step
		}
		if m == nil {
			return nil, fmt.Errorf("exception %s blocks step %s, which the route has no model for", id, x.Step)
		}
		st, err := a.plant.engine.State(ctx, m, x.Subject, step)
		if err != nil {
			return nil, err
		}
		v.Blocked = st == lifecycle.StepBlocked || st == lifecycle.BatchBlocked
	}
	return v, nil
}

func (a *app) exceptionPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.exceptionView(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "exception", "Exception "+v.X.ID, v)
}

// exceptionPost moves an exception on: a disposition, its approval with
// an e-signature (the engine refuses anyone who took part), its rejection,
// or the release of the hold it placed on its batch.
func (a *app) exceptionPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	v, err := a.exceptionView(ctx, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	actor := current(r).actor
	by := exception.By{CommandID: r.PostFormValue("key"), Actor: actor}
	if by.CommandID == "" {
		by.CommandID = randomToken()
	}
	x := a.plant.exceptions
	var (
		cmd mes.Command
		out *mes.Outcome
	)
	switch r.PostFormValue("action") {
	case "disposition":
		cmd = exception.CmdDisposition
		out, err = x.Disposition(ctx, by, id, exception.Disposition{Decision: exception.DispositionKind(r.PostFormValue("decision")),
			Rationale: strings.TrimSpace(r.PostFormValue("rationale")), CAPA: strings.TrimSpace(r.PostFormValue("capa"))})
	case "approve":
		cmd = exception.CmdApprove
		out, err = x.Approve(ctx, by, id, mes.Sign{Meaning: mes.MeaningApproved, Reason: r.PostFormValue("reason"),
			Challenge: signature.Challenge{UserID: actor, Secret: signature.NewSecret(r.PostFormValue("password"))}})
	case "reject":
		cmd = exception.CmdReject
		out, err = x.Reject(ctx, by, id, strings.TrimSpace(r.PostFormValue("reason")))
	case "resume":
		cmd = mes.CmdUnblock
		out, err = x.Resume(ctx, by, id)
	case "release-hold":
		cmd = mes.CmdRestart
		out, err = x.ReleaseHold(ctx, by, exception.Hold{Target: exception.HoldBatch, ID: v.X.Subject,
			Reason: strings.TrimSpace(r.PostFormValue("reason")), Exception: id})
	default:
		v.Error = "unknown action"
		a.render(w, r, http.StatusBadRequest, "exception", "Exception "+id, v)
		return
	}
	status := v.explain(cmd, out, err)
	if nv, err := a.exceptionView(ctx, id); err == nil {
		nv.Result = v.Result
		v = nv
	}
	a.render(w, r, status, "exception", "Exception "+id, v)
}

// lotHoldPost holds a released lot or releases its hold, by the signed-in
// person, through the lot's model: every gate that reads the lot blocks
// from then on.
func (a *app) lotHoldPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, err := a.exceptionsView(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lot := r.PathValue("lot")
	if !containsLot(v.Lots, lot) {
		a.fail(w, r, fmt.Errorf("lot %s: %w", lot, errNotFound))
		return
	}
	by := exception.By{CommandID: r.PostFormValue("key"), Actor: current(r).actor}
	if by.CommandID == "" {
		by.CommandID = randomToken()
	}
	h := exception.Hold{Target: exception.HoldLot, ID: lot, Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	var (
		cmd mes.Command
		out *mes.Outcome
	)
	switch r.PostFormValue("action") {
	case "hold":
		cmd = mes.CmdHold
		out, err = a.plant.exceptions.PlaceHold(ctx, by, h)
	case "release":
		cmd = mes.CmdReleaseHold
		out, err = a.plant.exceptions.ReleaseHold(ctx, by, h)
	default:
		v.Error = "unknown action"
		a.render(w, r, http.StatusBadRequest, "exceptions", "Exceptions", v)
		return
	}
	status := v.explain(cmd, out, err)
	if status == http.StatusOK {
		v.Outcome = "lot " + lot + ", " + v.Outcome
	}
	if nv, err := a.exceptionsView(ctx); err == nil {
		nv.Result = v.Result
		v = nv
	}
	a.render(w, r, status, "exceptions", "Exceptions", v)
}

func containsLot(ls []lotRow, id string) bool {
	for _, l := range ls {
		if l.ID == id {
			return true
		}
	}
	return false
}

// exceptionLink is the page of exception id.
func exceptionLink(id string) string { return "/exceptions/" + url.PathEscape(id) }
