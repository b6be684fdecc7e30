package review

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/storage/memory"
)

// chromium returns the path of a Chromium (or Chrome) binary. Without one
// the test is skipped, except under CI=true, where .ci/run installs it and
// its absence is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; under CI=true the browser test must run (.ci/run installs Debian's chromium package)")
	}
	t.Skip("chromium is not installed (Debian: apt-get install chromium); skipping the browser test")
	return ""
}

// probe is appended to a copy of the page: the report itself has no
// scripts. It records what the browser laid out: whether the exceptions
// section and each entry take up room and are visible, and the text of each
// entry's heading as rendered.
const probe = `<script>
(function () {
  function shown(el) {
    var r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.display !== "none" && cs.visibility !== "hidden" && parseFloat(cs.opacity) > 0;
  }
  var sec = document.getElementById("exceptions");
  var res = {section: !!sec && shown(sec), heading: sec ? sec.querySelector("h2").innerText : "", entries: [], none: null};
  document.querySelectorAll("#exceptions article.entry").forEach(function (a) {
    res.entries.push({kind: a.dataset.kind, stream: a.dataset.stream, version: a.dataset.version, hash: a.dataset.hash,
      shown: shown(a), title: a.querySelector("h3").innerText});
  });
  var none = document.getElementById("no-exceptions");
  if (none) { res.none = {shown: shown(none), text: none.innerText}; }
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(res);
  document.body.appendChild(pre);
})();
</script>
`

type probed struct {
	Section bool   `json:"section"`
	Heading string `json:"heading"`
	Entries []struct {
		Kind    string `json:"kind"`
		Stream  string `json:"stream"`
		Version string `json:"version"`
		Hash    string `json:"hash"`
		Shown   bool   `json:"shown"`
		Title   string `json:"title"`
	} `json:"entries"`
	None *struct {
		Shown bool   `json:"shown"`
		Text  string `json:"text"`
	} `json:"none"`
}

var probeOut = regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`)

// openInChromium renders page in headless Chromium and returns what the
// probe saw.
func openInChromium(t *testing.T, bin string, page []byte) probed {
	t.Helper()
	dir := t.TempDir()
	withProbe := bytes.Replace(page, []byte("</body>"), []byte(probe+"</body>"), 1)
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, withProbe, 0o600); err != nil {
		t.Fatal(err)
	}
	// A bound on a hung browser, not a timed assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--disable-dev-shm-usage", "--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := probeOut.FindSubmatch(stdout.Bytes())
	if m == nil {
		t.Fatalf("the rendered DOM has no probe output:\n%.2000s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	var p probed
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &p); err != nil {
		t.Fatalf("probe output %s: %v", m[1], err)
	}
	return p
}

// TestHTMLInChromium opens the report of a batch with every kind of
// exception and that of a clean batch in headless Chromium: the exceptions
// section is laid out and visible, with one visible entry per exception,
// in order, each naming its record and showing its summary; the clean
// batch's section shows that there are none.
func TestHTMLInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	p.exceptional("B-EXC")
	p.routine("B-CLEAN")
	ctx := context.Background()

	rep, err := Build(ctx, s, "B-EXC", &Options{SealKey: p.pub})
	if err != nil {
		t.Fatal(err)
	}
	_, page := render(t, rep)
	got := openInChromium(t, bin, page)
	if !got.Section || !strings.HasPrefix(got.Heading, "Exceptions (10)") || got.None != nil {
		t.Errorf("exceptions section shown %v, heading %q, none %+v; want it shown with 10 entries", got.Section, got.Heading, got.None)
	}
	if len(got.Entries) != len(rep.Exceptions) {
		t.Fatalf("the browser shows %d entries; the report has %d", len(got.Entries), len(rep.Exceptions))
	}
	for i, e := range rep.Exceptions {
		g := got.Entries[i]
		want := []string{string(e.Kind), e.Record.Stream, strconv.FormatInt(e.Record.Version, 10), e.Record.Hash.String()}
		if diff := cmp.Diff(want, []string{g.Kind, g.Stream, g.Version, g.Hash}); diff != "" {
			t.Errorf("entry %d (-report +browser):\n%s", i, diff)
		}
		if !g.Shown || !strings.Contains(g.Title, e.Summary) || !strings.Contains(g.Title, kindTitle(e.Kind)) {
			t.Errorf("entry %d shown %v with heading %q; want it visible with %q and its summary %q", i, g.Shown, g.Title, kindTitle(e.Kind), e.Summary)
		}
	}

	clean, err := Build(ctx, s, "B-CLEAN", &Options{SealKey: p.pub})
	if err != nil {
		t.Fatal(err)
	}
	_, page = render(t, clean)
	got = openInChromium(t, bin, page)
	if !got.Section || len(got.Entries) != 0 || got.None == nil || !got.None.Shown || !strings.HasPrefix(got.None.Text, "No exceptions") {
		t.Errorf("clean batch: %+v; want the section shown, empty, saying there are no exceptions", got)
	}
}

// TestHTMLSelfContained: the page needs nothing but itself — no script, no
// external stylesheet, image, font or frame — and escapes what records hold.
func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	p.exceptional("B-EXC")
	rep, err := Build(context.Background(), s, "B-EXC", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep.Exceptions[0].Summary = `<script>alert("x")</script>`
	_, page := render(t, rep)
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import"} {
		if bytes.Contains(bytes.ToLower(page), []byte(bad)) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if !bytes.Contains(page, []byte("&lt;script&gt;")) {
		t.Error("a record's text was not escaped")
	}
}
