package mes_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/mes/lifecycle"

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
		lifecycle.BatchPlanned:    {mes.CmdRelease: lifecycle.BatchReady, mes.CmdCancel: lifecycle.BatchCancelled},
		lifecycle.BatchReady:      {mes.CmdStart: lifecycle.BatchInProgress, mes.CmdCancel: lifecycle.BatchCancelled},
		lifecycle.BatchInProgress: {mes.CmdBlock: lifecycle.BatchBlocked, mes.CmdHold: lifecycle.BatchHeld, mes.CmdAbort: lifecycle.BatchAborted, mes.CmdComplete: lifecycle.BatchComplete},
		lifecycle.BatchBlocked:    {mes.CmdUnblock: lifecycle.BatchInProgress, mes.CmdAbort: lifecycle.BatchAborted},
		lifecycle.BatchHeld:       {mes.CmdRestart: lifecycle.BatchInProgress, mes.CmdAbort: lifecycle.BatchAborted},
		lifecycle.BatchComplete:   {mes.CmdVerify: lifecycle.BatchVerified},
		lifecycle.BatchVerified:   {mes.CmdClose: lifecycle.BatchClosed},
		lifecycle.BatchClosed:     {},
		lifecycle.BatchCancelled:  {},
		lifecycle.BatchAborted:    {},
	},
	"order": {
		lifecycle.OrderCreated:    {mes.CmdRelease: lifecycle.OrderReleased, mes.CmdCancel: lifecycle.OrderCancelled},
		lifecycle.OrderReleased:   {mes.CmdStart: lifecycle.OrderInProgress, mes.CmdCancel: lifecycle.OrderCancelled},
		lifecycle.OrderInProgress: {mes.CmdComplete: lifecycle.OrderCompleted},
		lifecycle.OrderCompleted:  {mes.CmdClose: lifecycle.OrderClosed},
		lifecycle.OrderClosed:     {},
		lifecycle.OrderCancelled:  {},
	},
	"step": {
		lifecycle.StepPending:    {mes.CmdStart: lifecycle.StepInProgress, mes.CmdSkip: lifecycle.StepSkipped},
		lifecycle.StepInProgress: {mes.CmdBlock: lifecycle.StepBlocked, mes.CmdComplete: lifecycle.StepComplete},
		lifecycle.StepBlocked:    {mes.CmdUnblock: lifecycle.StepInProgress},
		lifecycle.StepComplete:   {mes.CmdVerify: lifecycle.StepVerified},
		lifecycle.StepVerified:   {},
		lifecycle.StepSkipped:    {},
	},
}

var allCommands = []mes.Command{mes.CmdRelease, mes.CmdStart, mes.CmdBlock, mes.CmdUnblock, mes.CmdHold, mes.CmdRestart, mes.CmdComplete, mes.CmdVerify, mes.CmdClose, mes.CmdCancel, mes.CmdAbort, mes.CmdSkip, "no-such-command"}

// TestLifecyclesEveryPair walks every (state, command) pair of each standard
// lifecycle against the table.
func TestLifecyclesEveryPair(t *testing.T) {
	t.Parallel()
	for name, build := range map[string]func(...lifecycle.Option) (*mes.Model, error){
		"batch": lifecycle.Batch, "order": lifecycle.Order, "step": lifecycle.Step,
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
	for name, build := range map[string]func(...lifecycle.Option) (*mes.Model, error){
		"batch": lifecycle.Batch, "order": lifecycle.Order, "step": lifecycle.Step,
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
