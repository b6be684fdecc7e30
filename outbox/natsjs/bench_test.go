package natsjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/interlock-mes/interlock/outbox"
	"github.com/interlock-mes/interlock/outbox/natsjs"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// BenchmarkRelay measures the relay's throughput to an embedded server
// with a file-backed stream: b.N records on eight streams, a small
// payload each, already in the memory store when the clock starts.
func BenchmarkRelay(b *testing.B) {
	s := memory.New(nil)
	const streams = 8
	var last int64
	for i := range b.N {
		stream := fmt.Sprintf("batch/B-%d", i%streams)
		res, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: stream, ExpectedVersion: int64(i / streams),
			Events: []storage.Event{{Type: "step.completed", Actor: "op:ana", Payload: json.RawMessage(fmt.Sprintf(`{"step":%d,"weight":"12.500 kg"}`, i))}},
		}}})
		if err != nil {
			b.Fatal(err)
		}
		last = res.Records[0].Position
	}
	srv := startServer(b, &server.Options{Port: -1})
	js := connect(b, srv.ClientURL())
	createStream(b, js, 1)
	p, err := natsjs.New(js, &natsjs.Config{Stream: streamName, Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	r, err := outbox.New(s, p, &outbox.Config{PollInterval: 100 * time.Microsecond})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	begin := time.Now()
	stop := start(b, r)
	for r.Position() < last {
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
