package mqtt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/interlock-mes/interlock/edge/mqtt"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/mes/packml"
	"github.com/interlock-mes/interlock/mes/weigh"
)

// guard bounds every wait on the broker; the tests assert no timing.
const guard = 15 * time.Second

// brokerURL returns the test broker, INTERLOCK_TEST_MQTT_URL or
// tcp://127.0.0.1:1883. It skips the test when the broker is unreachable,
// and fails it under CI=true.
func brokerURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("INTERLOCK_TEST_MQTT_URL")
	if u == "" {
		u = "tcp://127.0.0.1:1883"
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("INTERLOCK_TEST_MQTT_URL %q: %v", u, err)
	}
	c, err := net.DialTimeout("tcp", pu.Host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("MQTT broker %s unreachable under CI=true: %v", u, err)
		}
		t.Skipf("MQTT broker %s unreachable (%v); start Mosquitto or set INTERLOCK_TEST_MQTT_URL", u, err)
	}
	c.Close()
	return u
}

func unique(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// bench is a plant on a fresh engine, an ingester for site "s1" under a
// prefix of the test's own, a publisher, and the dead letters and results
// as they come.
type bench struct {
	env      *mestest.Env
	broker   string
	cfg      mqtt.Config
	in       *mqtt.Ingester
	pub      paho.Client
	results  chan mqtt.Result
	dead     chan mqtt.DeadLetter
	prefix   string
	weigh    *mes.Model
	mu       sync.Mutex
	bindings int
}

// newBench builds the plant and its weigh step (SC-01 calibrated with a
// minimum weight of 0.5 kg), starts step S10 of batch-B42 on SC-01 with
// lot L7 as op-7, and connects the publisher and the dead-letter
// subscriber. bind is the Binder; nil binds the weigh step (SC-01) and the
// PackML model (PK-01).
func newBench(t *testing.T, bind mqtt.Binder) *bench {
	t.Helper()
	b := &bench{broker: brokerURL(t), prefix: "itest-" + unique(t),
		results: make(chan mqtt.Result, 64), dead: make(chan mqtt.DeadLetter, 64)}
	b.env = mestest.New(t, nil).Plant()
	b.env.Fact("equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid",
		"due": mestest.Now.Add(30 * 24 * time.Hour), "min_weight": "0.5", "min_weight_unit": "kg"})
	b.weigh = mestest.Must[*mes.Model](t)(weigh.Step(weigh.Spec{Name: "weigh-API-100", Version: 1, Material: "API-100",
		Role: "operator", Skill: "dispensing", Tolerance: gate.Tolerance{Target: mestest.Decimal(t, "12.50"),
			Below: mestest.Decimal(t, "0.05"), Above: mestest.Decimal(t, "0.05"), Unit: "kg", Bounds: gate.Inclusive}}))
	if _, err := b.env.Engine.Execute(t.Context(), mes.Request{ID: "start-S10", Model: b.weigh, Subject: "batch-B42", Step: "S10",
		Command: mes.CmdStart, Actor: "op-7", Refs: map[string]string{"lot": "L7", "scale": "SC-01"},
		Evidence: []gate.Evidence{mestest.Scan("L7")}}); err != nil {
		t.Fatalf("start S10: %v", err)
	}
	if bind == nil {
		bind = b.bind
	}
	b.cfg = mqtt.Config{Broker: b.broker, ClientID: b.prefix + "-ingester", Prefix: b.prefix, Site: "s1",
		Equipment: []string{"SC-01", "PK-01"}, Binder: bind, Clock: b.env.Clock.Now,
		RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond,
		OnHandled: func(r mqtt.Result) { b.results <- r }}
	b.pub = connect(t, b.broker, b.prefix+"-pub", true)
	t.Cleanup(func() { b.pub.Disconnect(100) })
	tok := b.pub.Subscribe(b.prefix+"/s1/deadletter", 1, func(_ paho.Client, m paho.Message) {
		var dl mqtt.DeadLetter
		if err := json.Unmarshal(m.Payload(), &dl); err != nil {
			t.Errorf("dead letter %s: %v", m.Payload(), err)
		}
		b.dead <- dl
	})
	if !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("subscribe to dead letters: %v", tok.Error())
	}
	t.Cleanup(func() {
		// End the ingester's persistent session at the broker.
		connect(t, b.broker, b.cfg.ClientID, true).Disconnect(100)
	})
	return b
}

