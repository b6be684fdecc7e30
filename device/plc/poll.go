package plc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/device"
	"github.com/simonvetter/modbus"
)

// Defaults of PollerConfig.
const (
	DefaultPollInterval = time.Second
	DefaultPollTimeout  = time.Second
)

var (
	// ErrInvalidConfig means NewPoller was given a configuration it cannot
	// work with; the message names the field.
	ErrInvalidConfig = fmt.Errorf("invalid poller configuration: %w", interlock.ErrInvalid)
	// ErrPollerUsed means Run was called on a poller that has already run.
	ErrPollerUsed = errors.New("poller has already run")
)

// PollerConfig configures a Poller.
type PollerConfig struct {
	// EquipmentID names the equipment in every event, such as "FILLER-2".
	// Required.
	EquipmentID string
	// Interval is the time from the start of one poll to the start of the
	// next. Default: DefaultPollInterval.
	Interval time.Duration
	// Timeout bounds each Modbus request: over RTU, the wait for the
	// device's reply. Default: DefaultPollTimeout.
	Timeout time.Duration
	// Clock stamps events. Default: time.Now.
	Clock device.Clock
}

// Poller reads the tags of one PLC over Modbus TCP or RTU and turns what changes
// into equipment events. Only tags with a role are read. Build one with
// NewPoller; then either call Run and receive from Events, or call Poll on
// a schedule of your own.
type Poller struct {
	cfg     PollerConfig
	address string
	plan    []readRequest

	mu        sync.Mutex // serialises polls, the client and the normaliser
	client    *modbus.ModbusClient
	connected bool
	norm      *normaliser

	events chan Event
	used   atomic.Bool
}

// NewPoller returns a poller for the tags of m with a role, read from the
// device at mc. It does not connect; the first poll does. cfg is required,
// because EquipmentID is. Every problem with the configuration is reported
// in one error that wraps ErrInvalidConfig and names each field.
func NewPoller(mc ModbusConfig, m *TagMap, cfg *PollerConfig) (*Poller, error) {
	var c PollerConfig
	if cfg != nil {
		c = *cfg
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if cfg == nil {
		bad("PollerConfig is nil; EquipmentID is required")
	} else if strings.TrimSpace(c.EquipmentID) == "" {
		bad("PollerConfig.EquipmentID is empty")
	}
	switch {
	case c.Interval == 0:
		c.Interval = DefaultPollInterval
	case c.Interval < 0:
		bad("PollerConfig.Interval is %s; want a positive duration", c.Interval)
	}
	switch {
	case c.Timeout == 0:
		c.Timeout = DefaultPollTimeout
	case c.Timeout < 0:
		bad("PollerConfig.Timeout is %s; want a positive duration", c.Timeout)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	problems = append(problems, mc.check()...)
	var tags []Tag
	for _, t := range m.Tags() {
		if t.Role != RoleNone {
			tags = append(tags, t)
		}
	}
	if len(tags) == 0 {
		bad("tag map has no tag with a role, so there is nothing to poll")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("new poller: %w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
	}
	client, err := modbus.NewClient(mc.clientConfig(c.Timeout))
	if err != nil {
		return nil, fmt.Errorf("new poller: %w: %w", ErrInvalidConfig, err)
	}
	if err := client.SetUnitId(mc.UnitID); err != nil {
		return nil, fmt.Errorf("new poller: unit id: %w", err)
	}
	return &Poller{
		cfg:     c,
		address: mc.where(),
		plan:    planReads(tags),
		client:  client,
		norm:    newNormaliser(c.EquipmentID, tags),
		events:  make(chan Event),
	}, nil
}

// Poll reads every tag once and returns the events that the change since
// the last poll implies (see Event for what the first poll
// reports and in which order).
//
// When the device cannot be read, Poll returns the error and, on the first
// failure after a success, a fault event carrying the same error; the
// outage ends with a fault-cleared event on the first poll that works. The
// error is a *RequestError whose Err is a ModbusException when the device
// replied with one (errors.Is(err, ExceptionIllegalDataAddress)), or wraps
// ErrTimeout or ErrProtocol (ErrCRC for an RTU reply that failed its
// CRC check); or it is a *ConnectError, matching ErrConnect, when no
// connection could be made or the serial port could not be opened. After
// any failure but an exception reply the connection (or serial port) is
// closed and the next poll connects again, so a garbled or late reply on
// a serial line is never taken for the answer to the next request.
//
// Poll returns ctx.Err() when ctx is done before or between requests; a
// request under way runs to its answer or its Timeout, and a connection
// attempt to its answer or the Modbus library's 5-second dial limit. Poll is safe for
// concurrent use, and shares change detection with Run: each change is
// reported once, to whichever call saw it.
func (p *Poller) Poll(ctx context.Context) ([]Event, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !p.connected {
		if err := p.client.Open(); err != nil {
			cerr := &ConnectError{Equipment: p.cfg.EquipmentID, Address: p.address, Err: err}
			return p.norm.fail(p.now(), cerr, nil), cerr
		}
		p.connected = true
	}
	values := make(map[string]TagValue)
	var bad []badRead
	for _, r := range p.plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		words, err := r.read(p.client)
		if err != nil {
			rerr := &RequestError{Equipment: p.cfg.EquipmentID, Area: r.area, Address: r.address, Quantity: r.quantity, Tags: r.tagNames(), Err: err}
			if reconnectAfter(err) {
				p.disconnect()
			}
			tvs := make([]TagValue, len(r.tags))
			for i, t := range r.tags {
				tvs[i] = TagValue{Tag: t.Name, Unit: t.Unit}
			}
			return p.norm.fail(p.now(), rerr, tvs), rerr
		}
		for _, t := range r.tags {
			off := t.Address - int(r.address)
			raw := append([]uint16(nil), words[off:off+t.Type.Width()]...)
			tv := TagValue{Tag: t.Name, Raw: raw, Unit: t.Unit}
			v, err := DecodeTag(t, raw)
			if err != nil {
				bad = append(bad, badRead{value: tv, err: err})
				continue
			}
			tv.Value = v
			values[t.Name] = tv
		}
	}
	return p.norm.observe(p.now(), values, bad), nil
}

func (p *Poller) now() time.Time { return p.cfg.Clock().UTC() }

// disconnect drops the connection; the caller holds p.mu.
func (p *Poller) disconnect() {
	if p.connected {
		_ = p.client.Close() // the connection is being given up; a close error changes nothing
		p.connected = false
	}
}

// Run polls every Interval, starting at once, and sends the events on the
// Events channel in order, waiting for the receiver. It returns nil once ctx
// is done, after closing the connection and the Events channel; a request
// under way when ctx ends delays that by at most Timeout. Failures to read
// the device do not stop Run: they arrive as fault events. Run may be
// called once; later calls return ErrPollerUsed.
func (p *Poller) Run(ctx context.Context) error {
	if !p.used.CompareAndSwap(false, true) {
		return ErrPollerUsed
	}
	defer close(p.events)
	defer p.Close()
	tick := time.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	for {
		evs, _ := p.Poll(ctx) // read failures are in evs; a done ctx is seen below
		for _, e := range evs {
			select {
			case p.events <- e:
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Events returns the channel Run sends on. It is closed when Run returns.
func (p *Poller) Events() <-chan Event { return p.events }

// Close drops the connection to the device, if any. A later Poll connects
// again. Run closes the connection itself when it returns.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.disconnect()
	return nil
}
