package validation

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Info says what was tested, where and when; it heads the matrix.
type Info struct {
	Module    string
	Version   string // the module's version, or "(devel)" for a work tree
	Commit    string // the git commit, with "+dirty" when the tree had changes
	GoVersion string
	Postgres  string // SELECT version(), or why it is unknown
	Date      time.Time
	Command   string // how the results were produced
}

// Status is a requirement's verdict in the matrix.
type Status string

// The verdicts of a requirement.
const (
	Pass       Status = "PASS"
	Fail       Status = "FAIL"
	Procedural Status = "PROCEDURAL"
)

// TestResult is one named test and its outcome.
type TestResult struct {
	TestRef
	Outcome Outcome
}

// Row is one requirement with the outcomes of its tests and its verdict.
type Row struct {
	Requirement
	Results []TestResult
	Status  Status
}

// Matrix is the traceability matrix: every requirement, in the order of
// the requirements file, joined to one run.
type Matrix struct {
	Info Info
	Rows []Row
}

// Join returns the matrix of reqs against res. A technical requirement
// passes when every test it names passed; one that failed, was skipped,
// did not finish or did not run (including a name that no package
// declares) fails it. A procedural requirement is Procedural.
func Join(info Info, reqs Requirements, res Results) Matrix {
	m := Matrix{Info: info}
	for _, q := range reqs.Requirements {
		row := Row{Requirement: q, Status: Pass}
		if q.Procedural {
			row.Status = Procedural
		}
		for _, t := range q.Tests {
			o := res.Outcome(reqs.ImportPath(t), t.Test)
			row.Results = append(row.Results, TestResult{TestRef: t, Outcome: o})
			if o != Passed {
				row.Status = Fail
			}
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// Problems returns one line for every test that keeps a requirement from
// passing, naming the requirement, the test and its outcome; none when
// every technical requirement passed.
func (m Matrix) Problems() []string {
	var out []string
	for _, r := range m.Rows {
		for _, t := range r.Results {
			if t.Outcome != Passed {
				out = append(out, fmt.Sprintf("%s (%s): %s: %s", r.ID, r.Source, t.TestRef, t.Outcome))
			}
		}
	}
	return out
}

// Counts returns how many requirements passed, failed and are procedural.
func (m Matrix) Counts() (pass, fail, procedural int) {
	for _, r := range m.Rows {
		switch r.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		case Procedural:
			procedural++
		}
	}
	return pass, fail, procedural
}

// WriteCSV writes the matrix as CSV (RFC 4180): a header, then one row
// per requirement with its tests as "package TestName=outcome" joined by
// "; ". The run's facts are repeated on every row, so the file stays one
// table that a spreadsheet can sort.
func (m Matrix) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"id", "source", "obligation", "capability", "integrator", "procedural", "tests", "status",
		"module", "version", "commit", "go", "postgres", "date"}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range m.Rows {
		var tests []string
		for _, t := range r.Results {
			tests = append(tests, t.TestRef.String()+"="+string(t.Outcome))
		}
		rec := []string{r.ID, r.Source, r.Obligation, r.Capability, r.Integrator, fmt.Sprint(r.Procedural),
			strings.Join(tests, "; "), string(r.Status),
			m.Info.Module, m.Info.Version, m.Info.Commit, m.Info.GoVersion, m.Info.Postgres, m.Info.Date.UTC().Format(time.RFC3339)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

var page = template.Must(template.New("matrix").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Traceability matrix — {{.Info.Module}}</title>
<style>
body{font-family:sans-serif;margin:1.5em}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}
.PASS{background:#d8f5d8}.FAIL{background:#f8d0d0}.PROCEDURAL{background:#eee}
.pass{color:#060}.bad{color:#a00;font-weight:bold}
code{font-size:.9em}
</style>
</head>
<body>
<h1>Traceability matrix</h1>
<table>
<tr><th>Module</th><td>{{.Info.Module}}</td></tr>
<tr><th>Version</th><td>{{.Info.Version}}</td></tr>
<tr><th>Commit</th><td>{{.Info.Commit}}</td></tr>
<tr><th>Go</th><td>{{.Info.GoVersion}}</td></tr>
<tr><th>PostgreSQL</th><td>{{.Info.Postgres}}</td></tr>
<tr><th>Date</th><td>{{.Date}}</td></tr>
<tr><th>Command</th><td><code>{{.Info.Command}}</code></td></tr>
<tr><th>Verdict</th><td>{{.Pass}} passed, {{.Fail}} failed, {{.Procedural}} procedural</td></tr>
</table>
<h2>Requirements</h2>
<table>
<tr><th>ID</th><th>Source</th><th>Obligation</th><th>Capability</th><th>Integrator's part</th><th>Tests</th><th>Status</th></tr>
{{range .Rows}}<tr class="{{.Status}}">
<td>{{.ID}}</td><td>{{.Source}}</td><td>{{.Obligation}}</td><td>{{.Capability}}</td><td>{{.Integrator}}</td>
<td>{{if .Procedural}}procedural: no test{{else}}<ul>{{range .Results}}<li><code>{{.Package}} {{.Test}}</code> <span class="{{if eq (print .Outcome) "pass"}}pass{{else}}bad{{end}}">{{.Outcome}}</span></li>{{end}}</ul>{{end}}</td>
<td>{{.Status}}</td>
</tr>
{{end}}</table>
</body>
</html>
`))

// WriteHTML writes the matrix as one self-contained HTML page: the run's
// facts, the verdict counts, and a row per requirement with each test's
// outcome.
func (m Matrix) WriteHTML(w io.Writer) error {
	pass, fail, proc := m.Counts()
	return page.Execute(w, struct {
		Matrix
		Date                   string
		Pass, Fail, Procedural int
	}{m, m.Info.Date.UTC().Format(time.RFC3339), pass, fail, proc})
}
