package packml

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	pml "github.com/interlock-mes/interlock/device/packml"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// packMLAccepts is the expected PackML behaviour, written apart from
// packMLTransitions and in another shape: state by state, the commands each
// state of the ISA-TR88.00.02-2015 state-model figure accepts (read from
// the figure as OPC 30050 v1.01 reproduces it, figures 15 and 18, without
// the dashed optional Hold extensions). Names are spelled out as strings so
// that the constants are checked too. A command leads to the same state
// wherever it is accepted (packMLCommandTarget); SC leads to the state that
// follows the acting state (packMLSCTarget).
var packMLAccepts = map[mes.State][]mes.Command{
	"Clearing":     {"Abort", "SC"},
	"Stopped":      {"Reset", "Abort"},
	"Starting":     {"Stop", "Abort", "SC"},
	"Idle":         {"Start", "Stop", "Abort"},
	"Suspended":    {"Unsuspend", "Stop", "Abort"},
	"Execute":      {"Hold", "Suspend", "Stop", "Abort", "SC"},
	"Stopping":     {"Abort", "SC"},
	"Aborting":     {"SC"},
	"Aborted":      {"Clear"},
	"Holding":      {"Stop", "Abort", "SC"},
	"Held":         {"Unhold", "Stop", "Abort"},
	"Unholding":    {"Stop", "Abort", "SC"},
	"Suspending":   {"Stop", "Abort", "SC"},
	"Unsuspending": {"Stop", "Abort", "SC"},
	"Resetting":    {"Stop", "Abort", "SC"},
	"Completing":   {"Stop", "Abort", "SC"},
	"Complete":     {"Reset", "Stop", "Abort"},
}

var packMLCommandTarget = map[mes.Command]mes.State{
	"Reset": "Resetting", "Start": "Starting", "Stop": "Stopping",
	"Hold": "Holding", "Unhold": "Unholding", "Suspend": "Suspending",
	"Unsuspend": "Unsuspending", "Abort": "Aborting", "Clear": "Clearing",
}

var packMLSCTarget = map[mes.State]mes.State{
	"Resetting": "Idle", "Starting": "Execute", "Execute": "Completing",
	"Completing": "Complete", "Holding": "Held", "Unholding": "Execute",
	"Suspending": "Suspended", "Unsuspending": "Execute", "Stopping": "Stopped",
	"Aborting": "Aborted", "Clearing": "Stopped",
}

// packMLExpect returns where the expectation tables say command leads from
// s, and whether s accepts it at all.
func packMLExpect(s mes.State, command mes.Command) (mes.State, bool) {
	for _, c := range packMLAccepts[s] {
		if c != command {
			continue
		}
		if c == "SC" {
			return packMLSCTarget[s], true
		}
		return packMLCommandTarget[c], true
	}
	return "", false
}

// packMLAllCommands is the ten columns of the exhaustive check, and two
// commands no PackML state accepts (case matters: "stop" is not "Stop").
var packMLAllCommands = []mes.Command{"Reset", "Start", "Stop", "Hold", "Unhold", "Suspend", "Unsuspend", "Abort", "Clear", "SC", "stop", ""}

func buildPackML(t *testing.T) *mes.Model {
	t.Helper()
	m, err := Model()
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	return m
}

func TestPackMLModelShape(t *testing.T) {
	t.Parallel()
	m := buildPackML(t)
	var wantStates []mes.State
	for _, s := range pml.States() {
		wantStates = append(wantStates, mes.State(s))
	}
	type shape struct {
		Name     string
		Version  int
		Initial  mes.State
		States   []mes.State
		Final    []mes.State
		Commands []mes.Command
	}
	got := shape{Name: m.Name(), Version: m.Version(), Initial: m.Initial(), States: m.States(), Commands: m.Commands()}
	for _, s := range m.States() {
		if m.IsFinal(s) {
			got.Final = append(got.Final, s)
		}
	}
	want := shape{
		Name: "packml", Version: 1, Initial: "Stopped", States: wantStates,
		Commands: []mes.Command{"Reset", "Start", "Stop", "Hold", "Unhold", "Suspend", "Unsuspend", "Abort", "Clear", "SC"},
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b mes.Command) bool { return a < b })); diff != "" {
		t.Errorf("PackML model (-want +got):\n%s", diff)
	}
	if len(packMLAccepts) != 17 || len(m.States()) != 17 {
		t.Fatalf("the expectation has %d states and the model %d, want 17 each", len(packMLAccepts), len(m.States()))
	}
}

