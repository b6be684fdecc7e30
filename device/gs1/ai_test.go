package gs1

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock/device/gs1/internal/dictgen"
)

// The committed table is what the generator makes of the committed
// dictionary, so the two cannot drift apart.
func TestAITableIsGenerated(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("gs1-syntax-dictionary.txt")
	if err != nil {
		t.Fatal(err)
	}
	want, err := dictgen.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("ai_table.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("ai_table.go is stale; run go generate ./device/gs1 (-generated +committed):\n%s",
			cmp.Diff(string(want), string(got)))
	}
	if len(got) >= 1<<20 {
		t.Errorf("ai_table.go is %d bytes, want under 1 MB", len(got))
	}
	entries, err := dictgen.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(aiTable) || len(aiTable) < 500 {
		t.Errorf("%d dictionary entries, %d in the table", len(entries), len(aiTable))
	}
	if dictionaryRelease != dictgen.Release(src) {
		t.Errorf("release %q, dictionary says %q", dictionaryRelease, dictgen.Release(src))
	}
}

// Every check the dictionary names is either run or listed as not run.
func TestEveryLinterIsKnown(t *testing.T) {
	t.Parallel()
	for _, def := range aiTable {
		for _, p := range def.parts {
			for _, l := range p.linters {
				_, run := linters[l]
				if run == uncheckedLinters[l] {
					t.Errorf("AI %s: linter %q: run %v, listed as unchecked %v", def.ai, l, run, uncheckedLinters[l])
				}
			}
		}
	}
}
