package natsjs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/outbox"
)

var _ outbox.Sink = (*Publisher)(nil)

// ErrCursorLost means the relay's stream once held messages and holds none
// now, so the position the relay had reached is unknown. It matches
// outbox.ErrPermanent: the relay stops rather than publish the whole
// record again. Recreate the stream to publish everything, or restore it.
var ErrCursorLost = fmt.Errorf("natsjs: the stream lost every message, and with them the cursor: %w", outbox.ErrPermanent)

// ErrStreamConfig means the stream's configuration breaks a rule the
// cursor rests on (see the package documentation). It matches
// outbox.ErrPermanent.
var ErrStreamConfig = fmt.Errorf("natsjs: stream configuration: %w", outbox.ErrPermanent)

// DefaultAckTimeout is the AckTimeout of a Config that leaves it zero.
const DefaultAckTimeout = 5 * time.Second

// PositionHeader is the header that repeats the record's position, so that
// a consumer can skip a message without decoding it.
const PositionHeader = "Interlock-Position"

// Config configures a Publisher. A field left zero takes its default, if
// it has one; a field set wrong is an error.
type Config struct {
	// Stream is the JetStream stream to publish to; required. It must
	// exist, with Prefix + ".>" as its only subject and limits retention
	// (see StreamConfig).
	Stream string
	// Prefix begins every subject: one or more literal tokens such as
	// "interlock.plant1"; required.
	Prefix string
	// AckTimeout bounds the wait for one message's acknowledgement. It
	// must not be negative. Default: DefaultAckTimeout.
	AckTimeout time.Duration
}

// Publisher is an outbox.Sink that publishes to a JetStream stream. It is
// meant for one relay; its methods are not safe for concurrent use.
type Publisher struct {
	js  jetstream.JetStream
	cfg Config
	msg nats.Msg
	buf []byte
	// reconnects is the connection's reconnect count when Last read the
	// cursor: a broker that restarted may have come back without its
	// newest messages, so Publish after a reconnect asks for the cursor
	// to be read again before it publishes anything.
	reconnects uint64
}

// errReconnected asks the relay to read its cursor again.
var errReconnected = errors.New("natsjs: reconnected to the broker since the cursor was read")

// New returns a publisher on js. It checks cfg, not the broker (Last
// does, each time the relay reads its cursor). It returns an error
// matching interlock.ErrInvalid that names the field when js is nil or a
// field of cfg is missing or wrong.
func New(js jetstream.JetStream, cfg *Config) (*Publisher, error) {
	if js == nil {
		return nil, invalid("js", "is nil")
	}
	if cfg == nil {
		return nil, invalid("cfg", "is nil; Stream and Prefix are required")
	}
	c := *cfg
	if err := checkStreamName(c.Stream); err != nil {
		return nil, invalid("Config.Stream", err.Error())
	}
	if err := checkPrefix(c.Prefix); err != nil {
		return nil, invalid("Config.Prefix", err.Error())
	}
	switch {
	case c.AckTimeout < 0:
		return nil, invalid("Config.AckTimeout", fmt.Sprintf("%v is negative", c.AckTimeout))
	case c.AckTimeout == 0:
		c.AckTimeout = DefaultAckTimeout
	}
	return &Publisher{js: js, cfg: c, msg: nats.Msg{Header: nats.Header{}}}, nil
}

// StreamConfig returns a configuration for the relay's stream that
// satisfies Publisher's rules: the subject prefix + ".>", limits
// retention, file storage, no age limit, one replica, and a duplicate
// window of dedupe. Change what the deployment needs (Replicas, limits
// on size) and keep the rest.
func StreamConfig(name, prefix string, dedupe time.Duration) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{prefix + ".>"},
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: dedupe,
		Replicas:   1,
	}
}

