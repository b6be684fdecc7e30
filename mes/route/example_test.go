package route_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// Example_route defines a two-step route, shows that its author cannot
// approve it, has QA approve it, and binds it for a batch.
func Example_route() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) }
	store := memory.New(&memory.Config{Clock: clock})
	engine, err := mes.New(store, &mes.Config{Clock: clock})
	if err != nil {
		log.Fatal(err)
	}
	routes, err := route.NewRegistry(engine, nil)
	if err != nil {
		log.Fatal(err)
	}
	// People are facts in their own streams; a site registers them through
	// its person model. Here they are written directly.
	for id, role := range map[string]string{"qa-anna": "qa", "qa-ben": "qa"} {
		fact := func(typ, key, value string) storage.Event {
			p, _ := json.Marshal(map[string]any{key: value, "data": map[string]string{key: value}})
			return storage.Event{Type: typ, Actor: "admin", Payload: p}
		}
		if _, err := store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: event.PersonStream(id),
			Events: []storage.Event{fact(event.PersonRegistered, "name", id), fact(event.PersonRoleGranted, "role", role)}}}}); err != nil {
			log.Fatal(err)
		}
	}

	r := &route.Route{Product: "TAB-500", Version: 1, Operations: []route.Operation{{
		ID: "OP10", Name: "Dispensing", Steps: []route.Step{
			{ID: "S10", Instructions: "Scan the API lot.", Requirements: []route.Requirement{
				route.ScanLot{Name: "api-lot", Material: "API-100"},
			}},
			{ID: "S20", Instructions: "Weigh 12.5 kg of API.", Requirements: []route.Requirement{
				route.Weigh{Name: "net-weight", Material: "API-100", Target: decimal.RequireFromString("12.5"),
					Below: decimal.RequireFromString("0.05"), Above: decimal.RequireFromString("0.05"),
					Unit: "kg", Bounds: gate.Inclusive, RequireDevice: true},
			}, Branches: []route.Branch{{
				When:          &route.Condition{Value: "net-weight", Outside: &route.Range{Min: decimal.RequireFromString("12.45"), Max: decimal.RequireFromString("12.55")}},
				OpenException: "deviation",
			}}},
		},
	}}}
	if _, err := routes.Draft(ctx, route.DraftRequest{CommandID: "draft-1", Actor: "qa-anna", Route: r}); err != nil {
		log.Fatal(err)
	}
	_, err = routes.Approve(ctx, route.VersionRequest{CommandID: "approve-1", Actor: "qa-anna", Product: "TAB-500", Version: 1})
	var denied *mes.DeniedError
	if errors.As(err, &denied) {
		fmt.Println("approval by the author denied:", denied.Reasons[0].Code)
	}
	if _, err := routes.Approve(ctx, route.VersionRequest{CommandID: "approve-2", Actor: "qa-ben", Product: "TAB-500", Version: 1}); err != nil {
		log.Fatal(err)
	}
	v, err := routes.Load(ctx, "TAB-500", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s v%d is %s: drafted by %s, approved by %s\n", v.Route.Product, v.Route.Version, v.Status, v.Drafted.Actor, v.Approved.Actor)
	next, err := v.Route.Next("S20", map[string]string{"net-weight": "12.61"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("12.61 kg at S20 opens a", next.Exception)
	binding, err := routes.Bind(ctx, "TAB-500", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a batch records", binding.Refs()[route.Ref])
	// Output:
	// approval by the author denied: duty.same-actor
	// TAB-500 v1 is approved: drafted by qa-anna, approved by qa-ben
	// 12.61 kg at S20 opens a deviation
	// a batch records route/TAB-500/v1
}
