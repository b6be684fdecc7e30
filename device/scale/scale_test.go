//go:build linux

package scale_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/device/scale"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/device/plc"
	"github.com/interlock-mes/interlock/device/scale/scalesim"
)

var testTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))

func fixedClock() time.Time { return testTime }

func newSimulator(t *testing.T, cfg *scalesim.Config) *scalesim.Simulator {
	t.Helper()
	sim, err := scalesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("close simulator: %v", err)
		}
	})
	return sim
}

func newScale(t *testing.T, sim *scalesim.Simulator, timeout time.Duration) *scale.Scale {
	t.Helper()
	s, err := scale.New(&scale.Config{
		Serial:     scale.SerialLine{Port: sim.Path(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Instrument: "SC-01",
		Clock:      fixedClock,
		Timeout:    timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close scale: %v", err)
		}
	})
	return s
}

func reading(value, unit string, stable bool, raw string) device.Reading {
	return device.Reading{
		Instrument: "SC-01",
		Value:      dec(value),
		Unit:       unit,
		Stable:     stable,
		Time:       testTime.UTC(),
		Raw:        []byte(raw),
		Source:     device.SourceDevice,
	}
}

// call is one use of a Scale whose result the test compares.
type call func(context.Context, *scale.Scale) (any, error)

func stableWeight(ctx context.Context, s *scale.Scale) (any, error) { return s.StableWeight(ctx) }
func immediateWeight(ctx context.Context, s *scale.Scale) (any, error) {
	return s.ImmediateWeight(ctx)
}
func tare(ctx context.Context, s *scale.Scale) (any, error)       { return s.Tare(ctx) }
func tareWeight(ctx context.Context, s *scale.Scale) (any, error) { return s.TareWeight(ctx) }
func zero(ctx context.Context, s *scale.Scale) (any, error)       { return nil, s.Zero(ctx) }
func zeroImmediately(ctx context.Context, s *scale.Scale) (any, error) {
	return s.ZeroImmediately(ctx)
}
func reset(ctx context.Context, s *scale.Scale) (any, error)        { return s.Reset(ctx) }
func serialNumber(ctx context.Context, s *scale.Scale) (any, error) { return s.SerialNumber(ctx) }
func model(ctx context.Context, s *scale.Scale) (any, error)        { return s.Model(ctx) }

func TestScaleCommands(t *testing.T) {
	t.Parallel()
	type step struct {
		call    call
		want    any
		wantErr error
	}
	tests := []struct {
		name  string
		setup func(*scalesim.Simulator)
		steps []step
	}{
		{
			name:  "StableWeight",
			setup: func(sim *scalesim.Simulator) { sim.SetLoad(dec("100")) },
			steps: []step{{call: stableWeight, want: reading("100", "g", true, "S S     100.00 g")}},
		},
		{
			name: "ImmediateWeightDynamic",
			setup: func(sim *scalesim.Simulator) {
				sim.SetLoad(dec("-1.5"))
				sim.SetStable(false)
			},
			steps: []step{
				{call: immediateWeight, want: reading("-1.5", "g", false, "S D      -1.50 g")},
				{call: zeroImmediately, want: false},
			},
		},
		{
			name:  "TareThenNet",
			setup: func(sim *scalesim.Simulator) { sim.SetLoad(dec("12.34")) },
			steps: []step{
				{call: tare, want: reading("12.34", "g", true, "T S      12.34 g")},
				{call: stableWeight, want: reading("0", "g", true, "S S       0.00 g")},
				{call: tareWeight, want: reading("12.34", "g", true, "TA A      12.34 g")},
				{call: reset, want: "0123456789"},
				{call: tareWeight, want: reading("0", "g", true, "TA A       0.00 g")},
			},
		},
		{
			name:  "Zero",
			setup: func(sim *scalesim.Simulator) { sim.SetLoad(dec("3")) },
			steps: []step{
				{call: zero, want: nil},
				{call: immediateWeight, want: reading("0", "g", true, "S S       0.00 g")},
				{call: zeroImmediately, want: true},
			},
		},
		{
			name:  "Identity",
			setup: func(sim *scalesim.Simulator) { sim.SetSerialNumber("B928374650") },
			steps: []step{
				{call: serialNumber, want: "B928374650"},
				{call: reset, want: "B928374650"},
				{call: model, want: []string{"Interlock SIM"}},
			},
		},
		{
			name:  "Overload",
			setup: func(sim *scalesim.Simulator) { sim.SetCondition(scalesim.Overload) },
			steps: []step{
				{call: stableWeight, wantErr: scale.ErrOverload},
				{call: immediateWeight, wantErr: scale.ErrOverload},
				{call: tare, wantErr: scale.ErrOverload},
				{call: zero, wantErr: scale.ErrOverload},
				{call: zeroImmediately, wantErr: scale.ErrOverload},
			},
		},
		{
			name:  "Underload",
			setup: func(sim *scalesim.Simulator) { sim.SetCondition(scalesim.Underload) },
			steps: []step{
				{call: stableWeight, wantErr: scale.ErrUnderload},
				{call: zero, wantErr: scale.ErrUnderload},
			},
		},
		{
			name:  "Busy",
			setup: func(sim *scalesim.Simulator) { sim.SetCondition(scalesim.Busy) },
			steps: []step{
				{call: stableWeight, wantErr: scale.ErrBusy},
				{call: tare, wantErr: scale.ErrBusy},
				{call: tareWeight, wantErr: scale.ErrBusy},
				{call: serialNumber, wantErr: scale.ErrBusy},
			},
		},
		{
			name: "ErrorReplies",
			setup: func(sim *scalesim.Simulator) {
				sim.Script("S", "ES")
				sim.Script("S", "ET")
				sim.Script("S", "EL")
				sim.Script("S", "S L")
				sim.Script("TA", "TA L")
				sim.Script("I4", "I4 A 12345")
				sim.Script("SI", "S S 1.2.3 g")
				sim.Script("Z", "Z A 1.00 g")
			},
			steps: []step{
				{call: stableWeight, wantErr: scale.ErrSyntax},
				{call: stableWeight, wantErr: scale.ErrTransmission},
				{call: stableWeight, wantErr: scale.ErrLogical},
				{call: stableWeight, wantErr: scale.ErrLogical},
				{call: tareWeight, wantErr: scale.ErrLogical},
				{call: serialNumber, wantErr: scale.ErrMalformed},
				{call: immediateWeight, wantErr: scale.ErrMalformed},
				{call: zero, wantErr: scale.ErrMalformed},
				// The scripts are used up: the state answers again.
				{call: stableWeight, want: reading("0", "g", true, "S S       0.00 g")},
			},
		},
		{
			name: "LeftoverLinesSkipped",
			setup: func(sim *scalesim.Simulator) {
				sim.Script("S", "T S       9.00 g", "I4 A \"x\"", "S S       2.00 g")
			},
			steps: []step{{call: stableWeight, want: reading("2", "g", true, "S S       2.00 g")}},
		},
		{
			name:  "UnitAsSent",
			setup: func(sim *scalesim.Simulator) { sim.Script("SI", "S D 0.0012 mg") },
			steps: []step{{call: immediateWeight, want: reading("0.0012", "mg", false, "S D 0.0012 mg")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := newSimulator(t, nil)
			tt.setup(sim)
			s := newScale(t, sim, 5*time.Second)
			for i, st := range tt.steps {
				got, err := st.call(t.Context(), s)
				if !errors.Is(err, st.wantErr) || (err == nil) != (st.wantErr == nil) {
					t.Fatalf("step %d: error = %v; want %v", i, err, st.wantErr)
				}
				if err != nil {
					var re *scale.ResponseError
					if !errors.As(err, &re) {
						t.Errorf("step %d: error %v carries no *ResponseError", i, err)
					}
					continue
				}
				if diff := cmp.Diff(st.want, got, decimalEqual); diff != "" {
					t.Errorf("step %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestScaleTimeout(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, nil)
	s := newScale(t, sim, 150*time.Millisecond)
	sim.SetSilent(true)
	_, err := s.StableWeight(t.Context())
	if !errors.Is(err, plc.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("StableWeight from a silent scale = %v; want ErrTimeout", err)
	}
	var te *scale.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("error %T is not a *ScaleTimeoutError", err)
	}
	want := &scale.TimeoutError{Instrument: "SC-01", Command: "S", Timeout: 150 * time.Millisecond}
	if diff := cmp.Diff(want, te); diff != "" {
		t.Errorf("timeout error (-want +got):\n%s", diff)
	}
	// The port stays open: the scale answers again once it speaks.
	sim.SetSilent(false)
	if _, err := s.SerialNumber(t.Context()); err != nil {
		t.Fatalf("SerialNumber after timeout: %v", err)
	}
}

func TestScaleTimeoutWaitingForStability(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, nil)
	s := newScale(t, sim, 100*time.Millisecond)
	sim.SetLoad(dec("5"))
	sim.SetStable(false)
	if _, err := s.Tare(t.Context()); !errors.Is(err, plc.ErrTimeout) {
		t.Fatalf("Tare while unstable = %v; want ErrTimeout", err)
	}
	// Once stable, the scale completes the tare and sends its late "T S"
	// reply, which must not answer SI. The adapter resynchronises with @,
	// which resets the scale (its tare memory included, as after power-on),
	// so SI reads the gross weight: a weighing must tare again after a
	// timeout.
	sim.SetStable(true)
	got, err := s.ImmediateWeight(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reading("5", "g", true, "S S       5.00 g"), got, decimalEqual); diff != "" {
		t.Errorf("reading (-want +got):\n%s", diff)
	}
}

func TestScaleCallerContext(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, nil)
	s := newScale(t, sim, 5*time.Second)
	sim.SetSilent(true)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the command is on the wire.
		for len(sim.Commands()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := s.StableWeight(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, plc.ErrTimeout) {
		t.Fatalf("StableWeight with a cancelled context = %v; want context.Canceled", err)
	}
}

func TestScaleReconnect(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, nil)
	sim.SetLoad(dec("7"))
	s := newScale(t, sim, 2*time.Second)
	want := reading("7", "g", true, "S S       7.00 g")
	check := func(when string) {
		t.Helper()
		got, err := s.StableWeight(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
			t.Errorf("%s (-want +got):\n%s", when, diff)
		}
	}
	check("before unplug")

	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	// The first call finds the line dead, the next ones cannot reopen it.
	for i := range 3 {
		if _, err := s.StableWeight(t.Context()); !errors.Is(err, scale.ErrDisconnected) {
			t.Fatalf("call %d while unplugged = %v; want ErrDisconnected", i, err)
		}
	}
	if err := sim.Plug(); err != nil {
		t.Fatal(err)
	}
	check("first call after plug")

	// Twice, so that the second pty has a different number from the first.
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Plug(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StableWeight(t.Context()); !errors.Is(err, scale.ErrDisconnected) {
		t.Fatalf("call on the old pty = %v; want ErrDisconnected", err)
	}
	check("after the second plug")
}

func TestScaleConcurrentCallsSerialised(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, nil)
	sim.SetLoad(dec("42"))
	sim.SetSerialNumber("SN42")
	sim.SetDelay(2 * time.Millisecond)
	s := newScale(t, sim, 5*time.Second)
	calls := []struct {
		call call
		want any
	}{
		{stableWeight, reading("42", "g", true, "S S      42.00 g")},
		{immediateWeight, reading("42", "g", true, "S S      42.00 g")},
		{tareWeight, reading("0", "g", true, "TA A       0.00 g")},
		{serialNumber, "SN42"},
		{model, []string{"Interlock SIM"}},
	}
	const rounds = 4
	var wg sync.WaitGroup
	errs := make(chan error, len(calls)*rounds)
	for _, c := range calls {
		for range rounds {
			wg.Go(func() {
				got, err := c.call(t.Context(), s)
				if err != nil {
					errs <- err
					return
				}
				if diff := cmp.Diff(c.want, got, decimalEqual); diff != "" {
					errs <- fmt.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := sim.Overlaps(); got != 0 {
		t.Errorf("%d commands overlapped on the wire; want 0", got)
	}
	if got, want := len(sim.Commands()), len(calls)*rounds; got != want {
		t.Errorf("simulator saw %d commands; want %d", got, want)
	}
}

func TestScaleClose(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, nil)
	sim.SetSilent(true)
	s := newScale(t, sim, 10*time.Second)
	errc := make(chan error, 1)
	go func() {
		_, err := s.StableWeight(context.Background())
		errc <- err
	}()
	for len(sim.Commands()) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, scale.ErrClosed) {
		t.Errorf("command in flight at Close = %v; want ErrScaleClosed", err)
	}
	if _, err := s.SerialNumber(t.Context()); !errors.Is(err, scale.ErrClosed) {
		t.Errorf("command after Close = %v; want ErrScaleClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestNewScaleValidates(t *testing.T) {
	t.Parallel()
	ok := func() scale.Config {
		return scale.Config{Serial: scale.SerialLine{Port: "/dev/null"}, Instrument: "SC-01"}
	}
	tests := []struct {
		name   string
		modify func(*scale.Config)
		want   string
	}{
		{"Port", func(c *scale.Config) { c.Serial.Port = "" }, "Config.Serial.Port"},
		{"Instrument", func(c *scale.Config) { c.Instrument = "" }, "Config.Instrument"},
		{"BaudRate", func(c *scale.Config) { c.Serial.BaudRate = -1 }, "Config.Serial.BaudRate"},
		{"DataBits", func(c *scale.Config) { c.Serial.DataBits = 9 }, "Config.Serial.DataBits"},
		{"Parity", func(c *scale.Config) { c.Serial.Parity = "mark" }, "Config.Serial.Parity"},
		{"StopBits", func(c *scale.Config) { c.Serial.StopBits = 3 }, "Config.Serial.StopBits"},
		{"MinBackoff", func(c *scale.Config) { c.Serial.MinBackoff = -1 }, "Config.Serial.MinBackoff"},
		{"MaxBackoff", func(c *scale.Config) { c.Serial.MinBackoff, c.Serial.MaxBackoff = time.Second, time.Millisecond }, "Config.Serial.MaxBackoff"},
		{"Timeout", func(c *scale.Config) { c.Timeout = -time.Second }, "Config.Timeout"},
	}
	for _, tt := range tests {
		cfg := ok()
		tt.modify(&cfg)
		_, err := scale.New(&cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewScale = %v; want an error naming %s", tt.name, err, tt.want)
		}
	}
	if _, err := scale.New(nil); err == nil {
		t.Error("NewScale(nil) = nil error")
	}
	cfg := ok()
	s, err := scale.New(&cfg)
	if err != nil {
		t.Fatalf("NewScale(valid) = %v", err)
	}
	s.Close()
}

// ourGoroutines lists the running goroutines that belong to scales or the
// simulator; the tests that call it are not parallel, so any it finds were
// left behind.
func ourGoroutines() []string {
	buf := make([]byte, 1<<20)
	var found []string
	for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		for _, mark := range []string{"device.(*Scale)", "device.(*StreamScale)", "scalesim.(*Simulator)", "device.(*backoff)"} {
			if strings.Contains(g, mark) {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

func checkNoLeak(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := ourGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left running:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestScaleNoGoroutineLeak is not parallel: see ourGoroutines.
func TestScaleNoGoroutineLeak(t *testing.T) {
	sim, err := scalesim.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scale.New(&scale.Config{
		Serial:     scale.SerialLine{Port: sim.Path(), MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
		Instrument: "SC-01",
		Timeout:    time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StableWeight(t.Context()); err != nil {
		t.Fatal(err)
	}
	sim.Unplug()
	s.StableWeight(t.Context())
	s.StableWeight(t.Context()) // fails to reopen: a backoff timer is pending
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t)
}

// TestScaleLateReplyNeverAnswersTheNextCommand: S times out, its reply
// comes after the next command was sent, with a weight that is no longer
// on the scale. The next reading is the current weight, not the late one:
// the adapter cancels with @ and waits for its I4 before sending.
func TestScaleLateReplyNeverAnswersTheNextCommand(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, nil)
	s := newScale(t, sim, 300*time.Millisecond)
	sim.SetLoad(dec("5"))
	sim.SetDelay(400 * time.Millisecond) // S's reply will come late
	if _, err := s.StableWeight(t.Context()); !errors.Is(err, plc.ErrTimeout) {
		t.Fatalf("StableWeight with a slow reply = %v; want ErrTimeout", err)
	}
	sim.SetDelay(0)
	sim.SetLoad(dec("7"))
	got, err := s.ImmediateWeight(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Value.Equal(dec("7")) {
		t.Errorf("reading after a late reply = %s %s (%q); want the current 7 g, not the late 5 g", got.Value, got.Unit, got.Raw)
	}
	cmds := sim.Commands()
	if n := len(cmds); n < 3 || cmds[n-2] != "@" || cmds[n-1] != "SI" {
		t.Errorf("commands %v; want @ sent before SI", cmds)
	}
	// Once resynchronised, commands go straight on.
	if _, err := s.ImmediateWeight(t.Context()); err != nil {
		t.Fatal(err)
	}
	if cmds := sim.Commands(); cmds[len(cmds)-2] == "@" {
		t.Errorf("commands %v; a clean line needs no @", cmds)
	}
}
