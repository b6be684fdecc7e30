package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
)

// The steps after the weighing: mixing on mixer MX-01 once the weighing
// is verified, and packing once the mixing is complete; the route says
// the order. Each is started and completed by an operator; the mixer
// must be ready (a PLC fault takes it out of service).
const (
	mixStepID  = "S20-mix"
	packStepID = "S30-pack"
)

// task is a step of the route that is started and completed at a button,
// with the equipment it runs on named by the server, never by the form.
type task struct {
	ID, What  string
	Equipment string // "" when it needs none
}

func newTasks() []task {
	return []task{
		{ID: mixStepID, What: "mix the blend on mixer " + mixerID, Equipment: mixerID},
		{ID: packStepID, What: "pack the tablets"},
	}
}

func (p *plant) task(id string) *task {
	for i := range p.tasks {
		if p.tasks[i].ID == id {
			return &p.tasks[i]
		}
	}
	return nil
}

// taskRequest is the command cmd of task t on batch, by actor, run by
// the route's model of the step.
func (p *plant) taskRequest(t *task, batch, actor string, cmd mes.Command) mes.Request {
	req := mes.Request{Model: p.steps[t.ID], Subject: batch, Step: t.ID, Command: cmd, Actor: actor}
	if t.Equipment != "" {
		req.Refs = map[string]string{"equipment": t.Equipment}
	}
	return req
}

// taskView is the page of a task.
type taskView struct {
	Result
	Batch, Step, What string
	State             mes.State
	// Next is the command the step waits for, and Reasons why the
	// engine would refuse it now (its dry run, with the equipment the
	// server names): none when it would be allowed.
	Next    mes.Command
	Reasons []gate.Reason
	Key     string
}

func (a *app) taskView(ctx context.Context, actor, batch, step string) (*taskView, error) {
	p := a.plant
	t := p.task(step)
	if t == nil || !a.knownBatch(ctx, batch) {
		return nil, fmt.Errorf("batch %s has no step %s: %w", batch, step, errNotFound)
	}
	st, err := p.engine.State(ctx, p.steps[t.ID], "batch/"+batch, step)
	if err != nil {
		return nil, err
	}
	v := &taskView{Batch: batch, Step: step, What: t.What, State: st, Key: randomToken()}
	switch st {
	case lifecycle.StepPending:
		v.Next = mes.CmdStart
	case lifecycle.StepInProgress:
		v.Next = mes.CmdComplete
	default:
		return v, nil
	}
	verdict, err := p.engine.Check(ctx, p.taskRequest(t, "batch/"+batch, actor, v.Next))
	if err != nil {
		return nil, err
	}
	v.Reasons = verdict.Reasons
	return v, nil
}

// taskPost starts or completes a task through the engine.
func (a *app) taskPost(w http.ResponseWriter, r *http.Request, batch, step string) {
	ctx := r.Context()
	actor := current(r).actor
	v, err := a.taskView(ctx, actor, batch, step)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var cmd mes.Command
	switch r.PostFormValue("action") {
	case "start":
		cmd = mes.CmdStart
	case "complete":
		cmd = mes.CmdComplete
	default:
		v.Error = "unknown action"
		a.render(w, r, http.StatusBadRequest, "task", "Step "+step+" of "+batch, v)
		return
	}
	req := a.plant.taskRequest(a.plant.task(step), "batch/"+batch, actor, cmd)
	if req.ID = r.PostFormValue("key"); req.ID == "" {
		req.ID = randomToken()
	}
	status := a.execute(ctx, req, &v.Outcome, &v.Denied, &v.Error)
	if nv, err := a.taskView(ctx, actor, batch, step); err == nil {
		nv.Result = v.Result
		v = nv
	}
	a.render(w, r, status, "task", "Step "+step+" of "+batch, v)
}

// stepLink is the page of a step of a batch.
func stepLink(batch, step string) string {
	return "/batches/" + url.PathEscape(batch) + "/steps/" + url.PathEscape(step)
}
