package signature

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const clear = "hunter2-hunter2"
	s := NewSecret(clear)
	c := Challenge{UserID: "alice", Secret: s}

	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("attempt", "secret", s, "challenge", c)
	jsonOut, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":          fmt.Sprintf("%v", s),
		"%s":          fmt.Sprintf("%s", s),
		"%q":          fmt.Sprintf("%q", s),
		"%x":          fmt.Sprintf("%x", s),
		"%d":          fmt.Sprintf("%d", s),
		"%#v":         fmt.Sprintf("%#v", s),
		"%+v of ptr":  fmt.Sprintf("%+v", &s),
		"challenge":   fmt.Sprintf("%+v", c),
		"challenge#":  fmt.Sprintf("%#v", c),
		"wrapped err": fmt.Errorf("with %v: %w", s, errors.New("x")).Error(),
		"json":        string(jsonOut),
		"slog":        logBuf.String(),
	}
	hexClear := fmt.Sprintf("%x", clear)
	for name, out := range outputs {
		if strings.Contains(out, clear) || strings.Contains(out, hexClear) {
			t.Errorf("%s prints the secret: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s = %q, want it to say %s", name, out, redacted)
		}
	}
	if got := string(s.Bytes()); got != clear {
		t.Errorf("Bytes() = %q, want the secret", got)
	}
}

func TestSecretBytesIsACopy(t *testing.T) {
	t.Parallel()
	s := NewSecret("abc")
	b := s.Bytes()
	b[0] = 'x'
	if got := string(s.Bytes()); got != "abc" {
		t.Errorf("after changing the copy, Bytes() = %q", got)
	}
}
