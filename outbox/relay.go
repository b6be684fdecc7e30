package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// ErrPermanent marks an error that retrying cannot cure, such as a broker
// stream that lost every message the relay published or a record larger
// than the broker accepts. A Sink wraps it; Run stops and returns such an
// error instead of backing off, because the record cannot be skipped.
var ErrPermanent = errors.New("outbox: permanent failure")

// Sink is where the relay publishes: a broker, through its client.
// Implementations need not be safe for concurrent use; one relay calls
// one method at a time.
type Sink interface {
	// Last returns the position of the last record the broker holds, the
	// relay's cursor: 0 when it holds none. It returns an error matching
	// ErrPermanent when the broker cannot say, such as when it once held
	// records and now holds none.
	Last(ctx context.Context) (int64, error)

	// Publish publishes recs, which are in position order, one after
	// another, each only after the broker has acknowledged the one
	// before, and returns how many the broker acknowledged. When it
	// returns an error, the first n were acknowledged and recs[n] may or
	// may not have been stored: the relay publishes it again, with the
	// same id, after reading Last. Publish must not keep recs.
	Publish(ctx context.Context, recs []audit.Record) (n int, err error)
}

// Defaults of a Config field left zero.
const (
	DefaultBatchSize    = 256
	DefaultPollInterval = 250 * time.Millisecond
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
)

// MaxBatchSize bounds Config.BatchSize.
const MaxBatchSize = 10_000

// Config configures a Relay. A field left zero takes its default; a
// field set out of range is an error, never replaced by a default.
type Config struct {
	// BatchSize is how many records one ReadAll asks for, between 1 and
	// MaxBatchSize. Default: DefaultBatchSize.
	BatchSize int
	// PollInterval is how long the relay waits before reading again when
	// it has published everything. It must not be negative. Default:
	// DefaultPollInterval.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure of the
	// store or the broker: the first wait is about MinBackoff, each
	// failure in a row doubles it up to MaxBackoff, and a success starts
	// again. Neither may be negative, and MinBackoff must not exceed
	// MaxBackoff. Defaults: DefaultMinBackoff, DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the relay's logs: its start and cursor at Info,
	// every failure it will retry at Warn, a failure that stops it at
	// Error, each published batch at Debug. Default: no logs.
	Logger *slog.Logger
}

// Relay publishes the record to a Sink. Run it in one goroutine; Position
// may be called from any.
type Relay struct {
	reader   storage.Reader
	sink     Sink
	cfg      Config
	log      *slog.Logger
	position atomic.Int64
	running  atomic.Bool
}

// New returns a relay that publishes what reader returns to sink. cfg may
// be nil for the defaults. It returns an error matching
// interlock.ErrInvalid that names the field when reader or sink is nil or
// a field of cfg is out of range.
func New(reader storage.Reader, sink Sink, cfg *Config) (*Relay, error) {
	if reader == nil {
		return nil, invalid("reader", "is nil")
	}
	if sink == nil {
		return nil, invalid("sink", "is nil")
	}
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.BatchSize < 0 || c.BatchSize > MaxBatchSize:
		return nil, invalid("Config.BatchSize", fmt.Sprintf("%d is not between 1 and %d", c.BatchSize, MaxBatchSize))
	case c.BatchSize == 0:
		c.BatchSize = DefaultBatchSize
	}
	switch {
	case c.PollInterval < 0:
		return nil, invalid("Config.PollInterval", fmt.Sprintf("%v is negative", c.PollInterval))
	case c.PollInterval == 0:
		c.PollInterval = DefaultPollInterval
	}
	switch {
	case c.MinBackoff < 0:
		return nil, invalid("Config.MinBackoff", fmt.Sprintf("%v is negative", c.MinBackoff))
	case c.MinBackoff == 0:
		c.MinBackoff = DefaultMinBackoff
	}
	switch {
	case c.MaxBackoff < 0:
		return nil, invalid("Config.MaxBackoff", fmt.Sprintf("%v is negative", c.MaxBackoff))
	case c.MaxBackoff == 0:
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MinBackoff > c.MaxBackoff {
		return nil, invalid("Config.MinBackoff", fmt.Sprintf("%v exceeds MaxBackoff %v", c.MinBackoff, c.MaxBackoff))
	}
	r := &Relay{reader: reader, sink: sink, cfg: c, log: c.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Position returns the position of the last record the broker
// acknowledged as far as the relay knows: 0 before Run has read its
// cursor.
func (r *Relay) Position() int64 { return r.position.Load() }

// Run publishes every record after the cursor the Sink keeps, then every
// record appended later, until ctx ends. It reads the cursor from the Sink
// when it starts and again after every broker failure, and moves it only
// past records the broker acknowledged. A failure of the store or the
// broker is logged and retried after a backoff (see Config).
//
// Run returns ctx's error when ctx ends, without waiting for a publish
// under way: what the broker acknowledged is kept, and what it did not is
// published again by the next Run. It returns an error matching
// ErrPermanent when the Sink reports one. A relay runs one Run at a time;
// a second concurrent call returns an error at once.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("outbox: Run: the relay is already running")
	}
	defer r.running.Store(false)
	var (
		cursor   int64
		haveCur  bool
		failures int
	)
	fail := func(op string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrPermanent) {
			r.log.LogAttrs(ctx, slog.LevelError, "outbox relay stopped", slog.String("op", op), slog.Int64("position", cursor), slog.String("error", err.Error()))
			return err
		}
		wait := r.backoff(failures)
		failures++
		r.log.LogAttrs(ctx, slog.LevelWarn, "outbox relay will retry", slog.String("op", op), slog.Int64("position", cursor),
			slog.Int("failures", failures), slog.Duration("wait", wait), slog.String("error", err.Error()))
		return sleep(ctx, wait)
	}
	for {
		if !haveCur {
			last, err := r.sink.Last(ctx)
			if err != nil {
				if err := fail("cursor", err); err != nil {
					return err
				}
				continue
			}
			r.log.LogAttrs(ctx, slog.LevelInfo, "outbox relay cursor", slog.Int64("position", last), slog.Int64("was", cursor))
			cursor, haveCur = last, true
			r.position.Store(cursor)
		}
		recs, err := r.reader.ReadAll(ctx, cursor, r.cfg.BatchSize)
		if err != nil {
			if err := fail("read", err); err != nil {
				return err
			}
			continue
		}
		if len(recs) == 0 {
			failures = 0
			if err := sleep(ctx, r.cfg.PollInterval); err != nil {
				return err
			}
			continue
		}
		n, err := r.sink.Publish(ctx, recs)
		if n > 0 {
			cursor = recs[n-1].Position
			r.position.Store(cursor)
			failures = 0
			r.log.LogAttrs(ctx, slog.LevelDebug, "outbox relay published", slog.Int("records", n), slog.Int64("position", cursor))
		}
		if err != nil {
			haveCur = false
			if err := fail("publish", err); err != nil {
				return err
			}
		}
	}
}

// backoff returns the wait after the failures-th failure in a row: the
// doubled minimum, capped, less a random part of up to a half so that
// relays that failed together do not retry together.
func (r *Relay) backoff(failures int) time.Duration {
	d := r.cfg.MinBackoff
	for i := 0; i < failures && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxBackoff)
	if d <= 1 {
		return d
	}
	return d - rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func invalid(field, reason string) error {
	return fmt.Errorf("outbox: New: %s %s: %w", field, reason, interlock.ErrInvalid)
}
