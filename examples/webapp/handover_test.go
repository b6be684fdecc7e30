package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestHandover: the outgoing operator lists open items per batch and
// equipment; she may not acknowledge her own handover; the incoming
// person does, with a signature, and both are on the page and on the
// record.
func TestHandover(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	op := signIn(t, srv, "op-7")
	_, body := op.get("/handover")
	mustContain(t, body, "note:batch/B-2026-001", "note:equipment/SC-01")
	postForm(t, op, "/handover", http.StatusBadRequest, url.Values{"action": {"hand-over"}})
	postForm(t, op, "/handover", http.StatusBadRequest, url.Values{"action": {"hand-over"}, "key": {"x"}})
	postForm(t, op, "/handover", http.StatusBadRequest, url.Values{"action": {"wave"}})
	body = postForm(t, op, "/handover", http.StatusOK, url.Values{"action": {"hand-over"},
		"note:batch/B-2026-001": {"weighing started, not completed"}, "note:equipment/SC-01": {"drifts: check zero before use"}})
	mustContain(t, body, "hand-over: new → handed-over", "weighing started, not completed", "drifts: check zero before use")
	ids, err := p.streams(t.Context(), handoverPrefix)
	if err != nil || len(ids) != 1 {
		t.Fatalf("handovers on the record: %v %v", ids, err)
	}
	id := ids[0]

	body = postForm(t, op, "/handover", http.StatusUnprocessableEntity, url.Values{"action": {"acknowledge"}, "handover": {id}, "password": {demoPassword}})
	mustContain(t, body, "signature.self")
	qa := signIn(t, srv, "qa-3")
	qa.get("/handover")
	body = postForm(t, qa, "/handover", http.StatusUnprocessableEntity, url.Values{"action": {"acknowledge"}, "handover": {id}, "password": {"wrong"}})
	mustContain(t, body, "Denied")
	qa.get("/handover")
	body = postForm(t, qa, "/handover", http.StatusOK, url.Values{"action": {"acknowledge"}, "handover": {id}, "password": {demoPassword}})
	mustContain(t, body, "Acknowledged by Quentin QA (qa-3)", `meaning “reviewed”`)
	qa.get("/handover")
	body = postForm(t, qa, "/handover", http.StatusBadRequest, url.Values{"action": {"acknowledge"}, "handover": {"nope"}, "password": {demoPassword}})
	mustContain(t, body, "no such handover")

	// A short key is no trouble, and the same key sent twice is one handover.
	for range 2 {
		op.get("/handover")
		postForm(t, op, "/handover", http.StatusOK, url.Values{"action": {"hand-over"}, "key": {"x"}, "note:equipment/MX-01": {"greased"}})
	}
	if ids, _ := p.streams(t.Context(), handoverPrefix); len(ids) != 2 {
		t.Errorf("handovers after a retried one: %v, want 2", ids)
	}

	recs, err := p.store.Load(t.Context(), handoverPrefix+id, 1)
	if err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, r := range recs {
		actors = append(actors, r.Actor)
	}
	if got := strings.Join(actors, " "); !strings.Contains(got, "op-7") || !strings.Contains(got, "qa-3") {
		t.Errorf("the handover's records are by %q, want op-7 and qa-3", got)
	}
}
