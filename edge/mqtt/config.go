package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"
)

// Executor runs a command: *mes.Engine. Every message the Ingester records
// goes through it, so through the engine's gates.
type Executor interface {
	Execute(ctx context.Context, req mes.Request) (*mes.Outcome, error)
}

var _ Executor = (*mes.Engine)(nil)

// Binder maps a message to the command it runs on what is running on its
// equipment now: Model, Subject, Step and Command (for a state change,
// leave Command empty to run m.Command), and Actor, Refs and Consume as the
// model needs them. The Ingester sets ID to m.CommandID(); it fills
// Evidence with m.Evidence() when the Binder gives none, Actor with
// "device:<equipment>" and Data with the message's origin and device time
// when they are empty. What the Binder returns must depend only on m and
// on what is running, so that a redelivered message repeats its request.
//
// A step an operator started is bound to that operator by the engine's
// context lock, so a reading run as "device:<equipment>" cannot complete
// it (mes.CodeContextOperator): name the operator running the step at the
// equipment as Actor. The device stays on the record as the evidence's
// Instrument and source.
//
// Evidence is the Binder's to name when the model reads other names than
// m.Evidence gives, such as a route step's weighing: set it to
// weigh.RouteEvidence(name, *m.Tare, *m.Reading).
//
// Return an error matching ErrUnbound when nothing runs on the equipment:
// the message is dead-lettered as CodeUnbound. Any other error is taken as
// passing (the Binder could not look): the message is tried again.
type Binder func(ctx context.Context, m *Message) (mes.Request, error)

// ErrUnbound says that nothing is running on a message's equipment; a
// Binder returns it (wrapped or not).
var ErrUnbound = errors.New("nothing is bound to the equipment")

// Result is what became of one message, given to Config.OnHandled once the
// message is acknowledged.
type Result struct {
	Topic string
	// Message is the message as bound; nil when it was oversized,
	// malformed, or from equipment that is not allowed.
	Message   *Message
	CommandID string       // "" when no command was built
	Outcome   *mes.Outcome // the engine's outcome: recorded, replayed, or denied
	// DeadLetter is what was published on the dead-letter topic; nil when
	// the engine recorded the command as allowed.
	DeadLetter *DeadLetter
}

// Config configures an Ingester. Broker, ClientID, Site, Equipment and
// Binder are required.
type Config struct {
	// Broker is the broker's URL, such as "tcp://127.0.0.1:1883" or
	// "ssl://broker:8883". Required.
	Broker string
	// ClientID names the Ingester's persistent session at the broker: the
	// same id after a restart resumes the session, and the broker delivers
	// again what was not acknowledged. Required; one id per Ingester.
	ClientID string
	// Username and Password authenticate to the broker; TLS configures an
	// ssl:// or tls:// connection. Optional.
	Username, Password string
	TLS                *tls.Config
	// Prefix is the root of the topics. Default "interlock".
	Prefix string
	// Site is the topic level after Prefix. Required.
	Site string
	// Equipment is the allow-list: the equipment ids whose messages are
	// taken. A message from other equipment is dead-lettered as
	// CodeUnauthorised. Required.
	Equipment []string
	// Binder maps a message to its command. Required.
	Binder Binder
	// MaxPayload bounds a payload in bytes; a larger one is dead-lettered
	// as CodeOversized. Default 16384; at most 1 MiB.
	MaxPayload int
	// Clock times messages and dead letters. Default time.Now.
	Clock interlock.Clock
	// Logger receives the Ingester's logs: dead letters at Warn, failures
	// that will be retried at Error, the rest at Debug. Default: silent.
	Logger *slog.Logger
	// OnHandled, when set, is called with what became of each message,
	// after it is acknowledged, from Run's goroutine; it must not block.
	OnHandled func(Result)
	// ConnectTimeout bounds the first connection. Default 10s.
	ConnectTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between tries of a message
	// that failed for a passing reason. Default 100ms and 10s.
	RetryMin, RetryMax time.Duration
}

// ErrConfig is matched (errors.Is) by every error New returns for a
// Config; it matches interlock.ErrInvalid.
var ErrConfig = interlock.NewInvalid("mqtt: invalid Config")

// ConfigError names a Config field that is wrong. It matches ErrConfig
// and interlock.ErrInvalid.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "mqtt: Config." + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrConfig) and errors.Is(err, interlock.ErrInvalid) true.
func (e *ConfigError) Is(target error) bool {
	return target == ErrConfig || target == interlock.ErrInvalid
}

const maxMaxPayload = 1 << 20

// validate fills c's defaults and returns every problem of c.
func (c *Config) validate() error {
	var errs []error
	wrong := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if c.Broker == "" {
		wrong("Broker", "empty; want a URL such as tcp://127.0.0.1:1883")
	} else if u, err := url.Parse(c.Broker); err != nil || u.Host == "" {
		wrong("Broker", "%q is not a URL such as tcp://127.0.0.1:1883", c.Broker)
	} else if !strings.Contains(" tcp ssl tls mqtt mqtts ws wss ", " "+u.Scheme+" ") {
		wrong("Broker", "scheme %q; want tcp, ssl, tls, mqtt, mqtts, ws or wss", u.Scheme)
	}
	if c.ClientID == "" {
		wrong("ClientID", "empty; the persistent session needs a stable id")
	} else if len(c.ClientID) > 128 {
		wrong("ClientID", "%d characters is over the limit of 128", len(c.ClientID))
	}
	if c.Prefix == "" {
		c.Prefix = "interlock"
	}
	for _, lvl := range strings.Split(c.Prefix, "/") {
		if !topicLevel(lvl) {
			wrong("Prefix", "%q: each level must be letters, digits and . _ : - (no wildcards, no empty level)", c.Prefix)
			break
		}
	}
	if !topicLevel(c.Site) {
		wrong("Site", "%q must be one topic level of letters, digits and . _ : -", c.Site)
	}
	if len(c.Equipment) == 0 {
		wrong("Equipment", "empty; list the equipment whose messages are taken")
	}
	for i, e := range c.Equipment {
		if !topicLevel(e) {
			wrong("Equipment", "[%d] %q must be one topic level of letters, digits and . _ : -", i, e)
		}
	}
	if c.Binder == nil {
		wrong("Binder", "nil; the Ingester cannot know what runs on the equipment")
	}
	switch {
	case c.MaxPayload == 0:
		c.MaxPayload = 16 << 10
	case c.MaxPayload < 0 || c.MaxPayload > maxMaxPayload:
		wrong("MaxPayload", "%d; want 1 to %d", c.MaxPayload, maxMaxPayload)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.ConnectTimeout == 0:
		c.ConnectTimeout = 10 * time.Second
	case c.ConnectTimeout < 0:
		wrong("ConnectTimeout", "%s is negative", c.ConnectTimeout)
	}
	if c.RetryMin == 0 {
		c.RetryMin = 100 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 10 * time.Second
	}
	if c.RetryMin < 0 || c.RetryMax < c.RetryMin {
		wrong("RetryMin", "%s to %s; want 0 < RetryMin <= RetryMax", c.RetryMin, c.RetryMax)
	}
	return errors.Join(errs...)
}

// topicLevel reports whether s can be one topic level: not empty, no
// wildcard, no separator.
func topicLevel(s string) bool {
	if s == "" || len(s) > maxID {
		return false
	}
	for _, c := range []byte(s) {
		if !idChar(c) {
			return false
		}
	}
	return true
}