// bind is the plant's Binder: SC-01 completes step S10 of batch-B42,
// consuming the net weight from L7; PK-01 runs the PackML model on its
// equipment stream.
func (b *bench) bind(_ context.Context, m *mqtt.Message) (mes.Request, error) {
	b.mu.Lock()
	b.bindings++
	b.mu.Unlock()
	switch {
	case m.Equipment == "SC-01" && m.Reading != nil:
		return mes.Request{Model: b.weigh, Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete,
			Actor: "op-7", Refs: map[string]string{"lot": "L7", "scale": "SC-01"},
			Consume: []event.Consumption{{Lot: "L7", Quantity: m.Reading.Value, Unit: m.Reading.Unit}}}, nil
	case m.Equipment == "PK-01" && m.Change != nil:
		model, err := packml.Model()
		return mes.Request{Model: model, Subject: event.EquipmentStream("PK-01") + "-packml"}, err
	}
	return mes.Request{}, mqtt.ErrUnbound
}

func connect(t *testing.T, broker, id string, clean bool) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(clean))
	if tok := c.Connect(); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

// running is an ingester's Run in its goroutine.
type running struct {
	cancel func()
	done   chan struct{} // closed when Run returned
	err    error         // what Run returned, once done is closed
}

// start runs an ingester on cfg until the test ends, or until its
// cancel; it waits for its subscriptions.
func (b *bench) start(t *testing.T, exec mqtt.Executor) *running {
	t.Helper()
	in, err := mqtt.New(exec, &b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.in = in
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() { r.err = in.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if r.err != nil {
			t.Errorf("Run: %v", r.err)
		}
	})
	select {
	case <-in.Subscribed():
	case <-r.done:
		t.Fatalf("Run: %v", r.err)
	case <-time.After(guard):
		t.Fatal("no subscription")
	}
	return r
}

func (b *bench) publish(t *testing.T, equipment string, kind mqtt.Kind, payload string) {
	t.Helper()
	topic := b.prefix + "/s1/" + equipment + "/" + string(kind)
	if tok := b.pub.Publish(topic, 1, false, payload); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("publish on %s: %v", topic, tok.Error())
	}
}

func (b *bench) result(t *testing.T) mqtt.Result {
	t.Helper()
	select {
	case r := <-b.results:
		return r
	case <-time.After(guard):
		t.Fatal("no message handled")
	}
	panic("unreachable")
}

func (b *bench) deadLetter(t *testing.T) mqtt.DeadLetter {
	t.Helper()
	select {
	case dl := <-b.dead:
		return dl
	case <-time.After(guard):
		t.Fatal("no dead letter")
	}
	panic("unreachable")
}

