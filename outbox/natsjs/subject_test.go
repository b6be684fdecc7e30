package natsjs_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/outbox/natsjs"
)

// unsubject is the inverse of Subject, as a consumer would write it.
func unsubject(t *testing.T, subject string) string {
	t.Helper()
	var parts []string
	for tok := range strings.SplitSeq(subject, ".") {
		if tok == "%" {
			parts = append(parts, "")
			continue
		}
		var b []byte
		for i := 0; i < len(tok); i++ {
			if tok[i] != '%' {
				b = append(b, tok[i])
				continue
			}
			if i+3 > len(tok) {
				t.Fatalf("token %q ends in a bare %%", tok)
			}
			v, err := hex.DecodeString(tok[i+1 : i+3])
			if err != nil {
				t.Fatalf("token %q: %v", tok, err)
			}
			b = append(b, v...)
			i += 2
		}
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "/")
}

func TestSubject(t *testing.T) {
	t.Parallel()
	for stream, want := range map[string]string{
		"lot/L-1":        "lot.L-1",
		"batch/B 7.2":    "batch.B%207%2E2",
		"a/b/c_d":        "a.b.c_d",
		"x/*/>":          "x.%2A.%3E",
		"/lead//trail/":  "%.lead.%.trail.%",
		"équipe/50%":     "%C3%A9quipe.50%25",
		"tab\there":      "tab%09here",
		"plain":          "plain",
		"person/ana/é/2": "person.ana.%C3%A9.2",
	} {
		got := natsjs.Subject(stream)
		if got != want {
			t.Errorf("Subject(%q) = %q; want %q", stream, got, want)
		}
		if back := unsubject(t, got); back != stream {
			t.Errorf("Subject(%q) = %q reads back as %q", stream, got, back)
		}
		for tok := range strings.SplitSeq(got, ".") {
			if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
				t.Errorf("Subject(%q) = %q has token %q", stream, got, tok)
			}
		}
	}
}

func FuzzSubject(f *testing.F) {
	for _, s := range []string{"lot/L-1", "a//b", "%", "é.*>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		got := natsjs.Subject(stream)
		if back := unsubject(t, got); back != stream {
			t.Errorf("Subject(%q) = %q reads back as %q", stream, got, back)
		}
	})
}
