package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/interlock-mes/interlock/mes"
)

// model looks up the model a query names, by name and, when given,
// version; field is where the name was given.
func (h *Handler) model(name, version, field string) (*mes.Model, *problem) {
	if name == "" {
		return nil, invalid(field, "no model named")
	}
	if version == "" {
		if m, ok := h.cfg.Models.Latest(name); ok {
			return m, nil
		}
		p := newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no model %q", name))
		p.Field = field
		return nil, p
	}
	v, err := strconv.Atoi(version)
	if err != nil || v < 1 {
		return nil, invalid("version", "version must be a positive integer, not %q", version)
	}
	m, ok := h.cfg.Models.Model(name, v)
	if !ok {
		p := newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no model %q version %d", name, v))
		p.Field = field
		return nil, p
	}
	return m, nil
}

// running returns the model a subject runs when err says that it runs
// another version of the model than m, and the registry has that version:
// a request that names no version means the one the subject runs.
func (h *Handler) running(err error, m *mes.Model) (*mes.Model, bool) {
	var mv *mes.ModelVersionError
	if !errors.As(err, &mv) || mv.Model != m.Name() {
		return nil, false
	}
	return h.cfg.Models.Model(mv.Model, mv.Running)
}

// stateBody is where a subject stands.
type stateBody struct {
	Subject string     `json:"subject"`
	Step    string     `json:"step,omitempty"`
	Model   string     `json:"model"`
	Version int        `json:"version"`
	State   string     `json:"state"`
	At      *time.Time `json:"at,omitempty"`
}

// state answers State, or StateAt with ?at=.
func (h *Handler) state(w http.ResponseWriter, r *http.Request, _ string) *problem {
	q := r.URL.Query()
	m, p := h.model(q.Get("model"), q.Get("version"), "model")
	if p != nil {
		return p
	}
	at, hasAt, p := instant(r)
	if p != nil {
		return p
	}
	subject, step := r.PathValue("subject"), q.Get("step")
	var s mes.State
	var err error
	fold := func() {
		if hasAt {
			s, err = h.engine.StateAt(r.Context(), m, subject, step, at)
		} else {
			s, err = h.engine.State(r.Context(), m, subject, step)
		}
	}
	fold()
	if run, ok := h.running(err, m); ok && q.Get("version") == "" {
		m = run
		fold()
	}
	if err != nil {
		return h.answer(r, err)
	}
	if s == m.Initial() && !hasAt {
		// A subject stands in its initial state until its first record;
		// one that has none is unknown, as it is before that record.
		recs, err := h.store.Load(r.Context(), subject, 1)
		if err != nil {
			return h.answer(r, err)
		}
		if len(recs) == 0 {
			p := newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no record names %q", subject))
			p.Field = "subject"
			return p
		}
	}
	out := &stateBody{Subject: subject, Step: step, Model: m.Name(), Version: m.Version(), State: string(s)}
	if hasAt {
		out.At = &at
	}
	return ok(w, out)
}

// dispatchBody asks what the caller could do with each subject.
type dispatchBody struct {
	Subjects []dispatchSubject `json:"subjects"`
}

type dispatchSubject struct {
	Subject string `json:"subject"`
	Step    string `json:"step"`
	Model   string `json:"model"`
	Version int    `json:"version"`
}

type dispatchAnswer struct {
	Actor    string          `json:"actor"`
	Subjects []dispatchEntry `json:"subjects"`
}

type dispatchEntry struct {
	Subject string         `json:"subject"`
	Step    string         `json:"step,omitempty"`
	State   string         `json:"state"`
	Allowed []string       `json:"allowed"`
	Blocked []blockedEntry `json:"blocked"`
}

type blockedEntry struct {
	Command string   `json:"command"`
	Reasons []Reason `json:"reasons"`
	// AwaitsInput: every reason is input not given yet (mes.Blocked.AwaitsInput).
	AwaitsInput bool `json:"awaits_input"`
}

// dispatch answers Dispatch for the authenticated caller.
func (h *Handler) dispatch(w http.ResponseWriter, r *http.Request, actor string) *problem {
	var b dispatchBody
	if p := h.decode(w, r, &b); p != nil {
		return p
	}
	if len(b.Subjects) == 0 {
		return invalid("subjects", "name at least one subject")
	}
	if len(b.Subjects) > h.cfg.MaxSubjects {
		return invalid("subjects", "%d subjects is over the limit of %d", len(b.Subjects), h.cfg.MaxSubjects)
	}
	subjects := make([]mes.Subject, len(b.Subjects))
	for i, s := range b.Subjects {
		field := fmt.Sprintf("subjects[%d]", i)
		if s.Subject == "" {
			return invalid(field+".subject", "no subject")
		}
		version := ""
		if s.Version != 0 {
			version = strconv.Itoa(s.Version)
		}
		m, p := h.model(s.Model, version, field+".model")
		if p != nil {
			return p
		}
		subjects[i] = mes.Subject{Model: m, Subject: s.Subject, Step: s.Step}
	}
	ds, err := h.engine.Dispatch(r.Context(), actor, subjects)
	// Each subject that runs another version than the latest, and named
	// none, is asked again under the version it runs.
	for range subjects {
		var mv *mes.ModelVersionError
		if !errors.As(err, &mv) {
			break
		}
		changed := false
		for i, s := range subjects {
			if s.Subject == mv.Stream && b.Subjects[i].Version == 0 {
				if run, ok := h.running(err, s.Model); ok && run != s.Model {
					subjects[i].Model, changed = run, true
				}
			}
		}
		if !changed {
			break
		}
		ds, err = h.engine.Dispatch(r.Context(), actor, subjects)
	}
	if err != nil {
		return h.answer(r, err)
	}
	out := &dispatchAnswer{Actor: actor, Subjects: make([]dispatchEntry, len(ds))}
	for i, d := range ds {
		e := dispatchEntry{Subject: d.Subject, Step: d.Step, State: string(d.State), Allowed: commands(d.Allowed), Blocked: []blockedEntry{}}
		for _, bl := range d.Blocked {
			e.Blocked = append(e.Blocked, blockedEntry{Command: string(bl.Command), Reasons: reasons(bl.Reasons), AwaitsInput: bl.AwaitsInput()})
		}
		out.Subjects[i] = e
	}
	return ok(w, out)
}
