package canonjson

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// sameAsParser checks that Append, fast path included, gives exactly what
// the general parser gives for src: the same bytes, or an error whenever
// the parser has one.
func sameAsParser(t interface{ Fatalf(string, ...any) }, src []byte) {
	prefix := []byte("prefix:")
	want, wantErr := appendParsed(bytes.Clone(prefix), src, 0)
	got, gotErr := Append(bytes.Clone(prefix), src)
	if (wantErr == nil) != (gotErr == nil) || !bytes.Equal(want, got) {
		t.Fatalf("Append(%q) = %q, %v; the parser gives %q, %v", src, got, gotErr, want, wantErr)
	}
	if _, ok := appendFlat(nil, src); ok && wantErr != nil {
		t.Fatalf("the fast path took %q, which the parser rejects: %v", src, wantErr)
	}
}

// TestFlatAgainstParser builds objects near the edge of what the fast path
// takes (keys and strings with and without escapes or non-ASCII, numbers
// canonical or not, literals, nesting, white space, duplicates, trailing
// data) and holds Append to the general parser on each.
func TestFlatAgainstParser(t *testing.T) {
	t.Parallel()
	keys := []string{"", "a", "b", "ab", "batch", "step", "lot", "Z", " ", "~", "a b", `\n`, `\u0061`, "é", "\uff61", "\U0001F600", "\x7f"}
	values := []string{
		`""`, `"x"`, `"B-2026-0042"`, `"12.500"`, `"a\"b"`, `"\u00e9"`, `"é"`, `"tab	"`, `"\x7f"`,
		`true`, `false`, `null`, `tru`, `nul`, `truex`,
		`0`, `-0`, `7`, `-12`, `100`, `01`, `1.5`, `1.50`, `0.05`, `-0.5`, `-0.0`, `0.0`, `1.`, `.5`, `1e3`, `1E-2`, `-`,
		`123456789012345`, `1234567890123456`, `12345678.1234567`, `1.2.3`,
		`{}`, `[]`, `{"a":1}`, `[1,"x"]`,
	}
	space := []string{"", "", "", " ", "\n\t", "\r "}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(t, "members")
		ws := func() string { return rapid.SampledFrom(space).Draw(t, "space") }
		var b strings.Builder
		b.WriteString(ws() + "{" + ws())
		for i := range n {
			if i > 0 {
				b.WriteString("," + ws())
			}
			b.WriteString(`"` + rapid.SampledFrom(keys).Draw(t, "key") + `"` + ws() + ":" + ws() + rapid.SampledFrom(values).Draw(t, "value") + ws())
		}
		b.WriteString("}" + ws())
		if rapid.IntRange(0, 9).Draw(t, "trailing") == 0 {
			b.WriteString(rapid.SampledFrom([]string{"x", "{}", ",", "}"}).Draw(t, "data"))
		}
		sameAsParser(t, []byte(b.String()))
	})
}

// TestFlatEdges covers what the random objects rarely reach: objects at
// and over the member limit, other values than objects, and input that
// ends early.
func TestFlatEdges(t *testing.T) {
	t.Parallel()
	object := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":` + `"v"`)
		}
		return b.String() + "}"
	}
	for _, src := range []string{
		object(maxFlatMembers), object(maxFlatMembers + 1), object(maxFlatMembers - 1),
		`[1,2]`, `"x"`, `12`, ``, ` `, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":"x`, `{"a`, `{"a":1}}`, `{"a":1} x`,
	} {
		sameAsParser(t, []byte(src))
	}
	if _, ok := appendFlat(nil, []byte(object(maxFlatMembers))); !ok {
		t.Errorf("the fast path declined an object of %d plain members", maxFlatMembers)
	}
}

// FuzzFlat holds Append, fast path included, to the general parser on any
// input.
func FuzzFlat(f *testing.F) {
	for _, s := range []string{
		`{"batch":"B-2026-0042","step":"weigh-api","quantity":"12.500","stable":true,"n":-12.25}`,
		`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{}`, ` { } `, `{"a":-0}`, `{"a":1.50}`, `{"a":"\u0041"}`, `{"é":1}`, `{"a":{"b":1}}`, `[1]`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		sameAsParser(t, src)
	})
}

// BenchmarkCanonicalizeParsed is BenchmarkCanonicalize through the general
// parser, which payloads outside the fast path take.
func BenchmarkCanonicalizeParsed(b *testing.B) {
	src := []byte(`{"step":"weigh-api","lot":"LOT-2026-0042","quantity":"12.500","unit":"kg","operator":"op-17","stable":true,"scale":"SC-01"}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = appendParsed(buf[:0], src, 0)
		if err != nil {
			b.Fatal(err)
		}
	}
}
