package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/exception"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/route"
)

// postForm posts f with b's CSRF token and fails unless the answer is want.
func postForm(t *testing.T, b *browser, path string, want int, f url.Values) string {
	t.Helper()
	f.Set("csrf", b.csrf)
	status, body := b.post(path, f)
	if status != want {
		t.Fatalf("POST %s %v: %d, want %d\n%s", path, f, status, want, body)
	}
	return body
}

// TestWholeBatch runs batch B-2026-001 from its weighing to its release
// through the pages: a deviation is opened from the step, dispositioned,
// refused to its author and approved by QA; the batch completes and is
// released; the finished lot's trace names the supplier's lot.
func TestWholeBatch(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	const step = "/batches/B-2026-001/steps/S10-weigh-api"
	op := signIn(t, srv, "op-7")
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"start"}})
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"complete"}, "lot_source": {"typed"}, "lot": {"L7"}, "weight": {"12.50"}})

	body := postForm(t, op, "/exceptions", http.StatusOK, url.Values{"batch": {"B-2026-001"}, "step": {"S10-weigh-api"},
		"summary": {"powder spilled beside the scale"}, "consequence": {"none"}})
	mustContain(t, body, "opened DEV-0001", "powder spilled beside the scale", "open")

	// Mixing waits for the weighing's verification: the route has the
	// weighing next.
	const mix, pack = "/batches/B-2026-001/steps/S20-mix", "/batches/B-2026-001/steps/S30-pack"
	op.get(mix)
	body = postForm(t, op, mix, http.StatusUnprocessableEntity, url.Values{"action": {"start"}})
	mustContain(t, body, string(route.CodeOutOfOrder), "has step S10-weigh-api next")

	qa := signIn(t, srv, "qa-3")
	qa.get(step)
	postForm(t, qa, step, http.StatusOK, url.Values{"action": {"verify"}, "password": {demoPassword}})
	for _, s := range []string{mix, pack} {
		for _, action := range []string{"start", "complete"} {
			op.get(s)
			postForm(t, op, s, http.StatusOK, url.Values{"action": {action}})
		}
	}

	// The batch may not be released while the deviation is open.
	rel := signIn(t, srv, "qa-4")
	_, body = rel.get("/batches/B-2026-001/review")
	mustContain(t, body, "exception")

	sv := signIn(t, srv, "sv-1")
	sv.get("/exceptions/DEV-0001")
	body = postForm(t, sv, "/exceptions/DEV-0001", http.StatusOK, url.Values{"action": {"disposition"}, "decision": {"use-as-is"},
		"rationale": {"the spill was outside the container; the weighed powder is intact"}})
	mustContain(t, body, "dispositioned")
	// The supervisor took part: refused, on the record.
	body = postForm(t, sv, "/exceptions/DEV-0001", http.StatusUnprocessableEntity, url.Values{"action": {"approve"}, "password": {demoPassword}})
	mustContain(t, body, "Denied")
	qa.get("/exceptions/DEV-0001")
	body = postForm(t, qa, "/exceptions/DEV-0001", http.StatusOK, url.Values{"action": {"approve"}, "password": {demoPassword}})
	mustContain(t, body, "closed", "Quentin QA")

	op.get("/batches/B-2026-001/review")
	body = postForm(t, op, "/batches/B-2026-001/complete", http.StatusOK, url.Values{"lot": {"FG-2026-001"}, "quantity": {"1000"}})
	mustContain(t, body, "in-progress → complete")

	rel.get("/batches/B-2026-001/review")
	body = postForm(t, rel, "/batches/B-2026-001/release", http.StatusOK, url.Values{"password": {demoPassword}, "reason": {"reviewed"}})
	mustContain(t, body, "Rita Release")
	if st, err := p.engine.State(t.Context(), p.release, "batch/B-2026-001", ""); err != nil || st != "released" {
		t.Errorf("release state %q, %v", st, err)
	}
	_, body = rel.get("/lots/FG-2026-001")
	mustContain(t, body, `id="suppliers"`, "A-77", "ACME Pharma")
}

