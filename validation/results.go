package validation

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Outcome is what became of one test in a run.
type Outcome string

// The outcomes of a test. A test the run does not mention is Missing.
const (
	Passed   Outcome = "pass"
	Failed   Outcome = "fail"
	Skipped  Outcome = "skip"
	Running  Outcome = "did not finish" // started and never ended: a panic, a timeout
	Missing  Outcome = "did not run"
	Unknown  Outcome = "does not exist" // no test of that name is declared in the package
	notFound Outcome = ""
)

// Results are the outcomes of a run's top-level tests, by import path and
// test name.
type Results map[string]map[string]Outcome

// Outcome returns the outcome of test in the package with importPath, or
// Missing.
func (r Results) Outcome(importPath, test string) Outcome {
	if o := r[importPath][test]; o != notFound {
		return o
	}
	return Missing
}

// MarkUndeclared sets the outcome of every test reqs name that did not
// run and that no test file of its package declares to Unknown, so the
// matrix tells a renamed or mistyped test from one that was not run. root
// is the module's directory.
func (r Results) MarkUndeclared(root string, reqs Requirements) error {
	for _, q := range reqs.Requirements {
		for _, t := range q.Tests {
			ip := reqs.ImportPath(t)
			if r.Outcome(ip, t.Test) != Missing {
				continue
			}
			ok, err := Declared(root, t)
			if err != nil {
				return err
			}
			if !ok {
				if r[ip] == nil {
					r[ip] = map[string]Outcome{}
				}
				r[ip][t.Test] = Unknown
			}
		}
	}
	return nil
}

// Declared reports whether a test file of t's package, under the module
// directory root, declares the top-level test t.Test.
func Declared(root string, t TestRef) (bool, error) {
	files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(t.Package), "*_test.go"))
	if err != nil {
		return false, err
	}
	decl := regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(t.Test) + `\(\w+ \*testing\.T\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return false, err
		}
		if decl.Match(b) {
			return true, nil
		}
	}
	return false, nil
}

// event is the part of a go test -json event (cmd/test2json) read here.
type event struct {
	Action  string
	Package string
	Test    string
}

// ReadResults reads the output of go test -json and returns the outcome of
// each top-level test; subtests are folded into their parent, as go test
// does. When a test ran more than once (-count), a failure outlasts any
// pass and a pass outlasts a skip. A line that is not JSON (such as a
// build error printed to the same stream) is ignored, as go test itself
// reports the build failure as the package's. It returns an error only
// when r cannot be read.
func ReadResults(r io.Reader) (Results, error) {
	res := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var e event
		if json.Unmarshal(line, &e) != nil || e.Test == "" || e.Package == "" || strings.Contains(e.Test, "/") {
			continue
		}
		var o Outcome
		switch e.Action {
		case "run":
			o = Running
		case "pass":
			o = Passed
		case "fail":
			o = Failed
		case "skip":
			o = Skipped
		default:
			continue
		}
		pkg := res[e.Package]
		if pkg == nil {
			pkg = map[string]Outcome{}
			res[e.Package] = pkg
		}
		pkg[e.Test] = merge(pkg[e.Test], o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read go test -json: %w", err)
	}
	return res, nil
}

// merge returns the outcome of a test seen as prev and then as next:
// a run that started after an ended one is a new run (-count), and the
// worse of the ended runs wins.
func merge(prev, next Outcome) Outcome {
	if next == Running {
		if prev == notFound || prev == Running {
			return Running
		}
		return prev // a later run of a test that already ended once
	}
	if prev == notFound || prev == Running {
		return next
	}
	rank := map[Outcome]int{Skipped: 0, Passed: 1, Failed: 2}
	if rank[next] > rank[prev] {
		return next
	}
	return prev
}

var (
	verboseResult  = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (Test[^\s/]*) \(`)
	verboseRun     = regexp.MustCompile(`^=== RUN\s+(Test[^\s/]*)$`)
	verboseSummary = regexp.MustCompile(`^(ok|FAIL|\?)\s+(\S+)(\s|$)`)
)

// ReadVerbose reads the output of go test -v over several packages, as a
// CI log holds it, and returns what ReadResults would for the same run.
// go test prints each package's output in one piece and ends it with the
// package's summary line ("ok", "FAIL" or "?" and the import path), so
// the top-level tests seen since the previous summary belong to that
// package. Tests after the last summary (a run cut short) belong to none
// and are dropped. It returns an error only when r cannot be read.
func ReadVerbose(r io.Reader) (Results, error) {
	res := Results{}
	pending := map[string]Outcome{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := verboseRun.FindStringSubmatch(line); m != nil {
			pending[m[1]] = merge(pending[m[1]], Running)
			continue
		}
		if m := verboseResult.FindStringSubmatch(line); m != nil {
			o := map[string]Outcome{"PASS": Passed, "FAIL": Failed, "SKIP": Skipped}[m[1]]
			pending[m[2]] = merge(pending[m[2]], o)
			continue
		}
		if m := verboseSummary.FindStringSubmatch(line); m != nil {
			pkg := res[m[2]]
			if pkg == nil {
				pkg = map[string]Outcome{}
				res[m[2]] = pkg
			}
			for t, o := range pending {
				pkg[t] = o
			}
			pending = map[string]Outcome{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read go test -v: %w", err)
	}
	return res, nil
}

// ReadAny reads go test output in either form: JSON (go test -json) when
// its first non-blank line is a JSON object, else verbose text (go test
// -v).
func ReadAny(r io.Reader) (Results, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if err == io.EOF {
				return Results{}, nil
			}
			return nil, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		case '{':
			return ReadResults(br)
		}
		return ReadVerbose(br)
	}
}
