package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/packml"
)

// Ingester subscribes to device messages and runs each through the engine
// (see the package doc). Make one with New and start it with Run.
type Ingester struct {
	exec    Executor
	cfg     Config
	allowed map[string]bool
	root    string // "<prefix>/<site>/"
	dead    string // the dead-letter topic

	running    atomic.Bool
	mu         sync.Mutex
	queue      []paho.Message
	signal     chan struct{} // a message was queued
	subscribed chan struct{} // closed once the first subscription is granted
	subOnce    sync.Once
	subErr     chan error
}

// New returns an Ingester that runs messages through exec (a *mes.Engine).
// It returns an error matching ErrConfig that names every wrong field of
// cfg, and an error when exec is nil. It does not connect: Run does.
func New(exec Executor, cfg *Config) (*Ingester, error) {
	if exec == nil {
		return nil, errors.New("mqtt: New: exec is nil")
	}
	if cfg == nil {
		return nil, fmt.Errorf("mqtt: New: %w", &ConfigError{Field: "", Reason: "nil; Broker, ClientID, Site, Equipment and Binder are required"})
	}
	c := *cfg
	c.Equipment = slices.Clone(cfg.Equipment)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("mqtt: New: %w", err)
	}
	in := &Ingester{exec: exec, cfg: c, allowed: map[string]bool{},
		root:   c.Prefix + "/" + c.Site + "/",
		signal: make(chan struct{}, 1), subscribed: make(chan struct{}), subErr: make(chan error, 1)}
	in.dead = in.root + "deadletter"
	for _, e := range c.Equipment {
		in.allowed[e] = true
	}
	return in, nil
}

// DeadLetterTopic returns the topic dead letters are published on.
func (in *Ingester) DeadLetterTopic() string { return in.dead }

// Topic returns the topic equipment publishes messages of kind k on.
func (in *Ingester) Topic(equipment string, k Kind) string {
	return in.root + equipment + "/" + string(k)
}

// Subscribed returns a channel that is closed once Run's subscriptions are
// granted: from then on, the broker keeps messages for the session.
func (in *Ingester) Subscribed() <-chan struct{} { return in.subscribed }

// Run connects, subscribes, and handles messages one at a time, in the
// order they arrive, until ctx ends; then it disconnects and returns nil,
// leaving any message it had not finished unacknowledged for the broker to
// deliver again. It returns an error when the first connection or the
// subscription fails, and when Run is already running.
func (in *Ingester) Run(ctx context.Context) error {
	if !in.running.CompareAndSwap(false, true) {
		return errors.New("mqtt: Run: already running")
	}
	defer in.running.Store(false)
	// Messages left in the queue belong to this connection; their
	// acknowledgements could not reach the next one, and the broker
	// delivers them again to the next session.
	defer in.drop()
	log := in.cfg.Logger

	opts := paho.NewClientOptions().
		AddBroker(in.cfg.Broker).
		SetClientID(in.cfg.ClientID).
		SetUsername(in.cfg.Username).
		SetPassword(in.cfg.Password).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		// Order matters: handle takes messages in the order they came, and
		// enqueue never blocks, so the client's router is never held up.
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectTimeout(in.cfg.ConnectTimeout).
		// A resumed session delivers before the subscription is renewed:
		// the default handler takes those messages too.
		SetDefaultPublishHandler(in.enqueue).
		SetOnConnectHandler(func(c paho.Client) { go in.subscribe(ctx, c) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			log.LogAttrs(ctx, slog.LevelWarn, "mqtt: connection lost", slog.String("error", err.Error()))
		})
	if in.cfg.TLS != nil {
		opts.SetTLSConfig(in.cfg.TLS)
	}
	client := paho.NewClient(opts)
	tok := client.Connect()
	if err := wait(ctx, tok, in.cfg.ConnectTimeout); err != nil {
		return fmt.Errorf("mqtt: connect %s: %w", in.cfg.Broker, err)
	}
	defer client.Disconnect(250)
	log.LogAttrs(ctx, slog.LevelDebug, "mqtt: connected", slog.String("broker", in.cfg.Broker), slog.String("client_id", in.cfg.ClientID))

	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-in.subErr:
			return err
		case <-in.signal:
		}
		for {
			m, ok := in.next()
			if !ok {
				break
			}
			if !in.handle(ctx, client, m) {
				return nil
			}
		}
	}
}

