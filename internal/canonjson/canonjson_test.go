package canonjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"literals", ` [ true , false , null ] `, `[true,false,null]`},
		{"sorted keys", `{"b":1,"a":2,"c":{"z":1,"y":[]}}`, `{"a":2,"b":1,"c":{"y":[],"z":1}}`},
		{"empty containers", `{"a":{},"b":[]}`, `{"a":{},"b":[]}`},
		{"utf16 key order", "{\"\uff61\":1,\"\U0001F600\":2}", "{\"\U0001F600\":2,\"\uff61\":1}"},
		{"same high surrogate", "{\"\U0001F601\":1,\"\U0001F600\":2}", "{\"\U0001F600\":2,\"\U0001F601\":1}"},
		{"escapes shortened", `"\u0041\/\u00e9\n\u001F\t"`, "\"A/\u00e9\\n\\u001f\\t\""},
		{"surrogate pair", `"\ud83d\ude00"`, "\"\U0001F600\""},
		{"decimal trailing zeros", `1.500`, `1.5`},
		{"exponent", `15E-1`, `1.5`},
		{"exponent positive", `1e3`, `1000`},
		{"small", `0.0012e-2`, `0.000012`},
		{"negative zero", `-0.0`, `0`},
		{"integer zero", `0`, `0`},
		{"negative", `-12.340e1`, `-123.4`},
		{"big exact", `123456789012345678901234567890.000000000000000000001`, `123456789012345678901234567890.000000000000000000001`},
		{"zeros before point", `0.00`, `0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Canonicalize([]byte(tt.in))
			if err != nil {
				t.Fatalf("Canonicalize(%s): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonicalize(%s) = %s, want %s", tt.in, got, tt.want)
			}
			if !IsCanonical(got) {
				t.Errorf("output %s is not canonical itself", got)
			}
		})
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, msg string
	}{
		{"empty", ``, "unexpected end"},
		{"trailing data", `{} {}`, "after the value"},
		{"duplicate key", `{"a":1,"a":2}`, "duplicate key"},
		{"duplicate key after sort", `{"b":1,"a":1,"b":2}`, "duplicate key"},
		{"duplicate key by escape", `{"a":1,"\u0061":2}`, "duplicate key"},
		{"lone high surrogate", `"\ud83d"`, "lone surrogate"},
		{"lone low surrogate", `"\ude00"`, "lone surrogate"},
		{"invalid utf8", "\"\xff\"", "invalid UTF-8"},
		{"control char", "\"a\nb\"", "control character"},
		{"leading zero", `012`, "leading zero"},
		{"bare point", `1.`, "missing digits"},
		{"huge exponent", `1e1001`, "exponent out of range"},
		{"tiny exponent", `1e-1001`, "exponent out of range"},
		{"exponent digits", `1e0000000001`, "exponent out of range"},
		{"bad literal", `nul`, "invalid literal"},
		{"unterminated", `"abc`, "unterminated"},
		{"missing colon", `{"a" 1}`, "expected ':'"},
		{"bad escape", `"\x"`, "invalid escape"},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nesting deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Canonicalize([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Canonicalize(%q) error = %v, want a *SyntaxError", tt.in, err)
			}
			if !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Canonicalize(%q) error = %q, want it to mention %q", tt.in, se.Msg, tt.msg)
			}
		})
	}
}

func TestMaxDepthAccepted(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Canonicalize([]byte(in)); err != nil {
		t.Fatalf("nesting of exactly MaxDepth rejected: %v", err)
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	got, err := AppendString(nil, "a\"b\\c\x01\u00e9")
	if err != nil {
		t.Fatal(err)
	}
	if want := "\"a\\\"b\\\\c\\u0001\u00e9\""; string(got) != want {
		t.Errorf("AppendString = %s, want %s", got, want)
	}
	// The string encoder and the parser agree.
	canon, err := Canonicalize(got)
	if err != nil || !bytes.Equal(canon, got) {
		t.Errorf("Canonicalize(AppendString(s)) = %s, %v; want it unchanged", canon, err)
	}
	if _, err := AppendString(nil, "\xff"); err == nil {
		t.Error("AppendString accepted invalid UTF-8")
	}
}

// FuzzCanonicalize checks, for any input: the output is valid JSON, it is a
// fixed point, it means the same as the input, and anything encoding/json
// rejects is rejected too.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"b":[1,2.50,{"x":null}],"a":"\u00e9"}`, `-0.0e+5`, `"\ud83d\ude00"`, `[]`, `{"a":1,"a":2}`, `1e999`, `0E10010`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := Canonicalize(src)
		if err != nil {
			return
		}
		if !json.Valid(src) {
			t.Fatalf("accepted %q, which encoding/json rejects", src)
		}
		if !json.Valid(out) {
			t.Fatalf("output %q of %q is not valid JSON", out, src)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point: %q -> %q -> %q, %v", src, out, again, err)
		}
		if !sameValue(t, src, out) {
			t.Fatalf("meaning changed: %q -> %q", src, out)
		}
	})
}

