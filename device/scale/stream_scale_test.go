//go:build linux

package scale_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/device/scale"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/device/scale/scalesim"
)

func newStreamScale(t *testing.T, sim *scalesim.Simulator) *scale.Stream {
	t.Helper()
	s, err := scale.NewStream(&scale.StreamConfig{
		Serial:     scale.SerialLine{Port: sim.Path(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Instrument: "SC-01",
		Clock:      fixedClock,
		Format:     scale.CommaStreamFormat(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close stream scale: %v", err)
		}
	})
	return s
}

// emitUntil writes the lines over and over until stop is closed, so that a
// waiter registered at any moment sees them.
func emitUntil(t *testing.T, sim *scalesim.Simulator, stop <-chan struct{}, lines ...string) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, l := range lines {
				if err := sim.Emit(l); err != nil {
					t.Errorf("emit: %v", err)
					return
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return done
}

func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStreamScaleLatest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		want    device.Reading
		wantErr error
	}{
		{"Stable", "ST,GS,+00012.34kg", reading("12.34", "kg", true, "ST,GS,+00012.34kg"), nil},
		{"Unstable", "US,GS,-00001.50kg", reading("-1.5", "kg", false, "US,GS,-00001.50kg"), nil},
		{"Overload", "OL,GS,+99999.99kg", device.Reading{}, scale.ErrOverload},
		{"Malformed", "ST,GS,garbage", device.Reading{}, scale.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := newSimulator(t, &scalesim.Config{Stream: &scalesim.Stream{}})
			s := newStreamScale(t, sim)
			if err := sim.Emit(tt.line); err != nil {
				t.Fatal(err)
			}
			got, err := s.Latest(withTimeout(t))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Latest = %v; want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
				t.Errorf("Latest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamScaleNextStable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		lines   []string
		want    device.Reading
		wantErr error
	}{
		{
			name:  "SkipsUnstableAndNoise",
			lines: []string{"US,GS,+00001.00kg", "@@noise@@", "ST,GS,+00002.00kg"},
			want:  reading("2", "kg", true, "ST,GS,+00002.00kg"),
		},
		{
			name:    "Overload",
			lines:   []string{"US,GS,+00001.00kg", "OL,GS,+99999.99kg"},
			wantErr: scale.ErrOverload,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := newSimulator(t, &scalesim.Config{Stream: &scalesim.Stream{}})
			s := newStreamScale(t, sim)
			stop := make(chan struct{})
			done := emitUntil(t, sim, stop, tt.lines...)
			got, err := s.NextStable(withTimeout(t))
			close(stop)
			<-done
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("NextStable = %v; want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
				t.Errorf("NextStable (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamScaleLineEndCR(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, &scalesim.Config{Stream: &scalesim.Stream{}})
	s, err := scale.NewStream(&scale.StreamConfig{
		Serial:     scale.SerialLine{Port: sim.Path()},
		Instrument: "SC-01",
		Clock:      fixedClock,
		Format:     scale.CommaStreamFormat(),
		LineEnd:    "\r",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Emit adds CR LF: under a CR ending, the LF starts the next line, so
	// the first line is the only clean one.
	if err := sim.Emit("ST,GS,+00003.00kg"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Latest(withTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reading("3", "kg", true, "ST,GS,+00003.00kg"), got, decimalEqual); diff != "" {
		t.Errorf("Latest (-want +got):\n%s", diff)
	}
}

// waitFor polls Latest until ok accepts its result, or fails the test.
func waitFor(t *testing.T, s *scale.Stream, what string, ok func(device.Reading, error) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := s.Latest(withTimeout(t))
		if ok(r, err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: last Latest = %+v, %v", what, r, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestStreamScaleReconnect(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, &scalesim.Config{Unit: "kg", Stream: &scalesim.Stream{Interval: 2 * time.Millisecond}})
	sim.SetLoad(dec("5"))
	s := newStreamScale(t, sim)
	isFive := func(r device.Reading, err error) bool { return err == nil && r.Value.Equal(dec("5")) }
	waitFor(t, s, "a reading", isFive)

	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "the port to fail", func(_ device.Reading, err error) bool { return errors.Is(err, scale.ErrDisconnected) })
	if _, err := s.NextStable(withTimeout(t)); !errors.Is(err, scale.ErrDisconnected) {
		t.Errorf("NextStable while unplugged = %v; want ErrDisconnected", err)
	}

	sim.SetLoad(dec("6"))
	if err := sim.Plug(); err != nil {
		t.Fatal(err)
	}
	got, err := s.NextStable(withTimeout(t))
	if err != nil {
		t.Fatalf("NextStable after plug: %v", err)
	}
	if diff := cmp.Diff(reading("6", "kg", true, "ST,GS,+00006.00kg"), got, decimalEqual); diff != "" {
		t.Errorf("NextStable after plug (-want +got):\n%s", diff)
	}
}

func TestStreamScaleClose(t *testing.T) {
	t.Parallel()
	sim := newSimulator(t, &scalesim.Config{Stream: &scalesim.Stream{}})
	s := newStreamScale(t, sim)
	errc := make(chan error, 2)
	go func() {
		_, err := s.NextStable(context.Background())
		errc <- err
	}()
	go func() {
		_, err := s.Latest(context.Background())
		errc <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errc; !errors.Is(err, scale.ErrClosed) {
			t.Errorf("call in flight at Close = %v; want ErrScaleClosed", err)
		}
	}
	if _, err := s.Latest(t.Context()); !errors.Is(err, scale.ErrClosed) {
		t.Errorf("Latest after Close = %v; want ErrScaleClosed", err)
	}
}

func TestNewStreamScaleValidates(t *testing.T) {
	t.Parallel()
	ok := func() scale.StreamConfig {
		return scale.StreamConfig{
			Serial:     scale.SerialLine{Port: "/nonexistent"},
			Instrument: "SC-01",
			Format:     scale.CommaStreamFormat(),
		}
	}
	tests := []struct {
		name   string
		modify func(*scale.StreamConfig)
		want   string
	}{
		{"Port", func(c *scale.StreamConfig) { c.Serial.Port = "" }, "StreamConfig.Serial.Port"},
		{"Instrument", func(c *scale.StreamConfig) { c.Instrument = "" }, "StreamConfig.Instrument"},
		{"LineEnd", func(c *scale.StreamConfig) { c.LineEnd = "\n\r" }, "StreamConfig.LineEnd"},
		{"Format", func(c *scale.StreamConfig) { c.Format.Pattern = nil }, "StreamFormat.Pattern"},
	}
	for _, tt := range tests {
		cfg := ok()
		tt.modify(&cfg)
		_, err := scale.NewStream(&cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewStreamScale = %v; want an error naming %s", tt.name, err, tt.want)
		}
	}
	if _, err := scale.NewStream(nil); err == nil {
		t.Error("NewStreamScale(nil) = nil error")
	}
	// A port that does not exist is reported by Latest, not by the
	// constructor: the scale may be plugged in later.
	cfg := ok()
	s, err := scale.NewStream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Latest(withTimeout(t)); !errors.Is(err, scale.ErrDisconnected) {
		t.Errorf("Latest on a missing port = %v; want ErrDisconnected", err)
	}
}

// TestStreamScaleNoGoroutineLeak is not parallel: see ourGoroutines.
func TestStreamScaleNoGoroutineLeak(t *testing.T) {
	sim, err := scalesim.New(&scalesim.Config{Stream: &scalesim.Stream{Interval: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scale.NewStream(&scale.StreamConfig{
		Serial:     scale.SerialLine{Port: sim.Path(), MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
		Instrument: "SC-01",
		Format:     scale.CommaStreamFormat(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextStable(withTimeout(t)); err != nil {
		t.Fatal(err)
	}
	if len(ourGoroutines()) == 0 {
		t.Fatal("the leak check finds no goroutine of a running StreamScale: it would find no leak either")
	}
	sim.Unplug()
	waitFor(t, s, "the port to fail", func(_ device.Reading, err error) bool { return errors.Is(err, scale.ErrDisconnected) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t)
}