// wait waits for tok, for at most d, or until ctx ends.
func wait(ctx context.Context, tok paho.Token, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("timed out")
	}
}

// subscribe renews the subscriptions after every connection.
func (in *Ingester) subscribe(ctx context.Context, c paho.Client) {
	filters := map[string]byte{in.root + "+/" + string(KindReading): 1, in.root + "+/" + string(KindState): 1}
	tok := c.SubscribeMultiple(filters, nil)
	err := wait(ctx, tok, in.cfg.ConnectTimeout)
	if err == nil {
		for f, q := range tok.(*paho.SubscribeToken).Result() {
			if q != 1 {
				err = fmt.Errorf("subscription to %s granted QoS %d, want 1", f, q)
			}
		}
	}
	if err != nil {
		in.cfg.Logger.LogAttrs(ctx, slog.LevelError, "mqtt: subscribe", slog.String("error", err.Error()))
		select {
		case in.subErr <- fmt.Errorf("mqtt: subscribe: %w", err):
		default:
		}
		return
	}
	in.subOnce.Do(func() { close(in.subscribed) })
}

// enqueue is the client's message handler. It must not block: it queues
// the message for Run. The queue is bounded by the broker's in-flight
// window, since nothing is acknowledged before Run handles it.
func (in *Ingester) enqueue(_ paho.Client, m paho.Message) {
	in.mu.Lock()
	in.queue = append(in.queue, m)
	in.mu.Unlock()
	select {
	case in.signal <- struct{}{}:
	default:
	}
}

func (in *Ingester) drop() {
	in.mu.Lock()
	in.queue = nil
	in.mu.Unlock()
}

func (in *Ingester) next() (paho.Message, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.queue) == 0 {
		return nil, false
	}
	m := in.queue[0]
	in.queue[0] = nil
	in.queue = in.queue[1:]
	return m, true
}

