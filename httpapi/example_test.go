package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/httpapi"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/storage/memory"
)

// An integrator mounts the front door under /api/ of their own service,
// with their own authentication: here an API token per person. The actor
// of every command is whoever the token names; the body cannot say
// otherwise.
func Example() {
	ctx := context.Background()
	store := memory.New(nil)
	engine, err := mes.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	batch, err := lifecycle.Batch()
	if err != nil {
		log.Fatal(err)
	}
	person, err := mes.PersonModel()
	if err != nil {
		log.Fatal(err)
	}
	// Master data goes through the engine too: ann is a supervisor.
	for i, c := range []struct {
		cmd  mes.Command
		data string
	}{{mes.CmdRegister, `{"name":"Ann"}`}, {mes.CmdGrantRole, `{"role":"supervisor"}`}} {
		if _, err := engine.Execute(ctx, mes.Request{ID: fmt.Sprint("setup-", i), Model: person, Subject: event.PersonStream("ann"),
			Command: c.cmd, Actor: "admin", Data: json.RawMessage(c.data)}); err != nil {
			log.Fatal(err)
		}
	}
	models, err := mes.NewRegistry(batch, person)
	if err != nil {
		log.Fatal(err)
	}

	tokens := map[string]string{"t-ann": "ann", "t-bob": "bob"} // the integrator's own identity store
	api, err := httpapi.New(engine, store, &httpapi.Config{
		Models: models,
		Authenticate: func(r *http.Request) (string, error) {
			actor, ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			if !ok {
				return "", fmt.Errorf("unknown token")
			}
			return actor, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(token, key, command string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/subjects/batch-B42/commands",
			strings.NewReader(`{"model":"batch","command":"`+command+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			To       string           `json:"to"`
			Replayed bool             `json:"replayed"`
			Type     string           `json:"type"`
			Reasons  []httpapi.Reason `json:"reasons"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			log.Fatal(err)
		}
		switch {
		case res.StatusCode == http.StatusOK:
			fmt.Printf("%d %s → %s (replayed %t)\n", res.StatusCode, command, body.To, body.Replayed)
		case body.Type == httpapi.TypeDenied:
			fmt.Printf("%d %s denied: %s\n", res.StatusCode, command, body.Reasons[0].Code)
		default:
			fmt.Printf("%d %s\n", res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	send("t-ann", "cmd-1", "release")
	send("t-ann", "cmd-1", "release") // a retry: the recorded outcome, nothing written
	send("t-bob", "cmd-2", "start")   // bob holds no operator role
	send("t-eve", "cmd-3", "start")   // nobody the integrator knows
	// Output:
	// 200 release → ready (replayed false)
	// 200 release → ready (replayed true)
	// 422 start denied: role.missing
	// 401 application/problem+json
}

// Config.Authorize is the integrator's coarse gate, asked before anything
// runs: here only QA may sign off an audit review or read the whole
// record. The engine's gates still decide every command it lets
// through.
func ExampleConfig_authorize() {
	roles := map[string]string{"ann": "supervisor", "cat": "qa"} // the integrator's own directory
	authorize := func(r *http.Request, actor string, op httpapi.Operation) error {
		switch op {
		case httpapi.OpAuditReview, httpapi.OpRecords, httpapi.OpAuditTrail:
			if roles[actor] != "qa" {
				return fmt.Errorf("%s is not QA", actor)
			}
		}
		return nil
	}
	store := memory.New(nil)
	engine, err := mes.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	batch, err := lifecycle.Batch()
	if err != nil {
		log.Fatal(err)
	}
	models, err := mes.NewRegistry(batch)
	if err != nil {
		log.Fatal(err)
	}
	api, err := httpapi.New(engine, store, &httpapi.Config{
		Models:       models,
		Authenticate: func(r *http.Request) (string, error) { return r.Header.Get("X-Demo-User"), nil },
		Authorize:    authorize,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, actor := range []string{"ann", "cat"} {
		req := httptest.NewRequest(http.MethodGet, "/records", nil)
		req.Header.Set("X-Demo-User", actor)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		var p httpapi.Problem
		json.Unmarshal(rec.Body.Bytes(), &p)
		fmt.Println(actor, rec.Code, p.Type)
	}
	// Output:
	// ann 403 tag:interlock-mes.github.io,2026:problem:forbidden
	// cat 200
}