// TestPackMLEveryPair checks every (state, command) pair of the model, 17
// states by the ten commands and two unknown ones, against packMLAccepts.
func TestPackMLEveryPair(t *testing.T) {
	t.Parallel()
	m := buildPackML(t)
	checked, legal := 0, 0
	for _, s := range m.States() {
		if _, ok := packMLAccepts[s]; !ok {
			t.Fatalf("model state %q is not in the expectation", s)
		}
		for _, c := range packMLAllCommands {
			checked++
			tr, err := m.Transition(s, c)
			to, ok := packMLExpect(s, c)
			if ok {
				legal++
				if err != nil {
					t.Errorf("(%s, %s): %v, want a move to %s", s, c, err, to)
					continue
				}
				got := [3]string{string(tr.From), string(tr.Command), string(tr.To)}
				if diff := cmp.Diff([3]string{string(s), string(c), string(to)}, got); diff != "" {
					t.Errorf("(%s, %s) transition (-want +got):\n%s", s, c, diff)
				}
				if diff := cmp.Diff([]string{"packml." + lower(string(to))}, tr.Records); diff != "" {
					t.Errorf("(%s, %s) records (-want +got):\n%s", s, c, diff)
				}
				continue
			}
			var ite *mes.IllegalTransitionError
			if !errors.As(err, &ite) {
				t.Errorf("(%s, %s): error = %v, want an *IllegalTransitionError", s, c, err)
				continue
			}
			want := &mes.IllegalTransitionError{Model: "packml", State: s, Command: c, Permitted: packMLAccepts[s]}
			if diff := cmp.Diff(want, ite, cmpopts.SortSlices(func(a, b mes.Command) bool { return a < b })); diff != "" {
				t.Errorf("(%s, %s) error (-want +got):\n%s", s, c, diff)
			}
		}
	}
	// 46 = Reset 2, Start 1, Hold 1, Unhold 1, Suspend 1, Unsuspend 1,
	// Clear 1, SC 11, Stop 12, Abort 15: a recount, independent of both
	// tables, that neither lost a row.
	if checked != 17*len(packMLAllCommands) || legal != 46 || len(m.Transitions()) != 46 {
		t.Errorf("checked %d pairs, %d legal, model has %d transitions; want %d, 46, 46", checked, legal, len(m.Transitions()), 17*len(packMLAllCommands))
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestPackMLStateMapping(t *testing.T) {
	t.Parallel()
	m := buildPackML(t)
	for _, d := range pml.States() {
		s, err := StateOf(d)
		if err != nil {
			t.Errorf("StateOf(%q): %v", d, err)
			continue
		}
		if !containsState(m.States(), s) {
			t.Errorf("StateOf(%q) = %q, not a state of the model", d, s)
		}
		back, err := DeviceState(s)
		if err != nil || back != d {
			t.Errorf("DeviceState(%q) = %q, %v; want %q", s, back, err, d)
		}
	}
	for _, s := range m.States() {
		if _, err := DeviceState(s); err != nil {
			t.Errorf("model state %q has no device state: %v", s, err)
		}
	}
	for _, bad := range []string{"", "stopped", "Running", "Undefined", "Stopped "} {
		_, err1 := StateOf(pml.State(bad))
		_, err2 := DeviceState(mes.State(bad))
		for _, err := range []error{err1, err2} {
			var ue *UnknownStateError
			if !errors.As(err, &ue) || ue.State != bad || !errors.Is(err, ErrUnknownState) {
				t.Errorf("state %q: error = %v, want an *UnknownStateError naming it", bad, err)
			}
		}
	}
}

func containsState(ss []mes.State, s mes.State) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// TestExplainPackMLChangeEveryPair checks all 17 × 17 moves between device
// states against the expectation tables: a move the standard allows is
// explained by the one command that makes it; any other is a
// *ChangeError whose route of missed states is legal step by step.
func TestExplainPackMLChangeEveryPair(t *testing.T) {
	t.Parallel()
	states := pml.States()
	for _, from := range states {
		for _, to := range states {
			var want []mes.Command
			for _, c := range packMLAllCommands {
				if target, ok := packMLExpect(mes.State(from), c); ok && target == mes.State(to) {
					want = append(want, c)
				}
			}
			if len(want) > 1 {
				t.Fatalf("%s -> %s: the expectation allows %v; the standard never offers two", from, to, want)
			}
			got, err := Explain(pml.Change{From: from, To: to})
			if len(want) == 1 {
				if err != nil || got != want[0] {
					t.Errorf("Explain(%s -> %s) = %q, %v; want %q", from, to, got, err, want[0])
				}
				continue
			}
			var ce *ChangeError
			if !errors.As(err, &ce) || !errors.Is(err, mes.ErrIllegalTransition) || got != "" {
				t.Errorf("Explain(%s -> %s) = %q, %v; want a *ChangeError", from, to, got, err)
				continue
			}
			if ce.From != from || ce.To != to {
				t.Errorf("%s -> %s: error names %s -> %s", from, to, ce.From, ce.To)
			}
			if diff := cmp.Diff(packMLAccepts[mes.State(from)], ce.Accepted, cmpopts.SortSlices(func(a, b mes.Command) bool { return a < b })); diff != "" {
				t.Errorf("%s -> %s: accepted commands (-want +got):\n%s", from, to, diff)
			}
			// Every PackML state can reach every other, so a route always exists.
			route := append(append([]pml.State{from}, ce.Missed...), to)
			if len(ce.Missed) == 0 {
				t.Errorf("%s -> %s: no missed states, but the move is not a single step", from, to)
			}
			for i := 1; i < len(route); i++ {
				if !packMLStepAllowed(mes.State(route[i-1]), mes.State(route[i])) {
					t.Errorf("%s -> %s: route %v takes a step %s -> %s the standard does not allow", from, to, route, route[i-1], route[i])
				}
			}
		}
	}
}

func packMLStepAllowed(from, to mes.State) bool {
	for _, c := range packMLAccepts[from] {
		if target, _ := packMLExpect(from, c); target == to {
			return true
		}
	}
	return false
}

func TestExplainPackMLChangeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change pml.Change
		is     error
		missed []pml.State // for a *ChangeError
	}{
		{"first read", pml.Change{To: pml.Idle}, ErrNoPriorState, nil},
		{"unknown from", pml.Change{From: "Running", To: pml.Idle}, ErrUnknownState, nil},
		{"unknown to", pml.Change{From: pml.Idle, To: "idle"}, ErrUnknownState, nil},
		{"empty to", pml.Change{From: pml.Idle}, ErrUnknownState, nil},
		{"hold seen late", pml.Change{From: pml.Execute, To: pml.Held}, mes.ErrIllegalTransition,
			[]pml.State{pml.Holding}},
		{"start from stopped", pml.Change{From: pml.Stopped, To: pml.Execute}, mes.ErrIllegalTransition,
			[]pml.State{pml.Resetting, pml.Idle, pml.Starting}},
		{"optional hold from suspended", pml.Change{From: pml.Suspended, To: pml.Holding}, mes.ErrIllegalTransition,
			[]pml.State{pml.Unsuspending, pml.Execute}},
		{"aborted skips clearing", pml.Change{From: pml.Aborted, To: pml.Stopped}, mes.ErrIllegalTransition,
			[]pml.State{pml.Clearing}},
		// A state never moves to itself; the shortest way round is through
		// Holding, the first of Execute's commands in sorted order.
		{"no move", pml.Change{From: pml.Execute, To: pml.Execute}, mes.ErrIllegalTransition,
			[]pml.State{pml.Holding, pml.Held, pml.Unholding}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Explain(tt.change)
			if got != "" || !errors.Is(err, tt.is) {
				t.Fatalf("Explain(%+v) = %q, %v; want an error matching %v", tt.change, got, err, tt.is)
			}
			var ce *ChangeError
			if errors.As(err, &ce) != (tt.missed != nil) {
				t.Fatalf("error = %v (%T); want a *ChangeError: %v", err, err, tt.missed != nil)
			}
			if ce != nil {
				if diff := cmp.Diff(tt.missed, ce.Missed); diff != "" {
					t.Errorf("missed states (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPackMLDOTGolden(t *testing.T) {
	t.Parallel()
	got := buildPackML(t).DOT()
	path := filepath.Join("testdata", "packml.dot")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("PackML DOT (-want +got):\n%s", diff)
	}
}

func ExampleExplain() {
	// Moves as a PLC's PackML state register reports them.
	for _, change := range []pml.Change{
		{From: pml.Idle, To: pml.Starting},
		{From: pml.Starting, To: pml.Execute},
		{From: pml.Execute, To: pml.Held},
	} {
		command, err := Explain(change)
		var ce *ChangeError
		switch {
		case errors.As(err, &ce):
			fmt.Printf("%s -> %s: not allowed; missed %v\n", change.From, change.To, ce.Missed)
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%s -> %s: %s\n", change.From, change.To, command)
		}
	}
	// Output:
	// Idle -> Starting: Start
	// Starting -> Execute: SC
	// Execute -> Held: not allowed; missed [Holding]
}

func ExampleModel() {
	m, err := Model()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = m.Transition(Idle, CmdHold)
	fmt.Println(m.Initial(), len(m.States()), "states")
	fmt.Println(err)
	// Output:
	// Stopped 17 states
	// packml: "Hold" is not permitted in state "Idle" (permitted: [Abort Start Stop])
}

// FuzzExplainPackMLChange feeds arbitrary state names, as a misbehaving
// device or a tampered event could carry them: Explain must
// never panic, must fail only with its documented errors, and an
// explanation it gives must be a transition of the model to the same state.
func FuzzExplainPackMLChange(f *testing.F) {
	for _, s := range pml.States() {
		f.Add(string(s), "Stopping")
	}
	f.Add("", "Idle")
	f.Add("Execute", "Held")
	f.Add("Idle", "idle")
	f.Add("\xff", "Stopped\x00")
	m, err := Model()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		command, err := Explain(pml.Change{From: pml.State(from), To: pml.State(to)})
		if err != nil {
			var ce *ChangeError
			switch {
			case errors.Is(err, ErrNoPriorState) && from == "":
			case errors.Is(err, ErrUnknownState):
			case errors.As(err, &ce):
				if ce.From != pml.State(from) || ce.To != pml.State(to) {
					t.Fatalf("error %v names another move than %q -> %q", err, from, to)
				}
			default:
				t.Fatalf("Explain(%q, %q): undocumented error %v", from, to, err)
			}
			if command != "" {
				t.Fatalf("Explain(%q, %q) = %q with error %v", from, to, command, err)
			}
			return
		}
		tr, err := m.Transition(mes.State(from), command)
		if err != nil || tr.To != mes.State(to) {
			t.Fatalf("Explain(%q, %q) = %q, but the model gives %v, %v", from, to, command, tr, err)
		}
	})
}

var update = flag.Bool("update", false, "rewrite golden files in testdata")