// handle processes m until it is recorded or dead-lettered, and then
// acknowledges it. It returns false, without acknowledging, when ctx ends
// first.
func (in *Ingester) handle(ctx context.Context, client paho.Client, m paho.Message) bool {
	log := in.cfg.Logger
	backoff := in.cfg.RetryMin
	for try := 1; ; try++ {
		res, err := in.process(ctx, m)
		if err == nil && res.DeadLetter != nil {
			err = in.publish(ctx, client, res.DeadLetter)
		}
		if err == nil {
			m.Ack()
			if dl := res.DeadLetter; dl != nil {
				log.LogAttrs(ctx, slog.LevelWarn, "mqtt: dead-lettered", slog.String("topic", m.Topic()),
					slog.String("code", string(dl.Code)), slog.String("reason", dl.Reason), slog.String("command_id", res.CommandID))
			} else {
				log.LogAttrs(ctx, slog.LevelDebug, "mqtt: recorded", slog.String("topic", m.Topic()),
					slog.String("command_id", res.CommandID), slog.Bool("replayed", res.Outcome.Replayed))
			}
			if in.cfg.OnHandled != nil {
				in.cfg.OnHandled(res)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		log.LogAttrs(ctx, slog.LevelError, "mqtt: message not handled; trying again", slog.String("topic", m.Topic()),
			slog.Int("try", try), slog.Duration("backoff", backoff), slog.String("error", err.Error()))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, in.cfg.RetryMax)
	}
}

// publish sends a dead letter at QoS 1 and waits for the broker to take it.
func (in *Ingester) publish(ctx context.Context, client paho.Client, dl *DeadLetter) error {
	b, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	if err := wait(ctx, client.Publish(in.dead, 1, false, b), in.cfg.ConnectTimeout); err != nil {
		return fmt.Errorf("publish dead letter on %s: %w", in.dead, err)
	}
	return nil
}

// process decides what m is and runs its command. An error means the
// message should be tried again; everything else is in the Result.
func (in *Ingester) process(ctx context.Context, pm paho.Message) (Result, error) {
	now := in.cfg.Clock().UTC()
	topic, payload := pm.Topic(), pm.Payload()
	res := Result{Topic: topic}
	dead := func(code Code, format string, args ...any) (Result, error) {
		// An oversized payload is not passed on whole: the dead-letter
		// topic would carry what the limit keeps out.
		kept := payload[:min(len(payload), in.cfg.MaxPayload)]
		res.DeadLetter = &DeadLetter{Topic: topic, Payload: kept, PayloadSize: len(payload), Code: code,
			Reason: fmt.Sprintf(format, args...), CommandID: res.CommandID, Time: now}
		if res.Message != nil {
			res.DeadLetter.MessageID = res.Message.ID
		}
		return res, nil
	}
	equipment, kind, ok := in.split(topic)
	if !ok {
		return dead(CodeMalformed, "topic %q is not %s<equipment>/reading or /state", topic, in.root)
	}
	if len(payload) > in.cfg.MaxPayload {
		return dead(CodeOversized, "payload of %d bytes is over the limit of %d", len(payload), in.cfg.MaxPayload)
	}
	if !in.allowed[equipment] {
		return dead(CodeUnauthorised, "equipment %q is not in the allow-list", equipment)
	}
	p, err := parse(kind, payload)
	if err != nil {
		return dead(CodeMalformed, "%v", err)
	}
	if p.Instrument != equipment {
		return dead(CodeUnauthorised, "the payload names %q; the topic is equipment %q's", p.Instrument, equipment)
	}
	msg := &Message{Topic: topic, Site: in.cfg.Site, Equipment: equipment, Kind: kind, ID: p.ID,
		Payload: payload, Received: now, DeviceTime: p.DeviceTime}
	res.Message = msg
	res.CommandID = msg.CommandID()
	switch kind {
	case KindReading:
		raw := []byte(p.Raw)
		if p.Raw == "" {
			raw = payload
		}
		msg.Reading = &device.Reading{Instrument: p.Instrument, Value: p.Value, Unit: p.Unit, Stable: p.Stable,
			Time: now, Raw: raw, Source: device.SourceDevice}
		if p.HasTare {
			msg.Tare = &device.Reading{Instrument: p.Instrument, Value: p.TareValue, Unit: p.Unit, Stable: p.TareStable,
				Time: now, Raw: raw, Source: device.SourceDevice}
		}
	case KindState:
		change := p.Change
		msg.Change = &change
		cmd, err := packml.Explain(change)
		if err != nil {
			return dead(CodeUnexplained, "%v", err)
		}
		msg.Command = cmd
	}

	req, err := in.cfg.Binder(ctx, msg)
	switch {
	case errors.Is(err, ErrUnbound):
		return dead(CodeUnbound, "%v", err)
	case err != nil:
		return res, fmt.Errorf("bind %s: %w", equipment, err)
	}
	req.ID = res.CommandID
	if req.Actor == "" {
		req.Actor = "device:" + equipment
	}
	if req.Command == "" {
		req.Command = msg.Command
	}
	if req.Evidence == nil {
		if req.Evidence, err = msg.Evidence(); err != nil {
			return dead(CodeMalformed, "%v", err)
		}
	}
	if len(req.Data) == 0 {
		if req.Data, err = msg.data(); err != nil {
			return res, fmt.Errorf("encode data: %w", err)
		}
	}
	out, err := in.exec.Execute(ctx, req)
	res.Outcome = out
	var denied *mes.DeniedError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &denied):
		r, _ := dead(CodeDenied, "%v", err)
		for _, g := range denied.Reasons {
			r.DeadLetter.Reasons = append(r.DeadLetter.Reasons, GateReason{Gate: g.Gate, Code: g.Code, Message: g.Message})
		}
		if denied.Illegal != nil && len(denied.Reasons) == 0 {
			r.DeadLetter.Reasons = append(r.DeadLetter.Reasons, GateReason{Gate: "model", Code: mes.CodeIllegalTransition, Message: denied.Illegal.Error()})
		}
		return r, nil
	case errors.Is(err, interlock.ErrInvalid):
		return dead(CodeRefused, "%v", err)
	}
	return res, fmt.Errorf("execute %s: %w", req.ID, err)
}

// split returns the equipment and kind of a topic under the Ingester's
// root.
func (in *Ingester) split(topic string) (equipment string, k Kind, ok bool) {
	rest, ok := strings.CutPrefix(topic, in.root)
	if !ok {
		return "", "", false
	}
	equipment, kind, ok := strings.Cut(rest, "/")
	if !ok || !topicLevel(equipment) {
		return "", "", false
	}
	switch Kind(kind) {
	case KindReading, KindState:
		return equipment, Kind(kind), true
	}
	return "", "", false
}
