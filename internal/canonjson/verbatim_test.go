package canonjson

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// genValue draws a JSON value nested up to depth levels: objects and
// arrays of strings, numbers and literals of the kinds canonicalEnd
// accepts and of kinds it must leave to the parser, keys in or out of
// order, white space sometimes.
func genValue(t *rapid.T, depth int) string {
	scalars := []string{`""`, `"x"`, `"B-2026-0042"`, `"a\"b"`, `"é"`, `true`, `false`, `null`, `0`, `-0`, `7`, `1.5`, `1.50`, `1e3`, `01`, `123456789012345`, `1234567890123456`}
	kind := rapid.IntRange(0, 2).Draw(t, "kind")
	if depth == 0 || kind == 0 {
		return rapid.SampledFrom(scalars).Draw(t, "scalar")
	}
	ws := func() string { return rapid.SampledFrom([]string{"", "", "", "", " ", "\n"}).Draw(t, "space") }
	n := rapid.IntRange(0, 4).Draw(t, "n")
	var b strings.Builder
	if kind == 1 {
		b.WriteString("[" + ws())
		for i := range n {
			if i > 0 {
				b.WriteString("," + ws())
			}
			b.WriteString(genValue(t, depth-1) + ws())
		}
		b.WriteString("]")
		return b.String()
	}
	keys := rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "ab", "data", "refs", "step", "é", `a\u0062`, ""}), n, n).Draw(t, "keys")
	if rapid.Bool().Draw(t, "sorted") {
		keys = sortedKeys(keys)
	}
	b.WriteString("{" + ws())
	for i, k := range keys {
		if i > 0 {
			b.WriteString("," + ws())
		}
		b.WriteString(`"` + k + `"` + ws() + ":" + ws() + genValue(t, depth-1) + ws())
	}
	b.WriteString("}")
	return b.String()
}

func sortedKeys(keys []string) []string {
	out := append([]string(nil), keys...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j-1] > out[j]; j-- {
			out[j-1], out[j] = out[j], out[j-1]
		}
	}
	return out
}

// TestVerbatimAgainstParser holds Append, whose first path copies
// canonical input as it is, to the general parser on nested values, and
// checks that whatever that path takes is its own canonical form.
func TestVerbatimAgainstParser(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		src := []byte(genValue(t, 4))
		sameAsParser(t, src)
		if canonicalEnd(src, 0, 0) == len(src) {
			want, err := appendParsed(nil, src, 0)
			if err != nil || !bytes.Equal(want, src) {
				t.Fatalf("copied %q as canonical; the parser gives %q, %v", src, want, err)
			}
		}
	})
}

// TestVerbatimTakesCanonical shows the path taking what it is for: the
// canonical output of the parser for nested values of the subset.
func TestVerbatimTakesCanonical(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`{}`, `[]`, `[1,"x",true,null]`, `{"a":[{"b":1},{"c":[]}],"d":{"e":"f"}}`,
		`{"command_id":"cmd-1","data":{"n":"12.50"},"evidence":[{"identity":"L7","name":"lot-scan","source":"scanner"}],"model":"dispense","model_version":1}`,
	} {
		if end := canonicalEnd([]byte(src), 0, 0); end != len(src) {
			t.Errorf("canonicalEnd(%q) = %d, want %d", src, end, len(src))
		}
	}
	for _, src := range []string{`{"b":1,"a":2}`, `{"a":1,"a":1}`, `[1, 2]`, `{"a":1.50}`, `{"a":"\u0041"}`, `[1,]`, `{"a":1}x`, `[`} {
		if end := canonicalEnd([]byte(src), 0, 0); end == len(src) {
			t.Errorf("canonicalEnd(%q) took it whole; it is not canonical", src)
		}
	}
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if canonicalEnd([]byte(deep), 0, 0) >= 0 {
		t.Errorf("canonicalEnd took nesting deeper than %d", MaxDepth)
	}
	sameAsParser(t, []byte(deep))
}

// FuzzVerbatim: whatever canonicalEnd takes whole, the parser accepts and
// writes back unchanged.
func FuzzVerbatim(f *testing.F) {
	for _, s := range []string{`{"a":[{"b":1},{"c":[]}],"d":{"e":"f"}}`, `[1,"x",true,null]`, `{"b":1,"a":2}`, `{"a":-0}`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if canonicalEnd(src, 0, 0) != len(src) {
			return
		}
		want, err := appendParsed(nil, src, 0)
		if err != nil || !bytes.Equal(want, src) {
			t.Fatalf("copied %q as canonical; the parser gives %q, %v", src, want, err)
		}
	})
}
