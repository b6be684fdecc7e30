// Command embed is the engine inside a small HTTP service: the page of
// code the README shows. It keeps its record in memory (give it a
// postgres.Store instead), gates the standard batch lifecycle by role,
// attests every record, and answers three requests:
//
//	POST /batches/{id}/{command}?actor=…   run the command (201, or 409 with the reasons)
//	GET  /batches/{id}/check/{command}?actor=…  would it be allowed, and if not why (nothing is written)
//	GET  /batches/{id}                      the batch's state
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

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
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

	mux := http.NewServeMux()
	request := func(r *http.Request, cmd string) mes.Request {
		return mes.Request{ID: r.Header.Get("Idempotency-Key"), Model: batch, Subject: "batch/" + r.PathValue("id"),
			Command: mes.Command(cmd), Actor: r.URL.Query().Get("actor")}
	}
	mux.HandleFunc("POST /batches/{id}/{command}", func(w http.ResponseWriter, r *http.Request) {
		out, err := engine.Execute(r.Context(), request(r, r.PathValue("command")))
		var denied *mes.DeniedError
		var invalid *mes.RequestError
		switch {
		case errors.As(err, &denied):
			reply(w, http.StatusConflict, denied.Reasons)
		case errors.As(err, &invalid):
			reply(w, http.StatusBadRequest, invalid.Error())
		case err != nil: // storage.ErrOutcomeUnknown included: retry with the same key
			reply(w, http.StatusServiceUnavailable, err.Error())
		default:
			reply(w, http.StatusCreated, out.To)
		}
	})
	mux.HandleFunc("GET /batches/{id}/check/{command}", func(w http.ResponseWriter, r *http.Request) {
		v, err := engine.Check(r.Context(), request(r, r.PathValue("command")))
		if err != nil {
			reply(w, http.StatusBadRequest, err.Error())
			return
		}
		reply(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /batches/{id}", func(w http.ResponseWriter, r *http.Request) {
		state, err := engine.State(r.Context(), batch, "batch/"+r.PathValue("id"), "")
		if err != nil {
			reply(w, http.StatusInternalServerError, err.Error())
			return
		}
		reply(w, http.StatusOK, state)
	})
	return mux, nil
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
