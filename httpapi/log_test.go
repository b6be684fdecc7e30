package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a buffer a logger may write from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRequestLog: every request is one line naming its method,
// operation, status, duration, actor and command id, and no line holds
// what the request carried: not a signature's secret, a body, a bearer
// token or a query.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	var out syncBuffer
	tick := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	h := f.with(func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Clock = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			tick = tick.Add(250 * time.Millisecond)
			return tick
		}
		c.Authorize = func(_ *http.Request, actor string, op Operation) error {
			if actor == "op-7" && op == OpAuditTrail {
				return errTestRefused
			}
			return nil
		}
	})
	const leak = "hunter2-signature-secret"
	do(t, h, call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "cmd-log-1",
		body: `{"model":"batch","version":1,"command":"release","data":{"note":"` + leak + `-data"}}`})
	do(t, h, call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "cmd-log-2",
		body: `{"model":"batch","version":1,"command":"start","signatures":[{"meaning":"performed","user":"op-7","secret":"` + leak + `"}]}`})
	do(t, h, call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "rev-log",
		body: `{"sign":{"user":"qa-3","secret":"` + leak + `"}}`})
	do(t, h, get("op-7", "/audit/trail?actor="+leak))
	do(t, h, call{method: http.MethodGet, path: "/records"})
	do(t, h, get("sv-1", "/no/such/route"))

	logged := out.String()
	for _, bad := range []string{leak, "Bearer", `"note"`} {
		if strings.Contains(logged, bad) {
			t.Errorf("the log holds %q:\n%s", bad, logged)
		}
	}
	type line struct {
		Msg       string  `json:"msg"`
		Level     string  `json:"level"`
		Method    string  `json:"method"`
		Operation string  `json:"operation"`
		Status    int     `json:"status"`
		Duration  float64 `json:"duration"`
		Actor     string  `json:"actor"`
		Command   string  `json:"command"`
	}
	var requests []line
	for _, l := range strings.Split(strings.TrimSpace(logged), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if v.Msg == "httpapi: request" {
			requests = append(requests, v)
		}
	}
	want := []line{
		{Method: "POST", Operation: "execute", Status: 200, Actor: "sv-1", Command: "cmd-log-1"},
		{Method: "POST", Operation: "execute", Status: 422, Actor: "op-7", Command: "cmd-log-2"},
		{Method: "POST", Operation: "auditReview", Status: 404, Actor: "qa-3", Command: "rev-log"},
		{Method: "GET", Operation: "auditTrail", Status: 403, Actor: "op-7"},
		{Method: "GET", Operation: "records", Status: 401},
		{Method: "GET", Operation: "", Status: 404},
	}
	if len(requests) != len(want) {
		t.Fatalf("%d request lines, want %d:\n%s", len(requests), len(want), logged)
	}
	for i, w := range want {
		g := requests[i]
		if g.Level != "INFO" || g.Method != w.Method || g.Operation != w.Operation || g.Status != w.Status || g.Actor != w.Actor || g.Command != w.Command {
			t.Errorf("line %d = %+v; want %+v", i, g, w)
		}
		if g.Duration <= 0 {
			t.Errorf("line %d: duration %v; want the clock's", i, g.Duration)
		}
	}
}

var errTestRefused = errors.New("refused")

// TestTooLargeClosesConnection: a body over the limit answers 413 and
// the server closes the connection, as net/http does for a handler that
// hands MaxBytesReader its own writer; the request log's wrapper does not
// hide that writer.
func TestTooLargeClosesConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	h := f.with(func(c *Config) { c.MaxBodyBytes = 64 })
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/dispatch", strings.NewReader(`{"subjects":[`+strings.Repeat(`{"subject":"x"},`, 100)+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sv-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || !res.Close {
		t.Errorf("= %d, Connection: close %t; want 413 and the connection closed", res.StatusCode, res.Close)
	}
}
