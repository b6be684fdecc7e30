package mes_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestBuildReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := mes.NewModel("", 0).
		States("a", "b", "b", "orphan", "stuck", "").
		Initial("a").
		Final("end").
		Permit("a", "go", "b").
		Permit("a", "go", "stuck").
		Permit("b", "", "a").
		Permit("nowhere", "jump", "a").
		Permit("a", "fly", "missing").
		Permit("b", "sign", "a", mes.WithSignatures(mes.SignatureRequirement{Count: 0}), mes.WithEvidence(mes.EvidenceRequirement{}), mes.WithGates(nil), mes.Recording("")).
		Build()
	var de *mes.DefinitionError
	if !errors.As(err, &de) || !errors.Is(err, mes.ErrDefinition) {
		t.Fatalf("Build error = %v, want a *DefinitionError", err)
	}
	want := []string{
		"the model has no name",
		"version 0: versions start at 1",
		`state "b" is declared twice`,
		"a declared state has an empty name",
		`final state "end" is not declared`,
		`command "go" is already permitted from "a"`,
		"the command is empty",
		`from unknown state "nowhere"`,
		`to unknown state "missing"`,
		"signature requirement 0 has no meaning",
		"needs a count of at least 1, not 0",
		"evidence requirement 0 has no name",
		"gate 0 is nil",
		"recorded event type 0 is empty",
		`state "orphan" cannot be reached from "a"`,
		`state "orphan" is not final and has no transition out`,
		`state "stuck" is not final and has no transition out`,
	}
	all := strings.Join(de.Problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("problems do not mention %q:\n%s", w, all)
		}
	}
}

func TestFinalStateCannotBeLeft(t *testing.T) {
	t.Parallel()
	_, err := mes.NewModel("m", 1).States("a", "z").Initial("a").Final("z").
		Permit("a", "end", "z").Permit("z", "again", "a").Build()
	var de *mes.DefinitionError
	if !errors.As(err, &de) || len(de.Problems) != 1 || !strings.Contains(de.Problems[0], `leaves final state "z"`) {
		t.Fatalf("error = %v, want exactly the final-state problem", err)
	}
}

// lifecycleTable is the expected behaviour of each standard lifecycle,
// written out independently of its definition: for every state, the
// commands it permits and where they lead. Every other pair is illegal.
var lifecycleTable = map[string]map[mes.State]map[mes.Command]mes.State{
	"batch": {
		mes.BatchPlanned:    {mes.CmdRelease: mes.BatchReady, mes.CmdCancel: mes.BatchCancelled},
		mes.BatchReady:      {mes.CmdStart: mes.BatchInProgress, mes.CmdCancel: mes.BatchCancelled},
		mes.BatchInProgress: {mes.CmdBlock: mes.BatchBlocked, mes.CmdHold: mes.BatchHeld, mes.CmdAbort: mes.BatchAborted, mes.CmdComplete: mes.BatchComplete},
		mes.BatchBlocked:    {mes.CmdUnblock: mes.BatchInProgress, mes.CmdAbort: mes.BatchAborted},
		mes.BatchHeld:       {mes.CmdRestart: mes.BatchInProgress, mes.CmdAbort: mes.BatchAborted},
		mes.BatchComplete:   {mes.CmdVerify: mes.BatchVerified},
		mes.BatchVerified:   {mes.CmdClose: mes.BatchClosed},
		mes.BatchClosed:     {},
		mes.BatchCancelled:  {},
		mes.BatchAborted:    {},
	},
	"order": {
		mes.OrderCreated:    {mes.CmdRelease: mes.OrderReleased, mes.CmdCancel: mes.OrderCancelled},
		mes.OrderReleased:   {mes.CmdStart: mes.OrderInProgress, mes.CmdCancel: mes.OrderCancelled},
		mes.OrderInProgress: {mes.CmdComplete: mes.OrderCompleted},
		mes.OrderCompleted:  {mes.CmdClose: mes.OrderClosed},
		mes.OrderClosed:     {},
		mes.OrderCancelled:  {},
	},
	"step": {
		mes.StepPending:    {mes.CmdStart: mes.StepInProgress, mes.CmdSkip: mes.StepSkipped},
		mes.StepInProgress: {mes.CmdBlock: mes.StepBlocked, mes.CmdComplete: mes.StepComplete},
		mes.StepBlocked:    {mes.CmdUnblock: mes.StepInProgress},
		mes.StepComplete:   {mes.CmdVerify: mes.StepVerified},
		mes.StepVerified:   {},
		mes.StepSkipped:    {},
	},
}

var allCommands = []mes.Command{mes.CmdRelease, mes.CmdStart, mes.CmdBlock, mes.CmdUnblock, mes.CmdHold, mes.CmdRestart, mes.CmdComplete, mes.CmdVerify, mes.CmdClose, mes.CmdCancel, mes.CmdAbort, mes.CmdSkip, "no-such-command"}

// TestLifecyclesEveryPair walks every (state, command) pair of each standard
// lifecycle against the table.
func TestLifecyclesEveryPair(t *testing.T) {
	t.Parallel()
	for name, build := range map[string]func(...mes.Option) (*mes.Model, error){
		"batch": mes.BatchLifecycle, "order": mes.OrderLifecycle, "step": mes.StepLifecycle,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := build()
			if err != nil {
				t.Fatal(err)
			}
			table := lifecycleTable[name]
			if len(m.States()) != len(table) {
				t.Fatalf("model has states %v, the table %d", m.States(), len(table))
			}
			for _, s := range m.States() {
				permitted, ok := table[s]
				if !ok {
					t.Fatalf("state %q is not in the table", s)
				}
				if m.IsFinal(s) != (len(permitted) == 0) {
					t.Errorf("state %q: final = %v, but the table permits %v", s, m.IsFinal(s), permitted)
				}
				for _, c := range allCommands {
					tr, err := m.Transition(s, c)
					to, legal := permitted[c]
					switch {
					case legal && err != nil:
						t.Errorf("(%s, %s): %v, want a move to %s", s, c, err, to)
					case legal && tr.To != to:
						t.Errorf("(%s, %s) leads to %s, want %s", s, c, tr.To, to)
					case !legal:
						var ite *mes.IllegalTransitionError
						if !errors.As(err, &ite) || ite.State != s || ite.Command != c {
							t.Errorf("(%s, %s): error = %v, want an *IllegalTransitionError for that pair", s, c, err)
						}
					}
				}
			}
		})
	}
}

func TestDOTGolden(t *testing.T) {
	t.Parallel()
	for name, build := range map[string]func(...mes.Option) (*mes.Model, error){
		"batch": mes.BatchLifecycle, "order": mes.OrderLifecycle, "step": mes.StepLifecycle,
	} {
		m, err := build()
		if err != nil {
			t.Fatal(err)
		}
		got := m.DOT()
		path := filepath.Join("testdata", name+".dot")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s DOT (-want +got):\n%s", name, diff)
		}
	}
}