// sameValue compares two JSON texts as values, numbers as exact decimals.
func sameValue(t *testing.T, a, b []byte) bool {
	decode := func(s []byte) any {
		d := json.NewDecoder(bytes.NewReader(s))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		return v
	}
	return equalValues(decode(a), decode(b))
}

func equalValues(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		da, ok1 := refNumber(string(a))
		db, ok2 := refNumber(string(bn))
		return ok1 && ok2 && da == db
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			if !equalValues(v, bm[k]) {
				return false
			}
		}
		return true
	case []any:
		ba, ok := b.([]any)
		if !ok || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], ba[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// refDecimal is a JSON number reduced to sign, significant digits and the
// exponent of the last digit, so that two numbers are equal exactly when their
// refDecimals are. It is the fuzz target's oracle: a reference kept simpler
// than the parser and free of any decimal library's range limits (an exponent
// such as the one in 0E10010 is valid JSON).
type refDecimal struct {
	neg    bool
	digits string
	exp    string // decimal text of a big.Int, so no exponent overflows
}

// refNumber reduces a JSON number; ok is false if s is not one.
func refNumber(s string) (refDecimal, bool) {
	m := refNumberRE.FindStringSubmatch(s)
	if m == nil {
		return refDecimal{}, false
	}
	exp := new(big.Int)
	if m[4] != "" {
		if _, ok := exp.SetString(strings.TrimPrefix(m[4], "+"), 10); !ok {
			return refDecimal{}, false
		}
	}
	digits := m[2] + m[3]
	exp.Sub(exp, big.NewInt(int64(len(m[3]))))
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return refDecimal{digits: "0", exp: "0"}, true // -0 and 0E10010 are both zero
	}
	trimmed := strings.TrimRight(digits, "0")
	exp.Add(exp, big.NewInt(int64(len(digits)-len(trimmed))))
	return refDecimal{neg: m[1] == "-", digits: trimmed, exp: exp.String()}, true
}

var refNumberRE = regexp.MustCompile(`^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$`)

func TestRefNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b  string
		equal bool
	}{
		{"1.50", "15E-1", true},
		{"0.15e1", "1.5", true},
		{"-0.0", "0", true},
		{"0E10010", "0", true},
		{"0e-99999999999999999999", "0", true},
		{"1e10010", "10e10009", true},
		{"1e10010", "1e10011", false},
		{"1", "-1", false},
		{"100", "1e2", true},
		{"100", "1e3", false},
		{"0.001", "1e-3", true},
		{"12.5", "1.25", false},
	}
	for _, tt := range tests {
		a, okA := refNumber(tt.a)
		b, okB := refNumber(tt.b)
		if !okA || !okB {
			t.Fatalf("refNumber(%q) ok=%v, refNumber(%q) ok=%v; want both parsed", tt.a, okA, tt.b, okB)
		}
		if got := a == b; got != tt.equal {
			t.Errorf("refNumber(%q) == refNumber(%q) is %v, want %v (%+v, %+v)", tt.a, tt.b, got, tt.equal, a, b)
		}
	}
	for _, bad := range []string{"", "-", "01", "1.", ".5", "1e", "+1", "1e+", "NaN"} {
		if _, ok := refNumber(bad); ok {
			t.Errorf("refNumber(%q) accepted it", bad)
		}
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	src := []byte(`{"step":"weigh-api","lot":"LOT-2026-0042","quantity":"12.500","unit":"kg","operator":"op-17","stable":true,"scale":"SC-01"}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = Append(buf[:0], src)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendLimit(t *testing.T) {
	src := []byte(`{"b":[1e3, 2.50],"a":"x"}`)
	want, err := Canonicalize(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, len(want), 1 << 20} {
		got, err := AppendLimit(nil, src, limit)
		if err != nil || string(got) != string(want) {
			t.Errorf("AppendLimit(limit %d) = %s, %v; want %s", limit, got, err, want)
		}
	}
	hostile := []byte(`[1e1000,1e1000,1e1000]`)
	if _, err := AppendLimit(nil, hostile, 1500); err == nil {
		t.Error("three numbers of 1001 digits fit a limit of 1500 bytes")
	}
	if got, err := AppendLimit(nil, hostile, 0); err != nil || len(got) != 3*1001+4 {
		t.Errorf("without a limit: %d bytes, %v; want the full expansion", len(got), err)
	}
}
