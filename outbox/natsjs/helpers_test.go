package natsjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/outbox"
	"github.com/interlock-mes/interlock/outbox/natsjs"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

const (
	streamName = "INTERLOCK"
	prefix     = "interlock.test"
)

// recordStreams are the record's streams the tests write: names with "/",
// a space, dots, a wildcard character and a non-ASCII letter, each with
// its own writer.
var recordStreams = []string{"lot/L-1", "batch/B 7.2", "equipment/scale*1>", "person/ana/é"}

// stores runs f on the memory store, and on Postgres when the test
// database is configured.
func stores(t *testing.T, f func(t *testing.T, s storage.Store)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, memory.New(nil))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		f(t, s)
	})
}

// startServer starts a server with JetStream on opts, filling in what a
// test server needs, and shuts it down when t ends.
func startServer(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host = "127.0.0.1"
	opts.JetStream = true
	opts.NoLog, opts.NoSigs = true, true
	if opts.StoreDir == "" {
		opts.StoreDir = t.TempDir()
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("server %s not ready", opts.ServerName)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// connect returns a JetStream client on urls that reconnects without end.
func connect(t testing.TB, urls ...string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// createStream makes the relay's stream, retrying while a cluster elects
// its leader.
func createStream(t testing.TB, js jetstream.JetStream, replicas int) {
	t.Helper()
	cfg := natsjs.StreamConfig(streamName, prefix, time.Minute)
	cfg.Replicas = replicas
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.CreateStream(ctx, cfg)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create stream: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testRelay is a relay on a publisher of js, with test timings.
func testRelay(t testing.TB, s storage.Reader, js jetstream.JetStream) *outbox.Relay {
	t.Helper()
	p, err := natsjs.New(js, &natsjs.Config{Stream: streamName, Prefix: prefix, AckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r, err := outbox.New(s, p, &outbox.Config{BatchSize: 16, PollInterval: 2 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs r until the returned stop is called; stop cancels it as a
// kill would (no flush) and returns Run's error.
func start(t testing.TB, r *outbox.Relay) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// writers appends perStream events to each of recordStreams, one writer
// per stream, and closes the returned channel when they are done.
type writers struct {
	done chan struct{}
	errs chan error
	n    sync.WaitGroup
}

func write(t testing.TB, s storage.Store, perStream int, pause time.Duration) *writers {
	t.Helper()
	w := &writers{done: make(chan struct{}), errs: make(chan error, len(recordStreams))}
	heads, err := s.Heads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]int64{}
	for _, h := range heads {
		versions[h.Stream] = h.Version
	}
	for _, stream := range recordStreams {
		w.n.Add(1)
		go func(stream string, v int64) {
			defer w.n.Done()
			for i := range perStream {
				_, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{
					Stream: stream, ExpectedVersion: v,
					Events: []storage.Event{{Type: "test.noted", Actor: "tester", Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}},
				}}})
				if err != nil {
					w.errs <- fmt.Errorf("append %s: %w", stream, err)
					return
				}
				v++
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}(stream, versions[stream])
	}
	go func() { w.n.Wait(); close(w.done) }()
	return w
}

func (w *writers) wait(t testing.TB) {
	t.Helper()
	<-w.done
	select {
	case err := <-w.errs:
		t.Fatal(err)
	default:
	}
}

// all returns every record of s, in global order.
func all(t testing.TB, s storage.Reader) []audit.Record {
	t.Helper()
	var out []audit.Record
	for {
		after := int64(0)
		if len(out) > 0 {
			after = out[len(out)-1].Position
		}
		page, err := s.ReadAll(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
	}
}

// waitPosition waits until r has published up to position.
func waitPosition(t testing.TB, r *outbox.Relay, position int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.Position() < position {
		if time.Now().After(deadline) {
			t.Fatalf("relay at %d after 30 s; want %d", r.Position(), position)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkStream reads every message of the relay's stream and checks it
// against the record: each record once, in global order (and so in
// version order per stream), on its subject, with its id, its hash
// recomputable from the envelope.
func checkStream(t testing.TB, js jetstream.JetStream, want []audit.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, streamName)
	if err != nil {
		t.Fatal(err)
	}
	info := st.CachedInfo()
	if info.State.Msgs != uint64(len(want)) {
		t.Errorf("stream holds %d messages; the record has %d", info.State.Msgs, len(want))
	}
	var buf []byte
	i := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		env, err := outbox.Unmarshal(m.Data)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		if i >= len(want) {
			t.Fatalf("message %d is %s version %d (position %d), past the record's end", seq, env.Stream, env.Version, env.Position)
		}
		w := &want[i]
		if env.Position != w.Position || env.Stream != w.Stream || env.Version != w.Version {
			t.Fatalf("message %d is %s version %d (position %d); want %s version %d (position %d)",
				seq, env.Stream, env.Version, env.Position, w.Stream, w.Version, w.Position)
		}
		if want := prefix + "." + natsjs.Subject(w.Stream); m.Subject != want {
			t.Errorf("message %d on %q; want %q", seq, m.Subject, want)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != w.Hash.String() {
			t.Errorf("message %d has id %q; want %s", seq, id, w.Hash)
		}
		rec := env.Record()
		var h audit.Hash
		if h, buf, err = audit.ComputeHash(buf, &rec); err != nil || h != w.Hash {
			t.Errorf("message %d: hash from the envelope %v, %v; want %v", seq, h, err, w.Hash)
		}
		i++
	}
	if i != len(want) {
		t.Errorf("stream holds %d records; want %d", i, len(want))
	}
}
