package natsjs_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/outbox"
	"github.com/interlock-mes/interlock/outbox/natsjs"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// TestRelayKilledAndRestarted: a relay stopped at random moments without
// a flush, three times while the record grows, and started again from the
// cursor in the stream: every record is in the stream once, in order.
func TestRelayKilledAndRestarted(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		srv := startServer(t, &server.Options{Port: -1})
		js := connect(t, srv.ClientURL())
		createStream(t, js, 1)
		write(t, s, 25, 0).wait(t)
		w := write(t, s, 100, 200*time.Microsecond)
		for range 3 {
			r := testRelay(t, s, connect(t, srv.ClientURL()))
			stop := start(t, r)
			time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
			if err := stop(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v; want context.Canceled", err)
			}
		}
		w.wait(t)
		want := all(t, s)
		r := testRelay(t, s, connect(t, srv.ClientURL()))
		start(t, r)
		waitPosition(t, r, want[len(want)-1].Position)
		checkStream(t, js, want)
	})
}

// TestTwoRelays: two relays on one store and one stream publish every
// record twice; the duplicate window keeps one of each, in order.
func TestTwoRelays(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	srv := startServer(t, &server.Options{Port: -1})
	js := connect(t, srv.ClientURL())
	createStream(t, js, 1)
	w := write(t, s, 100, 100*time.Microsecond)
	a := testRelay(t, s, connect(t, srv.ClientURL()))
	b := testRelay(t, s, connect(t, srv.ClientURL()))
	start(t, a)
	start(t, b)
	w.wait(t)
	want := all(t, s)
	waitPosition(t, a, want[len(want)-1].Position)
	waitPosition(t, b, want[len(want)-1].Position)
	checkStream(t, js, want)
}

// TestBrokerRestart: the broker stops mid-load and starts again on its
// files; the relay backs off, reads its cursor and goes on.
func TestBrokerRestart(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		opts := &server.Options{ServerName: "restart", Port: freePorts(t, 1)[0]}
		srv := startServer(t, opts)
		js := connect(t, srv.ClientURL())
		createStream(t, js, 1)
		write(t, s, 5, 0).wait(t)
		r := testRelay(t, s, js)
		start(t, r)
		waitPosition(t, r, all(t, s)[19].Position)
		w := write(t, s, 100, time.Millisecond)
		time.Sleep(10 * time.Millisecond)
		underWay(t, w)
		srv.Shutdown()
		srv.WaitForShutdown()
		time.Sleep(50 * time.Millisecond)
		again := *opts
		startServer(t, &again)
		w.wait(t)
		want := all(t, s)
		waitPosition(t, r, want[len(want)-1].Position)
		checkStream(t, js, want)
	})
}

// TestClusterNodeLost: a three-node cluster with the stream on every node;
// the stream's leader is shut down mid-load. Nothing is lost, nothing is
// twice in the stream, the order holds.
func TestClusterNodeLost(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ports := freePorts(t, 3)
		var routes []string
		for _, p := range ports {
			routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
		}
		var servers []*server.Server
		var urls []string
		for i, p := range ports {
			srv := startServer(t, &server.Options{
				ServerName: "n" + strconv.Itoa(i), Port: -1,
				Cluster: server.ClusterOpts{Name: "interlock", Host: "127.0.0.1", Port: p},
				Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
			})
			servers = append(servers, srv)
			urls = append(urls, srv.ClientURL())
		}
		js := connect(t, urls...)
		createStream(t, js, 3)
		write(t, s, 5, 0).wait(t)
		r := testRelay(t, s, connect(t, urls...))
		start(t, r)
		waitPosition(t, r, all(t, s)[19].Position)
		w := write(t, s, 60, time.Millisecond)
		time.Sleep(10 * time.Millisecond)
		info, err := js.Stream(t.Context(), streamName)
		if err != nil {
			t.Fatal(err)
		}
		leader := info.CachedInfo().Cluster.Leader
		killed := false
		for _, srv := range servers {
			if srv.Name() == leader {
				srv.Shutdown()
				killed = true
			}
		}
		if !killed {
			t.Fatalf("no server is the stream's leader %q", leader)
		}
		underWay(t, w)
		w.wait(t)
		want := all(t, s)
		waitPosition(t, r, want[len(want)-1].Position)
		checkStream(t, js, want)
	})
}

// underWay fails t when the writers have finished: a failure injected
// then would prove nothing about a failure under load.
func underWay(t *testing.T, w *writers) {
	t.Helper()
	select {
	case <-w.done:
		t.Fatal("the writers finished before the failure; make the load longer")
	default:
	}
}

