package packml

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/interlock-mes/interlock"

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
// explanation it gives must be a transition of the model to the same state,
// with the optional Hold transitions or without.
func FuzzExplainPackMLChange(f *testing.F) {
	for _, s := range pml.States() {
		f.Add(string(s), "Stopping", false)
		f.Add(string(s), "Holding", true)
	}
	f.Add("", "Idle", false)
	f.Add("Execute", "Held", true)
	f.Add("Idle", "idle", false)
	f.Add("\xff", "Stopped\x00", true)
	base, err := Model()
	if err != nil {
		f.Fatal(err)
	}
	optional, err := Model(WithOptionalHold())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, from, to string, optionalHold bool) {
		m, opts := base, []Option(nil)
		if optionalHold {
			m, opts = optional, []Option{WithOptionalHold()}
		}
		command, err := Explain(pml.Change{From: pml.State(from), To: pml.State(to)}, opts...)
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

// packMLOptionalHoldFrom is where the dashed Hold lines of the
// ISA-TR88.00.02 figure start (OPC 30050's StartingToHolding,
// SuspendingToHolding, SuspendedToHolding, UnsuspendingToHolding and
// UnholdingToHolding), spelled out apart from optionalHoldTransitions.
var packMLOptionalHoldFrom = []mes.State{"Starting", "Suspending", "Suspended", "Unsuspending", "Unholding"}

// TestPackMLOptionalHold checks every (state, command) pair of the model
// built WithOptionalHold: Hold from the five states of the dashed lines
// leads to Holding, refused in the base model; every other pair behaves
// exactly as in the base model.
func TestPackMLOptionalHold(t *testing.T) {
	t.Parallel()
	base := buildPackML(t)
	opt, err := Model(WithOptionalHold())
	if err != nil {
		t.Fatal(err)
	}
	if opt.Name() != "packml-optional-hold" || opt.Version() != 1 || base.Name() != "packml" {
		t.Errorf("models are %s v%d and %s v%d; want packml v1 and packml-optional-hold v1", base.Name(), base.Version(), opt.Name(), opt.Version())
	}
	if diff := cmp.Diff(base.States(), opt.States()); diff != "" || opt.Initial() != base.Initial() {
		t.Errorf("states (-base +optional):\n%s", diff)
	}
	added := 0
	for _, s := range base.States() {
		for _, c := range packMLAllCommands {
			bt, berr := base.Transition(s, c)
			ot, oerr := opt.Transition(s, c)
			if c == CmdHold && slices.Contains(packMLOptionalHoldFrom, s) {
				added++
				if !errors.Is(berr, mes.ErrIllegalTransition) {
					t.Errorf("base model: Hold from %s = %v, %v; want it refused", s, bt, berr)
				}
				if oerr != nil || ot == nil || ot.To != Holding || !slices.Equal(ot.Records, []string{"packml.holding"}) {
					t.Errorf("optional Hold from %s = %+v, %v; want a move to Holding recording packml.holding", s, ot, oerr)
				}
				continue
			}
			if (berr == nil) != (oerr == nil) || (berr == nil && (bt.To != ot.To || !slices.Equal(bt.Records, ot.Records))) {
				t.Errorf("(%s, %s): base %+v, %v; optional %+v, %v; want the same", s, c, bt, berr, ot, oerr)
			}
			var ite *mes.IllegalTransitionError
			if errors.As(oerr, &ite) && ite.Model != "packml-optional-hold" {
				t.Errorf("(%s, %s): error names model %q", s, c, ite.Model)
			}
		}
	}
	if added != 5 || len(opt.Transitions()) != len(base.Transitions())+5 {
		t.Errorf("%d optional pairs checked; the models have %d and %d transitions; want 5 more", added, len(base.Transitions()), len(opt.Transitions()))
	}
}

// TestExplainOptionalHold: a move into Holding from one of the five
// states is explained by Hold with the option and refused without it;
// every other move is explained the same either way.
func TestExplainOptionalHold(t *testing.T) {
	t.Parallel()
	for _, from := range pml.States() {
		for _, to := range pml.States() {
			change := pml.Change{From: from, To: to}
			baseCmd, baseErr := Explain(change)
			optCmd, optErr := Explain(change, WithOptionalHold())
			if to == pml.Holding && slices.Contains(packMLOptionalHoldFrom, mes.State(from)) {
				var ce *ChangeError
				if !errors.As(baseErr, &ce) || baseCmd != "" {
					t.Errorf("Explain(%s -> Holding) = %q, %v; want a *ChangeError without the option", from, baseCmd, baseErr)
				}
				if optErr != nil || optCmd != CmdHold {
					t.Errorf("Explain(%s -> Holding, WithOptionalHold) = %q, %v; want Hold", from, optCmd, optErr)
				}
				continue
			}
			if baseCmd != optCmd || (baseErr == nil) != (optErr == nil) {
				t.Errorf("Explain(%s -> %s) = %q, %v; with the option %q, %v; want the same", from, to, baseCmd, baseErr, optCmd, optErr)
			}
			var ce *ChangeError
			if errors.As(optErr, &ce) && slices.Contains(packMLOptionalHoldFrom, mes.State(from)) && !slices.Contains(ce.Accepted, CmdHold) {
				t.Errorf("Explain(%s -> %s, WithOptionalHold): accepted %v lacks Hold", from, to, ce.Accepted)
			}
		}
	}
	// A machine polled too slowly to see Holding went from Suspended
	// straight to Held: with the option, the route it missed is Holding.
	_, err := Explain(pml.Change{From: pml.Suspended, To: pml.Held}, WithOptionalHold())
	var ce *ChangeError
	if !errors.As(err, &ce) || !slices.Equal(ce.Missed, []pml.State{pml.Holding}) {
		t.Errorf("Explain(Suspended -> Held, WithOptionalHold) = %v; want a *ChangeError missing Holding", err)
	}
}

func TestPackMLNilOption(t *testing.T) {
	t.Parallel()
	if m, err := Model(WithOptionalHold(), nil); m != nil || !errors.Is(err, interlock.ErrInvalid) {
		t.Errorf("Model with a nil option = %v, %v; want an error matching interlock.ErrInvalid", m, err)
	}
	if c, err := Explain(pml.Change{From: pml.Suspended, To: pml.Holding}, nil); c != "" || !errors.Is(err, interlock.ErrInvalid) {
		t.Errorf("Explain with a nil option = %q, %v; want an error matching interlock.ErrInvalid", c, err)
	}
}

func TestPackMLOptionalHoldDOTGolden(t *testing.T) {
	t.Parallel()
	m, err := Model(WithOptionalHold())
	if err != nil {
		t.Fatal(err)
	}
	got := m.DOT()
	path := filepath.Join("testdata", "packml_optional_hold.dot")
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
		t.Errorf("PackML DOT with optional Hold (-want +got):\n%s", diff)
	}
}

func ExampleWithOptionalHold() {
	// A PLC reports that a suspended machine went to Holding.
	change := pml.Change{From: pml.Suspended, To: pml.Holding}
	_, err := Explain(change)
	fmt.Println(errors.Is(err, mes.ErrIllegalTransition))
	command, err := Explain(change, WithOptionalHold())
	fmt.Println(command, err)
	// Output:
	// true
	// Hold <nil>
}
