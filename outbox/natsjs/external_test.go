package natsjs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/outbox"
	"github.com/interlock-mes/interlock/outbox/natsjs"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// EnvNATS names a NATS server with JetStream for TestExternalServer, such
// as nats://127.0.0.1:4222; unset, the test is skipped.
const EnvNATS = "INTERLOCK_TEST_NATS_URL"

// TestExternalServer runs the relay against a server outside the test,
// the version a deployment runs rather than the one embedded, on a stream
// of its own that it deletes at the end.
func TestExternalServer(t *testing.T) {
	t.Parallel()
	url := os.Getenv(EnvNATS)
	if url == "" {
		t.Skip(EnvNATS + " is not set; set it to a NATS URL with JetStream, such as nats://127.0.0.1:4222, to run this test")
	}
	js := connect(t, url)
	var b [6]byte
	rand.Read(b[:])
	name := "INTERLOCK_TEST_" + hex.EncodeToString(b[:])
	pfx := "interlock.test." + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, natsjs.StreamConfig(name, pfx, time.Minute)); err != nil {
		t.Fatalf("create stream on %s: %v", url, err)
	}
	t.Cleanup(func() {
		if err := js.DeleteStream(context.Background(), name); err != nil {
			t.Errorf("delete stream %s: %v", name, err)
		}
	})
	var s storage.Store = memory.New(nil)
	write(t, s, 50, 0).wait(t)
	want := all(t, s)
	for range 2 { // the second relay starts from the cursor in the stream
		p, err := natsjs.New(js, &natsjs.Config{Stream: name, Prefix: pfx})
		if err != nil {
			t.Fatal(err)
		}
		r, err := outbox.New(s, p, &outbox.Config{PollInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stop := start(t, r)
		waitPosition(t, r, want[len(want)-1].Position)
		stop()
	}
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != uint64(len(want)) {
		t.Fatalf("stream holds %d messages; want %d", n, len(want))
	}
	for i, w := range want {
		m, err := st.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		env, err := outbox.Unmarshal(m.Data)
		if err != nil || env.Position != w.Position || m.Subject != pfx+"."+natsjs.Subject(w.Stream) {
			t.Fatalf("message %d: %s position %d, %v; want %s position %d", i+1, m.Subject, env.Position, err, w.Stream, w.Position)
		}
	}
}