// TestExceptionInput: bad input is a message on the page, nothing is
// recorded, and nothing answers 500.
func TestExceptionInput(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	op := signIn(t, srv, "op-7")
	op.get("/exceptions")
	for _, tc := range []struct {
		name string
		f    url.Values
		want int
		msg  string
	}{
		{"no batch", url.Values{"batch": {"B-9"}, "summary": {"x"}, "consequence": {"none"}}, http.StatusBadRequest, "no batch"},
		{"no step", url.Values{"batch": {"B-2026-001"}, "step": {"S99"}, "summary": {"x"}, "consequence": {"none"}}, http.StatusBadRequest, "has no step"},
		{"no consequence", url.Values{"batch": {"B-2026-001"}, "summary": {"x"}, "consequence": {"explode"}}, http.StatusBadRequest, "choose what"},
		{"no summary", url.Values{"batch": {"B-2026-001"}, "summary": {""}, "consequence": {"none"}}, http.StatusBadRequest, "nothing was recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := postForm(t, op, "/exceptions", tc.want, tc.f)
			mustContain(t, body, tc.msg)
		})
	}
	heads, _ := p.streams(t.Context(), "exception/")
	if len(heads) != 0 {
		t.Errorf("bad input recorded exceptions %v", heads)
	}
	if status, _ := op.get("/exceptions/DEV-0404"); status != http.StatusNotFound {
		t.Errorf("an unknown exception: %d, want 404", status)
	}
	op.get("/exceptions")
	body := postForm(t, op, "/exceptions/DEV-0404", http.StatusNotFound, url.Values{"action": {"approve"}})
	if strings.Contains(body, "goroutine") {
		t.Error("a stack trace on the page")
	}
}

// TestHoldBatch: a deviation that holds its batch stops the weighing;
// the hold is released from the exception's page by QA.
func TestHoldBatch(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	op := signIn(t, srv, "op-7")
	op.get("/exceptions")
	body := postForm(t, op, "/exceptions", http.StatusOK, url.Values{"batch": {"B-2026-001"}, "summary": {"mixer alarm"}, "consequence": {"hold"}})
	mustContain(t, body, "opened DEV-0001")
	if st, _ := p.engine.State(t.Context(), p.batch, "batch/B-2026-001", ""); st != "held" {
		t.Fatalf("batch state %q, want held", st)
	}
	qa := signIn(t, srv, "qa-3")
	qa.get("/exceptions/DEV-0001")
	body = postForm(t, qa, "/exceptions/DEV-0001", http.StatusOK, url.Values{"action": {"release-hold"}, "reason": {"alarm cleared"}})
	mustContain(t, body, "held →")
	if st, _ := p.engine.State(t.Context(), p.batch, "batch/B-2026-001", ""); st == "held" {
		t.Fatalf("batch still held")
	}
}

// TestLotHold holds released lot L7 from the exceptions page: the step
// that would consume it is denied with the hold's code; released again,
// the lot is usable.
func TestLotHold(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	qa := signIn(t, srv, "qa-3")
	qa.get("/exceptions")
	body := postForm(t, qa, "/lots/L7/hold", http.StatusOK, url.Values{"action": {"hold"}, "reason": {"supplier recall notice"}})
	mustContain(t, body, "lot L7, hold")
	// A lot in quarantine cannot be held: a denial, not a 500.
	qa.get("/exceptions")
	postForm(t, qa, "/lots/L8/hold", http.StatusUnprocessableEntity, url.Values{"action": {"hold"}, "reason": {"x"}})
	qa.get("/exceptions")
	postForm(t, qa, "/lots/L7/hold", http.StatusBadRequest, url.Values{"action": {"release"}, "reason": {""}})

	op := signIn(t, srv, "op-7")
	const step = "/batches/B-2026-001/steps/S10-weigh-api"
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"start"}})
	op.get(step)
	body = postForm(t, op, step, http.StatusUnprocessableEntity, url.Values{"action": {"complete"}, "lot_source": {"typed"}, "lot": {"L7"}, "weight": {"12.50"}})
	mustContain(t, body, string(gate.CodeLotOnHold))

	qa.get("/exceptions")
	postForm(t, qa, "/lots/L7/hold", http.StatusOK, url.Values{"action": {"release"}, "reason": {"recall notice withdrawn"}})
	if st, _ := p.engine.State(t.Context(), p.lot, "lot/L7", ""); st != mes.State("released") {
		t.Errorf("L7 is %q after the release of its hold", st)
	}
	_ = exception.HoldLot
}

// TestOpenRetry: the same form sent twice (a double click, a retry after
// a timeout) opens one deviation.
func TestOpenRetry(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	op := signIn(t, srv, "op-7")
	op.get("/exceptions")
	f := url.Values{"key": {"k-1"}, "batch": {"B-2026-001"}, "summary": {"label misprinted"}, "consequence": {"none"}}
	postForm(t, op, "/exceptions", http.StatusOK, f)
	op.get("/exceptions")
	status, body := op.post("/exceptions", func() url.Values { f.Set("csrf", op.csrf); return f }())
	if status != http.StatusConflict || !strings.Contains(body, "nothing new was recorded") {
		t.Errorf("the second answer: %d\n%s", status, body)
	}
	if ids, _ := p.streams(t.Context(), "exception/"); len(ids) != 1 {
		t.Errorf("exceptions after a retried opening: %v (second answer %d)\n%s", ids, status, body)
	}
}

