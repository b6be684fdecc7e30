package validation

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const mod = "example.com/m"

// stream builds a go test -json stream from "action package test" lines.
func stream(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		f := strings.Fields(l)
		pkg := mod
		if f[1] != "." {
			pkg += "/" + f[1]
		}
		test := ""
		if len(f) > 2 {
			test = `,"Test":"` + f[2] + `"`
		}
		b.WriteString(`{"Time":"2026-12-05T10:00:00Z","Action":"` + f[0] + `","Package":"` + pkg + `"` + test + "}\n")
		if f[0] == "run" && len(f) > 2 {
			b.WriteString(`{"Action":"output","Package":"` + pkg + `","Test":"` + f[2] + `","Output":"=== RUN   ` + f[2] + `\n"}` + "\n")
		}
	}
	return b.String()
}

func reqs(t *testing.T, js string) Requirements {
	t.Helper()
	r, err := ParseRequirements(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const fixture = `{"module":"example.com/m","requirements":[
 {"id":"A","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"a","test":"TestOK"},{"package":".","test":"TestRoot"}]},
 {"id":"B","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"a","test":"TestOK"},{"package":"a","test":"TestGone"}]},
 {"id":"C","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"b","test":"TestBroken"}]},
 {"id":"D","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"b","test":"TestNeedsDB"}]},
 {"id":"E","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"b","test":"TestParent"}]},
 {"id":"F","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"b","test":"TestHung"}]},
 {"id":"G","source":"s","obligation":"o","capability":"c","integrator":"i","procedural":true},
 {"id":"H","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"c","test":"TestOK"}]}
]}`

// TestJoin joins synthetic runs to the fixture's requirements: a
// requirement passes only when every test it names passed, and a missing,
// failed, skipped or unfinished test, or one in another package of the
// same name, fails it. A subtest's failure fails its parent, and a
// passing subtest does not stand in for a failed parent.
func TestJoin(t *testing.T) {
	in := stream(
		"run a TestOK", "pass a TestOK",
		"run . TestRoot", "pass . TestRoot",
		"run b TestBroken", "fail b TestBroken",
		"run b TestNeedsDB", "skip b TestNeedsDB",
		"run b TestParent", "run b TestParent/ok", "pass b TestParent/ok", "run b TestParent/bad", "fail b TestParent/bad", "fail b TestParent",
		"run b TestHung",
		"run d TestOK", "pass d TestOK", // same name, another package
		"fail b",
		"pass a", "pass .",
	)
	res, err := ReadResults(strings.NewReader("# build output that is not JSON\n" + in))
	if err != nil {
		t.Fatal(err)
	}
	m := Join(Info{Module: mod}, reqs(t, fixture), res)
	got := map[string]Status{}
	for _, r := range m.Rows {
		got[r.ID] = r.Status
	}
	want := map[string]Status{"A": Pass, "B": Fail, "C": Fail, "D": Fail, "E": Fail, "F": Fail, "G": Procedural, "H": Fail}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	wantProblems := []string{
		"B (s): a TestGone: did not run",
		"C (s): b TestBroken: fail",
		"D (s): b TestNeedsDB: skip",
		"E (s): b TestParent: fail",
		"F (s): b TestHung: did not finish",
		"H (s): c TestOK: did not run",
	}
	if d := cmp.Diff(wantProblems, m.Problems()); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if p, f, pr := m.Counts(); p != 1 || f != 6 || pr != 1 {
		t.Errorf("counts = %d, %d, %d; want 1, 6, 1", p, f, pr)
	}
}

// TestJoinAllPass: when every named test passed, nothing is a problem, so
// the generator exits zero.
func TestJoinAllPass(t *testing.T) {
	r := reqs(t, `{"module":"example.com/m","requirements":[
 {"id":"A","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"a","test":"TestOK"}]},
 {"id":"G","source":"s","obligation":"o","capability":"c","integrator":"i","procedural":true}]}`)
	res, err := ReadResults(strings.NewReader(stream("run a TestOK", "pass a TestOK")))
	if err != nil {
		t.Fatal(err)
	}
	m := Join(Info{}, r, res)
	if p := m.Problems(); len(p) != 0 {
		t.Errorf("problems = %q; want none", p)
	}
	if m.Rows[0].Status != Pass || m.Rows[1].Status != Procedural {
		t.Errorf("statuses = %s, %s; want PASS, PROCEDURAL", m.Rows[0].Status, m.Rows[1].Status)
	}
}

// TestReadResultsCount: with -count=2, a failure in either run fails the
// test, and a skip never hides a failure or a pass.
func TestReadResultsCount(t *testing.T) {
	res, err := ReadResults(strings.NewReader(stream(
		"run a TestFlaky", "pass a TestFlaky", "run a TestFlaky", "fail a TestFlaky",
		"run a TestFlaky2", "fail a TestFlaky2", "run a TestFlaky2", "pass a TestFlaky2",
		"run a TestSkipThenPass", "skip a TestSkipThenPass", "run a TestSkipThenPass", "pass a TestSkipThenPass",
	)))
	if err != nil {
		t.Fatal(err)
	}
	for test, want := range map[string]Outcome{"TestFlaky": Failed, "TestFlaky2": Failed, "TestSkipThenPass": Passed, "TestNone": Missing} {
		if got := res.Outcome(mod+"/a", test); got != want {
			t.Errorf("%s = %q; want %q", test, got, want)
		}
	}
}

// TestParseRequirementsRefuses: a technical requirement without a test, a
// procedural one with a test, a subtest name, an absolute package and a
// repeated id are each refused, all in one error.
func TestParseRequirementsRefuses(t *testing.T) {
	_, err := ParseRequirements(strings.NewReader(`{"module":"example.com/m","requirements":[
 {"id":"A","source":"s","obligation":"o","capability":"c","integrator":"i"},
 {"id":"B","source":"s","obligation":"o","capability":"c","integrator":"i","procedural":true,"tests":[{"package":"a","test":"TestX"}]},
 {"id":"C","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"a","test":"TestX/sub"}]},
 {"id":"D","source":"s","obligation":"o","capability":"c","integrator":"i","tests":[{"package":"example.com/m/a","test":"TestX"}]},
 {"id":"D","source":"","obligation":"o","capability":"c","integrator":"i","procedural":true}]}`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"(A): names no test and is not marked procedural",
		"(B): procedural but names tests",
		`(C): "TestX/sub" is not a top-level test name`,
		`(D): package "example.com/m/a" must be relative`,
		"(D): id used twice",
		"(D): source is empty",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestEmbedded: the requirements shipped with the package parse, cover
// every Part 11 and Annex 11 clause the matrix answers, and name tests
// that exist in this module.
func TestEmbedded(t *testing.T) {
	r, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var sources strings.Builder
	for _, q := range r.Requirements {
		sources.WriteString(q.Source + "\n")
	}
	for _, c := range []string{"11.10(a)", "11.10(b)", "11.10(c)", "11.10(d)", "11.10(e)", "11.10(f)", "11.10(g)", "11.10(h)", "11.10(i)", "11.10(j)", "11.10(k)",
		"11.50", "11.70", "11.100", "11.200", "11.300", "Annex 11 §4\n", "§7\n", "§9\n", "§10\n", "§12\n", "§14\n", "§16\n"} {
		if !strings.Contains(sources.String(), c) {
			t.Errorf("no requirement answers %s", strings.TrimSpace(c))
		}
	}
	// Every named test is declared in its package's test files, so a
	// typo is caught here rather than in CI's full run.
	for _, q := range r.Requirements {
		for _, tr := range q.Tests {
			if ok, err := Declared("..", tr); err != nil || !ok {
				t.Errorf("%s names %s, which is not declared (%v)", q.ID, tr, err)
			}
		}
	}
	res := Results{}
	if err := res.MarkUndeclared("..", Requirements{Module: r.Module, Requirements: []Requirement{{ID: "X", Tests: []TestRef{{"validation", "TestEmbedded"}, {"validation", "TestNoSuchThing"}}}}}); err != nil {
		t.Fatal(err)
	}
	if a, b := res.Outcome(r.Module+"/validation", "TestEmbedded"), res.Outcome(r.Module+"/validation", "TestNoSuchThing"); a != Missing || b != Unknown {
		t.Errorf("declared test that did not run = %q, undeclared = %q; want %q and %q", a, b, Missing, Unknown)
	}
}

// TestOutputs: the CSV has one row per requirement under its header, with
// each test's outcome, and the HTML escapes what the requirements hold.
func TestOutputs(t *testing.T) {
	r := reqs(t, `{"module":"example.com/m","requirements":[
 {"id":"A","source":"s","obligation":"<script>x</script>","capability":"c, with comma","integrator":"i","tests":[{"package":"a","test":"TestOK"},{"package":"a","test":"TestGone"}]},
 {"id":"G","source":"s","obligation":"o","capability":"c","integrator":"i","procedural":true}]}`)
	res, _ := ReadResults(strings.NewReader(stream("run a TestOK", "pass a TestOK")))
	m := Join(Info{Module: mod, Commit: "abc", Date: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}, r, res)
	var b bytes.Buffer
	if err := m.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d CSV rows; want a header and 2", len(rows))
	}
	if d := cmp.Diff([]string{"A", "s", "<script>x</script>", "c, with comma", "i", "false", "a TestOK=pass; a TestGone=did not run", "FAIL", mod, "", "abc", "", "", "2026-12-05T10:00:00Z"}, rows[1]); d != "" {
		t.Errorf("CSV row (-want +got):\n%s", d)
	}
	if rows[2][7] != "PROCEDURAL" {
		t.Errorf("procedural row status %q", rows[2][7])
	}
	b.Reset()
	if err := m.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{"&lt;script&gt;x&lt;/script&gt;", `<span class="pass">pass</span>`, `<span class="bad">did not run</span>`, "1 failed, 1 procedural", "2026-12-05T10:00:00Z", "procedural: no test"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(h, "<script>") {
		t.Error("HTML holds an unescaped script")
	}
}
