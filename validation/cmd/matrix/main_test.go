package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunFrom reads a saved run: the command exits 0 when every technical
// requirement's tests passed, and 1, listing each test, when one is not
// declared anywhere (TestOK) or is declared but did not run
// (audit's TestBackdated); both times it writes the HTML and CSV.
func TestRunFrom(t *testing.T) {
	dir := t.TempDir()
	reqs := filepath.Join(dir, "reqs.json")
	os.WriteFile(reqs, []byte(`{"module":"github.com/interlock-mes/interlock","requirements":[
 {"id":"A","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"audit","test":"TestOK"}]},
 {"id":"B","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"audit","test":"TestBackdated"}]},
 {"id":"P","source":"s","obligation":"o","capability":"c","integrator":"i","procedural":true}]}`), 0o644)
	ok := filepath.Join(dir, "ok.json")
	os.WriteFile(ok, []byte(`{"Action":"run","Package":"github.com/interlock-mes/interlock/audit","Test":"TestOK"}
{"Action":"pass","Package":"github.com/interlock-mes/interlock/audit","Test":"TestOK"}
{"Action":"pass","Package":"github.com/interlock-mes/interlock/audit","Test":"TestBackdated"}
`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"Action":"pass","Package":"github.com/interlock-mes/interlock/audit","Test":"TestOther"}
`), 0o644)
	for _, c := range []struct {
		from string
		code int
		err  string
	}{{ok, 0, ""}, {bad, 1, "A (s): audit TestOK: does not exist\n  B (s): audit TestBackdated: did not run"}} {
		html, csv := filepath.Join(dir, "m.html"), filepath.Join(dir, "m.csv")
		os.Remove(html)
		os.Remove(csv)
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"-from", c.from, "-requirements", reqs, "-html", html, "-csv", csv}, &stdout, &stderr)
		if code != c.code {
			t.Errorf("%s: exit %d; want %d\n%s", c.from, code, c.code, stderr.String())
		}
		if c.err != "" && !strings.Contains(stderr.String(), c.err) {
			t.Errorf("%s: stderr lacks %q:\n%s", c.from, c.err, stderr.String())
		}
		for _, f := range []string{html, csv} {
			if b, err := os.ReadFile(f); err != nil || !bytes.Contains(b, []byte("github.com/interlock-mes/interlock")) {
				t.Errorf("%s: %s not written with the module (%v)", c.from, f, err)
			}
		}
	}
}
