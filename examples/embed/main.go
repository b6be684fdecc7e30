// Command embed is the engine inside a small HTTP service: the page of
// code the README shows. It keeps its record in memory (give it a
// postgres.Store instead), gates the standard batch lifecycle by role,
// attests every record, and serves Interlock's front door (package
// httpapi) with the service's own authentication and authorisation:
//
//	POST /subjects/{id}/commands  run a command (Idempotency-Key required; 422 with the reasons when denied)
//	POST /subjects/{id}/checks    would it be allowed, and if not why (nothing is written)
//	GET  /subjects/{id}/state     the subject's state (?model=batch)
//	GET  /openapi.json            every route of the front door, described
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/httpapi"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/storage/memory"
)

func main() {
	h, err := newService(context.Background(), slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}

// newService wires the engine: a store, an attestation key (from a vault
// in production), the batch model, and the people who may act.
func newService(ctx context.Context, logger *slog.Logger) (http.Handler, error) {
	store := memory.New(nil)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	attester, err := audit.NewAttester("svc-1", key)
	if err != nil {
		return nil, err
	}
	keys, err := audit.NewAttested(attester)
	if err != nil {
		return nil, err
	}
	engine, err := mes.New(store, &mes.Config{Attestation: keys, Logger: logger})
	if err != nil {
		return nil, err
	}
	batch, err := lifecycle.Batch() // every command gated by role
	if err != nil {
		return nil, err
	}
	person, err := mes.PersonModel()
	if err != nil {
		return nil, err
	}
	// Master data goes through gated commands too.
	for i, p := range []struct{ id, role string }{{"ann", "supervisor"}, {"bob", "operator"}, {"cat", "qa"}} {
		for j, c := range []struct {
			cmd  mes.Command
			data string
		}{{mes.CmdRegister, `{"name":"` + p.id + `"}`}, {mes.CmdGrantRole, `{"role":"` + p.role + `"}`}} {
			if _, err := engine.Execute(ctx, mes.Request{ID: "setup-" + string(rune('a'+i)) + string(rune('0'+j)), Model: person,
				Subject: event.PersonStream(p.id), Command: c.cmd, Actor: "admin", Data: json.RawMessage(c.data)}); err != nil {
				return nil, err
			}
		}
	}
	models, err := mes.NewRegistry(batch)
	if err != nil {
		return nil, err
	}

	// Your identity provider names the actor; a token table stands in
	// for it here. The actor is never taken from the request's body.
	tokens := map[string]string{"ann-token": "ann", "bob-token": "bob", "cat-token": "cat"}
	return httpapi.New(engine, store, &httpapi.Config{
		Models: models,
		Authenticate: func(r *http.Request) (string, error) {
			token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if actor, ok := tokens[token]; ok {
				return actor, nil
			}
			return "", errors.New("unknown bearer token")
		},
		// A coarse gate before the engine's own: only QA reads the whole
		// record and verifies it.
		Authorize: func(r *http.Request, actor string, op httpapi.Operation) error {
			switch op {
			case httpapi.OpRecords, httpapi.OpAuditTrail, httpapi.OpVerify:
				if actor != "cat" {
					return errors.New("only QA reads the whole record")
				}
			}
			return nil
		},
		Logger: logger, // a line per request: operation, status, actor; never a body
	})
}