func (b *bench) records(t *testing.T, stream string) []string {
	t.Helper()
	recs, err := b.env.Store.Load(t.Context(), stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	return types
}

// reading is SC-01's weighing of 12.500 kg net on a 1.250 kg tare.
const reading = `{"id":"SC-01-0001","instrument":"SC-01","value":"12.500","unit":"kg","stable":true,
	"tare":{"value":"1.250","stable":true},"time":"2026-11-25T08:59:58Z","raw":"S S     12.500 kg"}`

// TestReadingCompletesWeighing: a stable weighing within tolerance,
// published by scale SC-01, completes step S10 through the engine, with
// the device's tare, gross and net on the record.
func TestReadingCompletesWeighing(t *testing.T) {
	t.Parallel()
	b := newBench(t, nil)
	b.start(t, b.env.Engine)
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	r := b.result(t)
	if r.DeadLetter != nil {
		t.Fatalf("dead-lettered: %+v", r.DeadLetter)
	}
	if r.Outcome == nil || !r.Outcome.Allowed || r.Outcome.To != lifecycle.StepComplete {
		t.Fatalf("outcome %+v; want S10 complete", r.Outcome)
	}
	if r.CommandID != "mqtt:s1/SC-01/reading/SC-01-0001" {
		t.Errorf("command id %q", r.CommandID)
	}
	recs, err := b.env.Store.Load(t.Context(), "batch-B42", 1)
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if last.Type != "step.completed" {
		t.Fatalf("last record %s, want step.completed", last.Type)
	}
	var ev []gate.Evidence
	if err := json.Unmarshal(last.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range ev {
		if e.Source != gate.SourceDevice || e.Instrument != "SC-01" {
			t.Errorf("evidence %s from %s %s; want device SC-01", e.Name, e.Source, e.Instrument)
		}
		got[e.Name] = e.Value.String() + " " + e.Unit
	}
	for name, want := range map[string]string{"tare": "1.25 kg", "gross": "13.75 kg", "net": "12.5 kg"} {
		if got[name] != want {
			t.Errorf("evidence %s = %q, want %q", name, got[name], want)
		}
	}
	if !strings.Contains(string(last.Payload), `"device_time":"2026-11-25T08:59:58Z"`) {
		t.Errorf("payload %s does not keep the device's time", last.Payload)
	}
}

// TestUncalibratedScaleDenied: once SC-01's calibration is overdue, its
// reading is denied by the engine, the denial is on the record, and the
// message is dead-lettered with the gate's code.
func TestUncalibratedScaleDenied(t *testing.T) {
	t.Parallel()
	b := newBench(t, nil)
	b.env.Clock.Advance(31 * 24 * time.Hour)
	b.start(t, b.env.Engine)
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	dl := b.deadLetter(t)
	if dl.Code != mqtt.CodeDenied || dl.CommandID != "mqtt:s1/SC-01/reading/SC-01-0001" || dl.MessageID != "SC-01-0001" {
		t.Fatalf("dead letter %+v; want denied, with the command and message ids", dl)
	}
	if dl.Topic != b.prefix+"/s1/SC-01/reading" || string(dl.Payload) != reading {
		t.Errorf("dead letter keeps topic %q, payload %q; want the original", dl.Topic, dl.Payload)
	}
	found := false
	for _, r := range dl.Reasons {
		found = found || r.Code == gate.CodeCalibrationOverdue
	}
	if !found {
		t.Errorf("reasons %+v lack %s", dl.Reasons, gate.CodeCalibrationOverdue)
	}
	types := b.records(t, "batch-B42")
	if types[len(types)-1] != event.Denied {
		t.Errorf("records %v; want the denial last", types)
	}
	if r := b.result(t); r.DeadLetter == nil || r.Outcome == nil || r.Outcome.Allowed {
		t.Errorf("result %+v; want a recorded denial", r)
	}
}

// TestMalformedAndUnauthorised: every message that is not a well-formed
// payload of an allowed equipment is dead-lettered with its reason; none
// reaches the Binder or the record.
func TestMalformedAndUnauthorised(t *testing.T) {
	t.Parallel()
	b := newBench(t, nil)
	b.cfg.MaxPayload = 512
	b.start(t, b.env.Engine)
	before := b.records(t, "batch-B42")
	cases := []struct {
		equipment string
		payload   string
		code      mqtt.Code
		reason    string
	}{
		{"SC-01", `{"id":"m1",`, mqtt.CodeMalformed, "unexpected EOF"},
		{"SC-01", `{"id":"m2","instrument":"SC-01","value":"1","unit":"kg","stable":true,"time":"2026-11-25T09:00:00Z","colour":"red"}`, mqtt.CodeMalformed, `unknown field "colour"`},
		{"SC-01", `{"id":"m3","instrument":"SC-01","value":"1","stable":true,"time":"2026-11-25T09:00:00Z"}`, mqtt.CodeMalformed, "unit: missing"},
		{"SC-01", `{"id":"m4","instrument":"SC-01","value":"12,5","unit":"kg","stable":true,"time":"2026-11-25T09:00:00Z"}`, mqtt.CodeMalformed, "not a decimal"},
		{"SC-01", `{"id":"m5","instrument":"SC-01","value":12.5,"unit":"kg","stable":true,"time":"2026-11-25T09:00:00Z"}`, mqtt.CodeMalformed, "value"},
		{"SC-01", `{"instrument":"SC-01","value":"1","unit":"kg","stable":true,"time":"2026-11-25T09:00:00Z"}`, mqtt.CodeMalformed, "id: missing"},
		{"SC-01", `{"id":"m7","raw":"` + strings.Repeat("x", 600) + `"}`, mqtt.CodeOversized, "over the limit of 512"},
		{"SC-01", `{"id":"m8","instrument":"SC-02","value":"12.5","unit":"kg","stable":true,"time":"2026-11-25T09:00:00Z"}`, mqtt.CodeUnauthorised, `names "SC-02"`},
		{"SC-99", `{"id":"m9","instrument":"SC-99","value":"12.5","unit":"kg","stable":true,"time":"2026-11-25T09:00:00Z"}`, mqtt.CodeUnauthorised, "not in the allow-list"},
		{"PK-01", `{"id":"m10","equipment":"PK-01","from":"Idle","to":"Exploded","time":"2026-11-25T09:00:00Z"}`, mqtt.CodeMalformed, "not a PackML state"},
	}
	for _, c := range cases {
		kind := mqtt.KindReading
		if c.equipment == "PK-01" {
			kind = mqtt.KindState
		}
		b.publish(t, c.equipment, kind, c.payload)
	}
	got := map[string]mqtt.DeadLetter{}
	for range cases {
		dl := b.deadLetter(t)
		if dl.Code == mqtt.CodeOversized {
			if len(dl.Payload) != 512 || dl.PayloadSize <= 600 {
				t.Errorf("oversized: %d of %d bytes passed on; want the first 512 of them", len(dl.Payload), dl.PayloadSize)
			}
			dl.Payload = []byte(`{"id":"m7","raw":"` + strings.Repeat("x", 600) + `"}`)
		}
		got[string(dl.Payload)] = dl
	}
	for _, c := range cases {
		dl, ok := got[c.payload]
		switch {
		case !ok:
			t.Errorf("%.40s: no dead letter", c.payload)
		case dl.Code != c.code || !strings.Contains(dl.Reason, c.reason):
			t.Errorf("%.40s: dead letter %s %q; want %s with %q", c.payload, dl.Code, dl.Reason, c.code, c.reason)
		case dl.Topic != b.prefix+"/s1/"+c.equipment+"/reading" && dl.Topic != b.prefix+"/s1/"+c.equipment+"/state":
			t.Errorf("%.40s: topic %q", c.payload, dl.Topic)
		}
	}
	if b.bindings != 0 {
		t.Errorf("the Binder was asked %d times; want never", b.bindings)
	}
	if after := b.records(t, "batch-B42"); len(after) != len(before) {
		t.Errorf("records went from %v to %v", before, after)
	}
}

// TestUnbound: a reading from equipment nothing runs on is dead-lettered.
func TestUnbound(t *testing.T) {
	t.Parallel()
	b := newBench(t, func(context.Context, *mqtt.Message) (mes.Request, error) {
		return mes.Request{}, errors.Join(errors.New("no batch on SC-01"), mqtt.ErrUnbound)
	})
	b.start(t, b.env.Engine)
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	if dl := b.deadLetter(t); dl.Code != mqtt.CodeUnbound || !strings.Contains(dl.Reason, "no batch on SC-01") {
		t.Errorf("dead letter %+v; want unbound", dl)
	}
}

// TestPackMLStates: a state change the record allows is recorded; a
// change from a state the record does not hold is denied and on the
// record; a jump no command explains is dead-lettered.
func TestPackMLStates(t *testing.T) {
	t.Parallel()
	b := newBench(t, nil)
	b.start(t, b.env.Engine)
	state := func(id, from, to string) string {
		return `{"id":"` + id + `","equipment":"PK-01","from":"` + from + `","to":"` + to + `","time":"2026-11-25T09:00:00Z"}`
	}
	b.publish(t, "PK-01", mqtt.KindState, state("p1", "Stopped", "Resetting"))
	if r := b.result(t); r.DeadLetter != nil || r.Outcome.To != packml.Resetting || r.Outcome.Records[0].Actor != "device:PK-01" {
		t.Fatalf("Stopped -> Resetting: %+v %+v", r.DeadLetter, r.Outcome)
	}
	b.publish(t, "PK-01", mqtt.KindState, state("p2", "Idle", "Starting"))
	dl := b.deadLetter(t)
	if dl.Code != mqtt.CodeDenied || len(dl.Reasons) == 0 || dl.Reasons[0].Code != mes.CodeIllegalTransition {
		t.Errorf("Start in Resetting: %+v; want denied, %s", dl, mes.CodeIllegalTransition)
	}
	b.publish(t, "PK-01", mqtt.KindState, state("p3", "Idle", "Execute"))
	if dl := b.deadLetter(t); dl.Code != mqtt.CodeUnexplained {
		t.Errorf("Idle -> Execute: %+v; want unexplained", dl)
	}
	types := b.records(t, event.EquipmentStream("PK-01")+"-packml")
	if len(types) != 2 || types[1] != event.Denied {
		t.Errorf("records %v; want the reset and the denied start", types)
	}
}

// crashing runs a command through the engine and then stops its
// ingester, as a crash between the append and the acknowledgement would.
type crashing struct {
	exec   mqtt.Executor
	cancel func()
}

func (c *crashing) Execute(ctx context.Context, req mes.Request) (*mes.Outcome, error) {
	out, err := c.exec.Execute(ctx, req)
	if err != nil {
		return out, err
	}
	c.cancel()
	return nil, errors.New("crashed before the acknowledgement")
}

// TestRedeliveryWritesOnce: an ingester that stops after the engine
// recorded a message but before it acknowledged it leaves the message
// with the broker; the next ingester on the same session gets it again,
// and the engine replays it. The same message published twice replays
// too. One completion is on the record.
func TestRedeliveryWritesOnce(t *testing.T) {
	t.Parallel()
	b := newBench(t, nil)
	crash := &crashing{exec: b.env.Engine}
	run := b.start(t, crash)
	crash.cancel = run.cancel
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	select {
	case <-run.done:
		if run.err != nil {
			t.Fatalf("Run: %v", run.err)
		}
	case <-time.After(guard):
		t.Fatal("the crashing ingester did not stop")
	}
	select {
	case r := <-b.results:
		t.Fatalf("the crashed ingester handled %+v", r)
	default:
	}
	once := b.records(t, "batch-B42")

	b.start(t, b.env.Engine)
	r := b.result(t)
	if r.DeadLetter != nil || r.Outcome == nil || !r.Outcome.Replayed || !r.Outcome.Allowed {
		t.Fatalf("redelivered: %+v; want the completion replayed", r)
	}
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	if r := b.result(t); r.DeadLetter != nil || !r.Outcome.Replayed {
		t.Fatalf("published again: %+v; want the completion replayed", r)
	}
	after := b.records(t, "batch-B42")
	completed := 0
	for _, ty := range after {
		if ty == "step.completed" {
			completed++
		}
	}
	if len(after) != len(once) || completed != 1 {
		t.Errorf("records %v after the crash, %v after the redeliveries; want one completion, written once", once, after)
	}
}

// TestDeviceActorMeetsContextLock: a step started by an operator is bound
// to that operator, so a reading run with the device as its actor is
// denied by the engine's context lock and dead-lettered; the Binder must
// name the operator running the step at the equipment.
func TestDeviceActorMeetsContextLock(t *testing.T) {
	t.Parallel()
	var b *bench
	b = newBench(t, func(ctx context.Context, m *mqtt.Message) (mes.Request, error) {
		req, err := b.bind(ctx, m)
		req.Actor = ""
		return req, err
	})
	b.start(t, b.env.Engine)
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	dl := b.deadLetter(t)
	if dl.Code != mqtt.CodeDenied || len(dl.Reasons) != 1 || dl.Reasons[0].Code != mes.CodeContextOperator {
		t.Fatalf("dead letter %+v; want denied by %s", dl, mes.CodeContextOperator)
	}
	if r := b.result(t); r.Outcome == nil || r.Outcome.Records[0].Actor != "device:SC-01" {
		t.Errorf("result %+v; want the denial recorded with actor device:SC-01", r)
	}
}

// TestRunLeavesNoGoroutine: once Run returns, none of its goroutines, nor
// the MQTT client's, is left.
func TestRunLeavesNoGoroutine(t *testing.T) {
	// Not parallel: it reads every goroutine of the test binary.
	b := newBench(t, nil)
	run := b.start(t, b.env.Engine)
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	b.result(t)
	b.pub.Disconnect(100)
	run.cancel()
	<-run.done
	stuck := ""
	for deadline := time.Now().Add(guard); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if stuck = ""; strings.Contains(stacks, "paho.mqtt.golang") || strings.Contains(stacks, "edge/mqtt.(*Ingester)") {
			stuck = stacks
			continue
		}
		break
	}
	if stuck != "" {
		t.Errorf("goroutines left after Run returned:\n%s", stuck)
	}
}

// TestReusedMessageIDRefused: a message id that comes back with other
// content is not a redelivery; the engine refuses it and decides
// nothing, and it is dead-lettered as refused.
func TestReusedMessageIDRefused(t *testing.T) {
	t.Parallel()
	b := newBench(t, nil)
	b.start(t, b.env.Engine)
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	if r := b.result(t); r.DeadLetter != nil {
		t.Fatalf("first: %+v", r.DeadLetter)
	}
	before := b.records(t, "batch-B42")
	b.publish(t, "SC-01", mqtt.KindReading, strings.Replace(reading, `"12.500"`, `"12.490"`, 1))
	dl := b.deadLetter(t)
	if dl.Code != mqtt.CodeRefused || !strings.Contains(dl.Reason, "retry must repeat its request") {
		t.Errorf("dead letter %s %q; want refused as a reused command id", dl.Code, dl.Reason)
	}
	if after := b.records(t, "batch-B42"); len(after) != len(before) {
		t.Errorf("records went from %v to %v", before, after)
	}
}

// flaky fails its first call as a store that is down would, deciding
// nothing.
type flaky struct {
	exec  mqtt.Executor
	calls int
}

func (f *flaky) Execute(ctx context.Context, req mes.Request) (*mes.Outcome, error) {
	f.calls++
	if f.calls == 1 {
		return nil, errors.New("store unreachable")
	}
	return f.exec.Execute(ctx, req)
}

// TestPassingFailureRetried: a message whose command failed for a
// reason that may pass is tried again, not dead-lettered, and recorded.
func TestPassingFailureRetried(t *testing.T) {
	t.Parallel()
	b := newBench(t, nil)
	f := &flaky{exec: b.env.Engine}
	b.start(t, f)
	b.publish(t, "SC-01", mqtt.KindReading, reading)
	r := b.result(t)
	if r.DeadLetter != nil || r.Outcome == nil || !r.Outcome.Allowed || r.Outcome.Replayed {
		t.Fatalf("result %+v; want recorded on the second try", r)
	}
	if f.calls != 2 {
		t.Errorf("%d calls; want 2", f.calls)
	}
	select {
	case dl := <-b.dead:
		t.Errorf("dead-lettered: %+v", dl)
	default:
	}
}