func TestLastChecksTheStream(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &server.Options{Port: -1})
	js := connect(t, srv.ClientURL())
	ctx := t.Context()
	last := func(stream string) (int64, error) {
		p, err := natsjs.New(js, &natsjs.Config{Stream: stream, Prefix: prefix + "." + stream})
		if err != nil {
			t.Fatal(err)
		}
		return p.Last(ctx)
	}
	mk := func(name string, edit func(*jetstream.StreamConfig)) jetstream.Stream {
		cfg := natsjs.StreamConfig(name, prefix+"."+name, time.Minute)
		if edit != nil {
			edit(&cfg)
		}
		st, err := js.CreateStream(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	mk("SUBJECTS", func(c *jetstream.StreamConfig) { c.Subjects = append(c.Subjects, "other.>") })
	if _, err := last("SUBJECTS"); !errors.Is(err, natsjs.ErrStreamConfig) || !errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("Last on a stream with another subject: %v; want ErrStreamConfig", err)
	}
	mk("WORK", func(c *jetstream.StreamConfig) { c.Retention = jetstream.WorkQueuePolicy })
	if _, err := last("WORK"); !errors.Is(err, natsjs.ErrStreamConfig) {
		t.Errorf("Last on a work queue: %v; want ErrStreamConfig", err)
	}
	if _, err := last("MISSING"); err == nil || errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("Last on a missing stream: %v; want an error worth a retry", err)
	}
	mk("EMPTY", nil)
	if n, err := last("EMPTY"); n != 0 || err != nil {
		t.Errorf("Last on a new stream = %d, %v; want 0, nil", n, err)
	}
	st := mk("PURGED", nil)
	if _, err := js.Publish(ctx, prefix+".PURGED.x", []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	if _, err := last("PURGED"); !errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("Last with a stranger's message last: %v; want ErrPermanent", err)
	}
	if err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := last("PURGED"); !errors.Is(err, natsjs.ErrCursorLost) {
		t.Errorf("Last on a purged stream: %v; want ErrCursorLost", err)
	}
}

// TestTooLargeIsPermanent: a record larger than the broker takes stops
// the relay, which cannot skip it.
func TestTooLargeIsPermanent(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &server.Options{Port: -1, MaxPayload: 1024})
	js := connect(t, srv.ClientURL())
	createStream(t, js, 1)
	s := memory.New(nil)
	_, err := s.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{
		Stream: "lot/L-1", Events: []storage.Event{{Type: "t", Actor: "a", Payload: []byte(`"` + strings.Repeat("x", 2000) + `"`)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	r := testRelay(t, s, js)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx); !errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("Run: %v; want ErrPermanent", err)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &server.Options{Port: -1})
	js := connect(t, srv.ClientURL())
	for field, c := range map[string]struct {
		js  jetstream.JetStream
		cfg *natsjs.Config
	}{
		"js":                {nil, &natsjs.Config{Stream: "S", Prefix: "p"}},
		"cfg":               {js, nil},
		"Config.Stream":     {js, &natsjs.Config{Prefix: "p"}},
		"Config.Stream.":    {js, &natsjs.Config{Stream: "a.b", Prefix: "p"}},
		"Config.Prefix":     {js, &natsjs.Config{Stream: "S"}},
		"Config.Prefix.":    {js, &natsjs.Config{Stream: "S", Prefix: "a..b"}},
		"Config.Prefix*":    {js, &natsjs.Config{Stream: "S", Prefix: "a.*"}},
		"Config.Prefix ":    {js, &natsjs.Config{Stream: "S", Prefix: "a b"}},
		"Config.AckTimeout": {js, &natsjs.Config{Stream: "S", Prefix: "p", AckTimeout: -1}},
	} {
		_, err := natsjs.New(c.js, c.cfg)
		if !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s: New: %v; want ErrInvalid", field, err)
			continue
		}
		if name := strings.TrimRight(field, ".* "); !strings.Contains(err.Error(), name) {
			t.Errorf("New: %q does not name %s", err, name)
		}
	}
}

// TestIdleRelayReadsCursorAfterReconnect: a broker that restarts while
// the relay has nothing to publish may have come back without its newest
// messages; the relay reads its cursor again before it publishes more.
func TestIdleRelayReadsCursorAfterReconnect(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	opts := &server.Options{ServerName: "idle", Port: freePorts(t, 1)[0]}
	srv := startServer(t, opts)
	js := connect(t, srv.ClientURL())
	createStream(t, js, 1)
	write(t, s, 5, 0).wait(t)
	logs := &cursorReads{}
	p, err := natsjs.New(js, &natsjs.Config{Stream: streamName, Prefix: prefix, AckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r, err := outbox.New(s, p, &outbox.Config{PollInterval: 2 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	waitPosition(t, r, all(t, s)[19].Position)
	srv.Shutdown()
	srv.WaitForShutdown()
	again := *opts
	startServer(t, &again)
	deadline := time.Now().Add(10 * time.Second)
	for js.Conn().Stats().Reconnects == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the client did not reconnect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	write(t, s, 5, 0).wait(t)
	want := all(t, s)
	waitPosition(t, r, want[len(want)-1].Position)
	if n := logs.n.Load(); n < 2 {
		t.Errorf("the relay read its cursor %d times; want again after the reconnect", n)
	}
	checkStream(t, js, want)
}

// cursorReads is a log handler that counts the relay's cursor reads.
type cursorReads struct{ n atomic.Int64 }

func (*cursorReads) Enabled(context.Context, slog.Level) bool { return true }
func (c *cursorReads) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "outbox relay cursor" {
		c.n.Add(1)
	}
	return nil
}
func (c *cursorReads) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *cursorReads) WithGroup(string) slog.Handler      { return c }
