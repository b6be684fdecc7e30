//go:build linux

package scalesim_test

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"go.bug.st/serial"

	"github.com/interlock-mes/interlock/device/scale/scalesim"
)

// open opens the simulator's port with the same library the adapters use.
func open(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// readLine reads up to and including CR LF, or fails the test after 5s.
func readLine(t *testing.T, p serial.Port) string {
	t.Helper()
	var got []byte
	buf := make([]byte, 64)
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.HasSuffix(got, []byte("\r\n")) {
		if time.Now().After(deadline) {
			t.Fatalf("no complete line; got %q", got)
		}
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	return string(got)
}

func ask(t *testing.T, p serial.Port, cmd string) string {
	t.Helper()
	if _, err := p.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatalf("write %s: %v", cmd, err)
	}
	return readLine(t, p)
}

func newSim(t *testing.T, cfg *scalesim.Config) *scalesim.Simulator {
	t.Helper()
	s, err := scalesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close simulator: %v", err)
		}
	})
	return s
}

func TestMTSICSReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*scalesim.Simulator)
		cmds  []string
		want  []string
	}{
		{
			name:  "StableWeight",
			setup: func(s *scalesim.Simulator) { s.SetLoad(decimal.RequireFromString("100")) },
			cmds:  []string{"S"},
			want:  []string{"S S     100.00 g\r\n"},
		},
		{
			name: "DynamicWeight",
			setup: func(s *scalesim.Simulator) {
				s.SetLoad(decimal.RequireFromString("-1.5"))
				s.SetStable(false)
			},
			cmds: []string{"SI"},
			want: []string{"S D      -1.50 g\r\n"},
		},
		{
			name:  "TareThenNet",
			setup: func(s *scalesim.Simulator) { s.SetLoad(decimal.RequireFromString("12.34")) },
			cmds:  []string{"T", "S", "TA", "@", "TA"},
			want: []string{
				"T S      12.34 g\r\n", "S S       0.00 g\r\n", "TA A      12.34 g\r\n",
				"I4 A \"0123456789\"\r\n", "TA A       0.00 g\r\n",
			},
		},
		{
			name:  "Zero",
			setup: func(s *scalesim.Simulator) { s.SetLoad(decimal.RequireFromString("3")) },
			cmds:  []string{"Z", "SI", "ZI"},
			want:  []string{"Z A\r\n", "S S       0.00 g\r\n", "ZI S\r\n"},
		},
		{
			name:  "Overload",
			setup: func(s *scalesim.Simulator) { s.SetCondition(scalesim.Overload) },
			cmds:  []string{"S", "SI", "T", "Z", "ZI"},
			want:  []string{"S +\r\n", "S +\r\n", "T +\r\n", "Z +\r\n", "ZI +\r\n"},
		},
		{
			name:  "Underload",
			setup: func(s *scalesim.Simulator) { s.SetCondition(scalesim.Underload) },
			cmds:  []string{"S", "Z"},
			want:  []string{"S -\r\n", "Z -\r\n"},
		},
		{
			name:  "Busy",
			setup: func(s *scalesim.Simulator) { s.SetCondition(scalesim.Busy) },
			cmds:  []string{"S", "I4", "TA"},
			want:  []string{"S I\r\n", "I4 I\r\n", "TA I\r\n"},
		},
		{
			name:  "Identity",
			setup: func(s *scalesim.Simulator) { s.SetSerialNumber("B123") },
			cmds:  []string{"I4", "I2"},
			want:  []string{"I4 A \"B123\"\r\n", "I2 A \"Interlock SIM\"\r\n"},
		},
		{
			name:  "Scripted",
			setup: func(s *scalesim.Simulator) { s.Script("S", "EL"); s.Script("S", "ET") },
			cmds:  []string{"S", "S", "XYZ"},
			want:  []string{"EL\r\n", "ET\r\n", "ES\r\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := newSim(t, nil)
			tt.setup(sim)
			p := open(t, sim.Path())
			var got []string
			for _, c := range tt.cmds {
				got = append(got, ask(t, p, c))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("replies (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.cmds, sim.Commands()); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStableWaitsForStability(t *testing.T) {
	t.Parallel()
	sim := newSim(t, nil)
	sim.SetStable(false)
	p := open(t, sim.Path())
	if _, err := p.Write([]byte("S\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	// The read timeout is 100ms: nothing may arrive while the load moves.
	if n, err := p.Read(buf); n != 0 || err != nil {
		t.Fatalf("read while unstable = %q, %v; want nothing", buf[:n], err)
	}
	sim.SetStable(true)
	if diff := cmp.Diff("S S       0.00 g\r\n", readLine(t, p)); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
}

func TestUnplugAndPlug(t *testing.T) {
	t.Parallel()
	sim := newSim(t, nil)
	first, err := os.Readlink(sim.Path())
	if err != nil {
		t.Fatal(err)
	}
	p := open(t, sim.Path())
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sim.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link while unplugged: %v; want it gone", err)
	}
	if _, err := p.Write([]byte("S\r\n")); err == nil {
		if _, err := p.Read(make([]byte, 8)); err == nil {
			t.Error("old port still works after unplug")
		}
	}
	if err := sim.Emit("x"); !errors.Is(err, scalesim.ErrUnplugged) {
		t.Errorf("Emit while unplugged = %v; want ErrUnplugged", err)
	}
	if err := sim.Plug(); err != nil {
		t.Fatal(err)
	}
	second, err := os.Readlink(sim.Path())
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Errorf("link points to %s again; want a new pty", second)
	}
	p2 := open(t, sim.Path())
	if diff := cmp.Diff("I4 A \"0123456789\"\r\n", ask(t, p2, "I4")); diff != "" {
		t.Errorf("reply after plug (-want +got):\n%s", diff)
	}
}

func TestOverlapsCounted(t *testing.T) {
	t.Parallel()
	sim := newSim(t, nil)
	sim.SetDelay(50 * time.Millisecond)
	p := open(t, sim.Path())
	if _, err := p.Write([]byte("I4\r\nI4\r\n")); err != nil {
		t.Fatal(err)
	}
	readLine(t, p)
	readLine(t, p)
	if got := sim.Overlaps(); got != 1 {
		t.Errorf("Overlaps() = %d; want 1", got)
	}
}

func TestStreaming(t *testing.T) {
	t.Parallel()
	sim := newSim(t, &scalesim.Config{Unit: "kg", Stream: &scalesim.Stream{Interval: 5 * time.Millisecond}})
	sim.SetLoad(decimal.RequireFromString("12.34"))
	p := open(t, sim.Path())
	if err := p.ResetInputBuffer(); err != nil {
		t.Fatal(err)
	}
	// Lines written before the load was set may still be in flight.
	for i := 0; ; i++ {
		line := readLine(t, p)
		if line == "ST,GS,+00012.34kg\r\n" {
			break
		}
		if i > 100 {
			t.Fatalf("no line with the load; last %q", line)
		}
	}
	if err := sim.Emit("OL,GS,+99999.99kg"); err != nil {
		t.Fatal(err)
	}
}

func TestCommaLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   scalesim.Snapshot
		want string
	}{
		{scalesim.Snapshot{Net: decimal.RequireFromString("12.34"), Unit: "kg", Decimals: 2, Stable: true}, "ST,GS,+00012.34kg"},
		{scalesim.Snapshot{Net: decimal.RequireFromString("-0.5"), Unit: "kg", Decimals: 2}, "US,GS,-00000.50kg"},
		{scalesim.Snapshot{Net: decimal.RequireFromString("123456.7"), Unit: "g", Decimals: 1, Condition: scalesim.Overload}, "OL,GS,+123456.7g"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, scalesim.CommaLine(tt.in)); diff != "" {
			t.Errorf("CommaLine(%+v) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  scalesim.Config
		want string
	}{
		{"Slash", scalesim.Config{LinkName: "a/b"}, "LinkName"},
		{"Decimals", scalesim.Config{Decimals: 9}, "Decimals"},
		{"Interval", scalesim.Config{Stream: &scalesim.Stream{Interval: -1}}, "Stream.Interval"},
	}
	for _, tt := range tests {
		_, err := scalesim.New(&tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v; want an error naming %s", tt.name, err, tt.want)
		}
	}
}

// TestNoGoroutineLeak is not parallel, so that no other simulator of this
// package is alive while it counts.
func TestNoGoroutineLeak(t *testing.T) {
	for _, cfg := range []*scalesim.Config{nil, {Stream: &scalesim.Stream{Interval: time.Millisecond}}} {
		sim, err := scalesim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sim.SetStable(false)
		p := open(t, sim.Path())
		// A command stuck waiting for stability must not keep its goroutine.
		p.Write([]byte("S\r\n"))
		if err := sim.Unplug(); err != nil {
			t.Fatal(err)
		}
		if err := sim.Plug(); err != nil {
			t.Fatal(err)
		}
		if err := sim.Close(); err != nil {
			t.Fatal(err)
		}
		if err := sim.Plug(); !errors.Is(err, scalesim.ErrClosed) {
			t.Errorf("Plug after Close = %v; want ErrClosed", err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "scalesim.(*Simulator)") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator goroutines still running:\n%s", stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
