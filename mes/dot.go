package mes

import (
	"fmt"
	"strings"

	"github.com/interlock-mes/interlock/gate"
)

// DOT renders the model as a Graphviz digraph: the initial state marked,
// final states doubled, and each transition labelled with its command, its
// gates, evidence and signatures. The output is the same for the same model.
func (m *Model) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n", fmt.Sprintf("%s v%d", m.name, m.version))
	b.WriteString("\trankdir=LR;\n\tnode [shape=box, style=rounded];\n")
	b.WriteString("\t__initial__ [shape=point];\n")
	fmt.Fprintf(&b, "\t__initial__ -> %q;\n", string(m.initial))
	for _, s := range m.states {
		if m.final[s] {
			fmt.Fprintf(&b, "\t%q [peripheries=2];\n", string(s))
		}
	}
	for _, t := range m.Transitions() {
		label := []string{string(t.Command)}
		for _, g := range t.Gates {
			if n := gate.Name(g); n != "" {
				label = append(label, "["+n+"]")
			} else {
				label = append(label, "[gate]")
			}
		}
		for _, e := range t.Evidence {
			label = append(label, "evidence: "+e.Name)
		}
		for _, s := range t.Signatures {
			sig := fmt.Sprintf("sign: %s x%d", s.Meaning, s.Count)
			if s.NotPerformer {
				sig += ", not performer"
			}
			if s.NotActor {
				sig += ", not actor"
			}
			label = append(label, sig)
		}
		fmt.Fprintf(&b, "\t%q -> %q [label=%q];\n", string(t.From), string(t.To), strings.Join(label, "\n"))
	}
	b.WriteString("}\n")
	return b.String()
}
