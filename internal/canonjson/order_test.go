package canonjson

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"pgregory.net/rapid"
)

// TestKeyOrderProperty checks the order of object members against a naive
// reference: keys decoded, then sorted by their UTF-16 code units; an
// object whose decoded keys repeat is rejected. Keys mix plain ASCII,
// characters on both sides of U+E000, supplementary characters and escapes,
// so both ways of comparing keys meet each other.
func TestKeyOrderProperty(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "b", "ab", "z", "é", "\uff61", "\ue000", "\ud7ff", "\U0001F600", "\U0001F601", `\n`, `\"`, `\u0041`, `\u00e9`, `\ud83d\ude00`, `\uff61`, `\\`}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 20).Draw(t, "members")
		var src strings.Builder
		src.WriteByte('{')
		keys := make([]string, n)
		for i := range n {
			parts := rapid.SliceOfN(rapid.SampledFrom(pieces), 0, 3).Draw(t, "key")
			raw := strings.Join(parts, "")
			var key string
			if err := json.Unmarshal([]byte(`"`+raw+`"`), &key); err != nil {
				t.Fatalf("test key %q: %v", raw, err)
			}
			keys[i] = key
			if i > 0 {
				src.WriteByte(',')
			}
			src.WriteString(`"` + raw + `":` + strconv.Itoa(i))
		}
		src.WriteByte('}')

		out, err := Canonicalize([]byte(src.String()))
		sorted := slices.Clone(keys)
		slices.SortFunc(sorted, func(a, b string) int { return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b))) })
		if len(slices.Compact(slices.Clone(sorted))) < len(sorted) {
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(se.Msg, "duplicate key") {
				t.Fatalf("Canonicalize(%s) = %s, %v; want a duplicate key error", src.String(), out, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Canonicalize(%s): %v", src.String(), err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		var got []string
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, tok.(string))
			if _, err := dec.Token(); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(got, sorted) {
			t.Fatalf("Canonicalize(%s) = %s: keys %q, want %q", src.String(), out, got, sorted)
		}
	})
}
