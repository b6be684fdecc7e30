package validation

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

//go:embed requirements.json
var requirementsJSON []byte

// TestRef names one top-level test: its package, relative to the module
// ("." is the module's root), and its name.
type TestRef struct {
	Package string `json:"package"`
	Test    string `json:"test"`
}

// String returns the package and the test, as go test names them.
func (t TestRef) String() string { return t.Package + " " + t.Test }

// Requirement is one obligation and how it is met.
type Requirement struct {
	// ID is short and unique, such as "P11-10a".
	ID string `json:"id"`
	// Source is the clause, such as "21 CFR 11.10(a)".
	Source string `json:"source"`
	// Obligation is what the clause asks, in a sentence or two.
	Obligation string `json:"obligation"`
	// Capability is what in Interlock meets it, in one sentence.
	Capability string `json:"capability"`
	// Integrator is what the integrator must do themselves.
	Integrator string `json:"integrator"`
	// Procedural is true when only procedure meets the obligation; then
	// Tests is empty.
	Procedural bool `json:"procedural,omitempty"`
	// Tests prove the technical part; every one must pass.
	Tests []TestRef `json:"tests,omitempty"`
}

// Requirements is the requirements file.
type Requirements struct {
	// Module is the module path the tests' packages are relative to.
	Module       string        `json:"module"`
	Note         string        `json:"note,omitempty"`
	Requirements []Requirement `json:"requirements"`
}

// ImportPath returns the import path of t's package under r's module.
func (r Requirements) ImportPath(t TestRef) string {
	if t.Package == "." || t.Package == "" {
		return r.Module
	}
	return r.Module + "/" + t.Package
}

// Embedded returns the requirements kept in this package's
// requirements.json.
func Embedded() (Requirements, error) {
	return ParseRequirements(bytes.NewReader(requirementsJSON))
}

// ParseRequirements reads a requirements file and checks it: a module, and
// for every requirement an ID used once, each text field filled, and
// either procedural with no test or technical with at least one; each
// test a top-level test ("Test" and no "/") named once. It returns every
// problem found, joined, and nothing else on error.
func ParseRequirements(r io.Reader) (Requirements, error) {
	var rs Requirements
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		return Requirements{}, fmt.Errorf("requirements: %w", err)
	}
	var errs []error
	if rs.Module == "" {
		errs = append(errs, errors.New("requirements: module is empty"))
	}
	if len(rs.Requirements) == 0 {
		errs = append(errs, errors.New("requirements: none listed"))
	}
	ids := map[string]bool{}
	for i, q := range rs.Requirements {
		name := fmt.Sprintf("requirement %d (%s)", i, q.ID)
		if q.ID == "" {
			errs = append(errs, fmt.Errorf("%s: id is empty", name))
		} else if ids[q.ID] {
			errs = append(errs, fmt.Errorf("%s: id used twice", name))
		}
		ids[q.ID] = true
		for _, f := range [...]struct{ name, v string }{{"source", q.Source}, {"obligation", q.Obligation}, {"capability", q.Capability}, {"integrator", q.Integrator}} {
			if strings.TrimSpace(f.v) == "" {
				errs = append(errs, fmt.Errorf("%s: %s is empty", name, f.name))
			}
		}
		switch {
		case q.Procedural && len(q.Tests) > 0:
			errs = append(errs, fmt.Errorf("%s: procedural but names tests", name))
		case !q.Procedural && len(q.Tests) == 0:
			errs = append(errs, fmt.Errorf("%s: names no test and is not marked procedural", name))
		}
		seen := map[TestRef]bool{}
		for _, t := range q.Tests {
			if !strings.HasPrefix(t.Test, "Test") || strings.ContainsAny(t.Test, "/ ") {
				errs = append(errs, fmt.Errorf("%s: %q is not a top-level test name", name, t.Test))
			}
			if t.Package == "" || strings.HasPrefix(t.Package, "/") || strings.HasPrefix(t.Package, rs.Module) {
				errs = append(errs, fmt.Errorf("%s: package %q must be relative to the module", name, t.Package))
			}
			if seen[t] {
				errs = append(errs, fmt.Errorf("%s: names %s twice", name, t))
			}
			seen[t] = true
		}
	}
	if len(errs) > 0 {
		return Requirements{}, errors.Join(errs...)
	}
	return rs, nil
}