// TestBlockStep: a deviation opened from the weighing with "block"
// blocks the step through the route's model of it: it cannot be
// completed until the deviation is closed and its operator resumes it.
func TestBlockStep(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	const step = "/batches/B-2026-001/steps/S10-weigh-api"
	op := signIn(t, srv, "op-7")
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"start"}})
	op.get(step)
	body := postForm(t, op, "/exceptions", http.StatusOK, url.Values{"batch": {"B-2026-001"}, "step": {weighStepID},
		"summary": {"scale SC-01 drifted during the weighing"}, "consequence": {"block"}})
	mustContain(t, body, "opened DEV-0001")
	state := func() mes.State {
		t.Helper()
		st, err := p.engine.State(t.Context(), p.steps[weighStepID], "batch/B-2026-001", weighStepID)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state(); st != lifecycle.StepBlocked {
		t.Fatalf("the step is %s after a blocking deviation, want blocked", st)
	}
	op.get(step)
	body = postForm(t, op, step, http.StatusUnprocessableEntity, url.Values{"action": {"complete"}, "lot_source": {"typed"}, "lot": {"L7"}, "weight": {"12.50"}})
	mustContain(t, body, "Denied")
	// Not before the deviation is closed.
	_, body = op.get("/exceptions/DEV-0001")
	mustContain(t, body, `id="resume"`)
	postForm(t, op, "/exceptions/DEV-0001", http.StatusConflict, url.Values{"action": {"resume"}})

	sv := signIn(t, srv, "sv-1")
	sv.get("/exceptions/DEV-0001")
	postForm(t, sv, "/exceptions/DEV-0001", http.StatusOK, url.Values{"action": {"disposition"}, "decision": {"use-as-is"},
		"rationale": {"drift within the scale's calibration limits"}})
	qa := signIn(t, srv, "qa-3")
	qa.get("/exceptions/DEV-0001")
	postForm(t, qa, "/exceptions/DEV-0001", http.StatusOK, url.Values{"action": {"approve"}, "password": {demoPassword}})
	op.get("/exceptions/DEV-0001")
	body = postForm(t, op, "/exceptions/DEV-0001", http.StatusOK, url.Values{"action": {"resume"}})
	mustContain(t, body, "blocked → in-progress")
	if st := state(); st != lifecycle.StepInProgress {
		t.Fatalf("the step is %s after resuming, want in-progress", st)
	}
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"complete"}, "lot_source": {"typed"}, "lot": {"L7"}, "weight": {"12.50"}})
}

// TestOpenRace: someone else took the number the page counted (here
// DEV-0002, opened first while only one deviation was on the record);
// the opening is denied for it, on the record, and the page opens the
// next number instead of sending the person back.
func TestOpenRace(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	if _, err := p.exceptions.Open(t.Context(), exception.By{CommandID: "other-station", Actor: "sv-1"},
		exception.Deviation{ID: "DEV-0002", Summary: "opened elsewhere first", Subject: "batch/B-2026-001"}); err != nil {
		t.Fatal(err)
	}
	op := signIn(t, srv, "op-7")
	op.get("/exceptions")
	body := postForm(t, op, "/exceptions", http.StatusOK, url.Values{"key": {"k-race"}, "batch": {"B-2026-001"},
		"summary": {"label misprinted"}, "consequence": {"none"}})
	mustContain(t, body, "opened DEV-0003", "label misprinted")
	if ids, _ := p.streams(t.Context(), "exception/"); len(ids) != 2 {
		t.Errorf("exceptions %v, want DEV-0002 and DEV-0003", ids)
	}
	recs, err := p.store.Load(t.Context(), "exception/DEV-0002", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ds := denials(recs); len(ds) != 1 || ds[0].Actor != "op-7" {
		t.Errorf("the denied opening of the taken number: %+v, want op-7's", ds)
	}
	// The same form again records nothing new.
	op.get("/exceptions")
	if status, _ := op.post("/exceptions", url.Values{"csrf": {op.csrf}, "key": {"k-race"}, "batch": {"B-2026-001"},
		"summary": {"label misprinted"}, "consequence": {"none"}}); status != http.StatusConflict {
		t.Errorf("the form sent again: %d, want 409", status)
	}
	if ids, _ := p.streams(t.Context(), "exception/"); len(ids) != 2 {
		t.Errorf("exceptions after the form was sent again: %v", ids)
	}
	if recs, _ := p.store.Load(t.Context(), "exception/DEV-0003", 1); len(denials(recs)) != 0 {
		t.Errorf("the form sent again left a denied opening of DEV-0003: %+v", denials(recs))
	}
}