// Last implements outbox.Sink: it checks the stream's configuration and
// returns the position in its last message, or 0 when the stream has
// never held a message. It returns an error matching ErrStreamConfig when
// the stream breaks a rule of the package documentation, ErrCursorLost
// when it held messages and holds none, and an error matching
// outbox.ErrPermanent when its last message is not an envelope; other
// errors (the broker unreachable, the stream not found) are worth a
// retry.
func (p *Publisher) Last(ctx context.Context) (int64, error) {
	p.reconnects = p.js.Conn().Stats().Reconnects
	s, err := p.js.Stream(ctx, p.cfg.Stream)
	if err != nil {
		return 0, fmt.Errorf("natsjs: stream %s: %w", p.cfg.Stream, err)
	}
	info := s.CachedInfo()
	want := p.cfg.Prefix + ".>"
	switch {
	case !slices.Equal(info.Config.Subjects, []string{want}):
		return 0, fmt.Errorf("%w: stream %s has subjects %q; want only %q", ErrStreamConfig, p.cfg.Stream, info.Config.Subjects, want)
	case info.Config.Retention != jetstream.LimitsPolicy:
		return 0, fmt.Errorf("%w: stream %s has %s retention; want limits", ErrStreamConfig, p.cfg.Stream, info.Config.Retention)
	case info.Config.Duplicates <= 0:
		return 0, fmt.Errorf("%w: stream %s has no duplicate window", ErrStreamConfig, p.cfg.Stream)
	}
	m, err := s.GetLastMsgForSubject(ctx, want)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		if info.State.LastSeq > 0 {
			return 0, fmt.Errorf("%w (stream %s, last sequence %d)", ErrCursorLost, p.cfg.Stream, info.State.LastSeq)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("natsjs: last message of %s: %w", p.cfg.Stream, err)
	}
	env, err := outbox.Unmarshal(m.Data)
	if err != nil {
		return 0, fmt.Errorf("natsjs: last message of %s (sequence %d): %w: %w", p.cfg.Stream, m.Sequence, err, outbox.ErrPermanent)
	}
	return env.Position, nil
}

// Publish implements outbox.Sink: one message per record, each sent when
// the one before is acknowledged, each acknowledgement awaited for at
// most Config.AckTimeout. A record the broker acknowledges as a duplicate
// counts as acknowledged. A record larger than the broker or the stream
// accepts gives an error matching outbox.ErrPermanent. After the
// connection has reconnected, Publish publishes nothing and returns an
// error, so that the relay reads the cursor again first.
func (p *Publisher) Publish(ctx context.Context, recs []audit.Record) (int, error) {
	for i := range recs {
		if p.js.Conn().Stats().Reconnects != p.reconnects {
			return i, errReconnected
		}
		if err := p.publish(ctx, &recs[i]); err != nil {
			return i, err
		}
	}
	return len(recs), nil
}

func (p *Publisher) publish(ctx context.Context, r *audit.Record) error {
	var err error
	if p.buf, err = outbox.Marshal(p.buf[:0], r); err != nil {
		return fmt.Errorf("%w: %w", err, outbox.ErrPermanent)
	}
	m := &p.msg
	m.Subject = p.cfg.Prefix + "." + Subject(r.Stream)
	m.Data = p.buf
	clear(m.Header)
	m.Header.Set(jetstream.MsgIDHeader, outbox.ID(r))
	m.Header.Set(PositionHeader, strconv.FormatInt(r.Position, 10))
	ctx, cancel := context.WithTimeout(ctx, p.cfg.AckTimeout)
	defer cancel()
	if _, err := p.js.PublishMsg(ctx, m, jetstream.WithExpectStream(p.cfg.Stream)); err != nil {
		var api *jetstream.APIError
		if errors.Is(err, nats.ErrMaxPayload) || errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum {
			err = fmt.Errorf("%w: %w", err, outbox.ErrPermanent)
		}
		return fmt.Errorf("natsjs: publish %s version %d (position %d): %w", r.Stream, r.Version, r.Position, err)
	}
	return nil
}

func invalid(field, reason string) error {
	return fmt.Errorf("natsjs: New: %s %s: %w", field, reason, interlock.ErrInvalid)
}
