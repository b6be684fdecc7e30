package natsjs_test

import (
	"context"
	"log"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/interlock-mes/interlock/outbox"
	"github.com/interlock-mes/interlock/outbox/natsjs"
	"github.com/interlock-mes/interlock/storage"
)

// A service relays its record to JetStream: the stream is made once (or
// by the broker's operator, with the same rules), then the relay runs
// until the service stops.
func Example() {
	var store storage.Reader // the service's store, such as postgres.New(...)
	ctx := context.Background()

	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	cfg := natsjs.StreamConfig("INTERLOCK", "interlock.plant1", 10*time.Minute)
	cfg.Replicas = 3
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		log.Fatal(err)
	}
	sink, err := natsjs.New(js, &natsjs.Config{Stream: "INTERLOCK", Prefix: "interlock.plant1"})
	if err != nil {
		log.Fatal(err)
	}
	relay, err := outbox.New(store, sink, &outbox.Config{Logger: slog.Default()})
	if err != nil {
		log.Fatal(err)
	}
	// Consumers subscribe to interlock.plant1.lot.> for every lot.
	if err := relay.Run(ctx); err != nil {
		log.Fatal(err) // ErrPermanent: the record cannot move on without a person
	}
}
