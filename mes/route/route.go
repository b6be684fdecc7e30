package route

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/mes"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/quantity"
)

// Route is one version of a product's traveler: the operations and steps a
// batch of the product goes through, in order, each step with its
// instructions, the evidence it requires and its controlled branching.
//
// A Route is master data: it is drafted, approved and retired as a stream
// (see Registry), and a batch is bound to one approved version by the digest
// of its canonical content (see Route.Digest and Binding). A Route
// value is plain data; Validate says whether it can be drafted.
type Route struct {
	// Product identifies the product the route makes. It may not contain
	// '/', which separates the parts of the route's stream id.
	Product    string
	Version    int // starts at 1; every version is its own stream
	Operations []Operation
	// Yield, when set, is the output a batch of the route is expected to
	// make and the range its yield must fall in; reconciliation at batch
	// completion checks it (Route.YieldCheck).
	Yield *Yield
}

// Yield is a route's expected output and accepted yield.
type Yield struct {
	Expected decimal.Decimal // the theoretical output of one batch; positive
	Unit     string          // of Expected
	Range    Range           // accepted yield in percent of Expected, inclusive
}

// YieldCheck returns the yield check of a batch of the route that made
// actual (in the route's yield unit), for Reconcile; nil when the route has
// no yield.
func (r *Route) YieldCheck(actual decimal.Decimal) *YieldCheck {
	if r.Yield == nil {
		return nil
	}
	return &YieldCheck{Expected: r.Yield.Expected, Actual: actual, Unit: r.Yield.Unit, Range: r.Yield.Range}
}

// Operation is a group of steps done together, such as "dispensing".
type Operation struct {
	ID    string
	Name  string
	Steps []Step // at least one
}

// Step is one instruction of the route and what it takes to complete it.
// Step ids are unique across the whole route, since branches name them.
type Step struct {
	ID           string
	Instructions string // what the operator is told to do; required
	Requirements []Requirement
	// Branches are tried in order once the step is complete; the first whose
	// condition holds decides the next step or opens an exception. When none
	// holds the route goes on with the following step (see Route.Next).
	Branches []Branch
}

// RequirementKind names a kind of requirement in the canonical content.
type RequirementKind string

// The kinds of requirement.
const (
	KindScanLot      RequirementKind = "scan-lot"
	KindWeigh        RequirementKind = "weigh"
	KindRecordValue  RequirementKind = "record-value"
	KindSecondPerson RequirementKind = "second-person"
)

// Requirement is evidence or a signature a step needs: ScanLot, Weigh,
// RecordValue or SecondPersonVerification. The set is closed so that the
// canonical content of a route, and so its digest, has one meaning.
type Requirement interface {
	// Kind names the requirement's type.
	Kind() RequirementKind
	isRequirement()
}

// ScanLot requires a scan of a lot of Material; the scanned lot id is the
// step's value named Name.
type ScanLot struct {
	Name     string // evidence name, such as "api-lot"
	Material string // material the lot must be of
	// AllowTyped accepts a lot id typed in (or from a keyboard-wedge
	// scanner, which a station cannot tell from typing) as well as one
	// from a scanner. A typed id is recorded as manual entry, which review
	// by exception lists. Without it only a scanner's read is accepted.
	AllowTyped bool
}

// Weigh requires a weight of Material (optional) within a tolerance of
// Target; the weight is the step's value named Name.
type Weigh struct {
	Name     string // evidence name, such as "net-weight"
	Material string // material weighed; "" when the step does not say
	Target   decimal.Decimal
	Below    decimal.Decimal // how far under Target a weight may lie; not negative
	Above    decimal.Decimal // how far over Target a weight may lie; not negative
	Unit     string
	Bounds   gate.Bounds // whether a weight equal to a limit is accepted
	// InstrumentClass names the kind of scale allowed, such as
	// "balance-0.01g"; "" when any calibrated scale will do.
	InstrumentClass string
	// RequireDevice refuses manual entry: the weight must come from a
	// device over its protocol.
	RequireDevice bool
}

// Tolerance returns the weigh requirement as a gate tolerance, for
// gate.WithinTolerance.
func (w Weigh) Tolerance() gate.Tolerance {
	return gate.Tolerance{Target: w.Target, Below: w.Below, Above: w.Above, Unit: w.Unit, Bounds: w.Bounds}
}

// RecordValue requires a value to be recorded, such as a pH or a visual
// check result. With Min or Max set the value must be a number within them
// (inclusive); without either any text is accepted.
type RecordValue struct {
	Name string // the value's name, such as "ph"
	Unit string // "" for a unitless value
	Min  *decimal.Decimal
	Max  *decimal.Decimal
}

// SecondPersonVerification requires a second person, other than the one
// who performed the step, to sign it with Meaning.
type SecondPersonVerification struct {
	Meaning mes.Meaning
	Roles   []string // the verifier must hold one; empty means any role
}

// Kind returns KindScanLot.
func (ScanLot) Kind() RequirementKind { return KindScanLot }

// Kind returns KindWeigh.
func (Weigh) Kind() RequirementKind { return KindWeigh }

// Kind returns KindRecordValue.
func (RecordValue) Kind() RequirementKind { return KindRecordValue }

// Kind returns KindSecondPerson.
func (SecondPersonVerification) Kind() RequirementKind { return KindSecondPerson }

func (ScanLot) isRequirement()                  {}
func (Weigh) isRequirement()                    {}
func (RecordValue) isRequirement()              {}
func (SecondPersonVerification) isRequirement() {}

// valueName returns the name of the value a requirement records, or "" when
// it records none.
func valueName(r Requirement) string {
	switch r := r.(type) {
	case ScanLot:
		return r.Name
	case Weigh:
		return r.Name
	case RecordValue:
		return r.Name
	}
	return ""
}

// Branch is one rule of a step's controlled branching: when its condition
// holds (or always, without one), go to step GoTo or open an exception of
// kind OpenException. Exactly one of GoTo and OpenException is set.
type Branch struct {
	When          *Condition // nil: always
	GoTo          string
	OpenException string // exception kind, such as "deviation"
}

// Condition tests a value the step recorded. Exactly one of Equals and
// Outside is set.
type Condition struct {
	Value string // name of a value the step records
	// Equals holds when the value equals it: numerically when both are
	// decimal numbers (so "7.0" equals "7"), otherwise exactly.
	Equals string
	// Outside holds when the value is a number below Min or above Max; a
	// value equal to a limit is inside.
	Outside *Range
}

// YieldCheck asks for the batch's yield, Actual as a percentage of
// Expected, to lie within Range (inclusive), such as 98 to 101.
type YieldCheck struct {
	Expected decimal.Decimal // the theoretical output; positive
	Actual   decimal.Decimal // the output made; not negative
	Unit     string          // of Expected and Actual
	Range    Range           // accepted yield in percent
}

// Range is a closed interval of numbers.
type Range struct {
	Min, Max decimal.Decimal
}

// ErrInvalid is matched (errors.Is) by every *Error.
var ErrInvalid = fmt.Errorf("invalid route: %w", interlock.ErrInvalid)

// Problem is one thing wrong with a route definition.
type Problem struct {
	Where string // such as "operations[0].steps[1] (S20)"; "" for the route itself
	What  string
}

// Error lists every problem of a route definition. It matches
// ErrInvalid.
type Error struct {
	Product  string
	Version  int
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Where == "" {
			lines[i] = p.What
		} else {
			lines[i] = p.Where + ": " + p.What
		}
	}
	return fmt.Sprintf("route %q v%d: %d problem(s):\n  %s", e.Product, e.Version, len(e.Problems), strings.Join(lines, "\n  "))
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *Error) Unwrap() error { return ErrInvalid }

// Validate checks the route and returns nil or a *Error listing every
// problem: a missing product or version, a product containing '/', no
// operations, an operation without id or steps, a repeated operation or step
// id, a step without instructions, malformed requirements (no name, a name
// used twice in a step, a lot scan without material, a bad weighing
// tolerance, Min above Max), malformed branches (unknown target step, both
// or neither target, a condition on a value the step does not record, a
// branch after an unconditional one), steps the first step cannot reach, and
// branching that loops forever without reaching the end or an exception.
func (r *Route) Validate() error {
	var problems []Problem
	add := func(where, format string, args ...any) {
		problems = append(problems, Problem{Where: where, What: fmt.Sprintf(format, args...)})
	}
	switch {
	case r.Product == "":
		add("", "the route names no product")
	case strings.Contains(r.Product, "/"):
		add("", "product %q contains '/', which separates the parts of a route stream id", r.Product)
	}
	if r.Version < 1 {
		add("", "version %d: versions start at 1", r.Version)
	}
	if len(r.Operations) == 0 {
		add("", "the route has no operations")
	}
	if y := r.Yield; y != nil {
		switch {
		case !y.Expected.IsPositive():
			add("yield", "expected output %s is not positive", y.Expected)
		case y.Unit == "":
			add("yield", "the expected output has no unit")
		case y.Range.Min.IsNegative() || y.Range.Max.LessThan(y.Range.Min):
			add("yield", "range %s%% to %s%% is not a range of percentages", y.Range.Min, y.Range.Max)
		}
		for _, d := range []decimal.Decimal{y.Expected, y.Range.Min, y.Range.Max} {
			if !quantity.InBounds(d) {
				add("yield", "%s is out of the range of quantities a route may hold", d)
			}
		}
	}
	steps := r.Steps()
	index := make(map[string]int, len(steps))
	for i, s := range steps {
		if _, dup := index[s.ID]; !dup && s.ID != "" {
			index[s.ID] = i
		}
	}
	opIDs := map[string]bool{}
	targetsOK := true
	stepIDs := map[string]bool{}
	for i, op := range r.Operations {
		where := fmt.Sprintf("operations[%d]", i)
		if op.ID != "" {
			where += " (" + op.ID + ")"
		}
		switch {
		case op.ID == "":
			add(where, "the operation has no id")
		case opIDs[op.ID]:
			add(where, "operation id %q is used twice", op.ID)
		}
		opIDs[op.ID] = true
		if len(op.Steps) == 0 {
			add(where, "the operation has no steps")
		}
		for j := range op.Steps {
			s := &op.Steps[j]
			swhere := fmt.Sprintf("operations[%d].steps[%d]", i, j)
			if s.ID != "" {
				swhere += " (" + s.ID + ")"
			}
			switch {
			case s.ID == "":
				add(swhere, "the step has no id")
			case stepIDs[s.ID]:
				add(swhere, "step id %q is used twice", s.ID)
			}
			stepIDs[s.ID] = true
			if strings.TrimSpace(s.Instructions) == "" {
				add(swhere, "the step has no instructions")
			}
			values := validateRequirements(swhere, s.Requirements, add)
			if !validateBranches(swhere, s.Branches, values, index, add) {
				targetsOK = false
			}
		}
	}
	// The flow of a route with a broken step id or branch target cannot be
	// judged, and judging it anyway would only repeat that problem.
	if len(steps) > 0 && len(index) == len(steps) && targetsOK {
		validateFlow(steps, index, add)
	}
	if len(problems) > 0 {
		return &Error{Product: r.Product, Version: r.Version, Problems: problems}
	}
	return nil
}

// validateRequirements checks a step's requirements and returns the names
// of the values the step records.
func validateRequirements(where string, reqs []Requirement, add func(string, string, ...any)) map[string]bool {
	values := map[string]bool{}
	for k, req := range reqs {
		rwhere := fmt.Sprintf("%s.requirements[%d]", where, k)
		if req == nil {
			add(rwhere, "the requirement is nil")
			continue
		}
		rwhere += " (" + string(req.Kind()) + ")"
		if _, ok := req.(SecondPersonVerification); !ok {
			switch name := valueName(req); {
			case name == "":
				add(rwhere, "the requirement has no name")
			case values[name]:
				add(rwhere, "name %q is used twice in the step", name)
			default:
				values[name] = true
			}
		}
		switch req := req.(type) {
		case ScanLot:
			if req.Material == "" {
				add(rwhere, "the lot scan names no material")
			}
		case Weigh:
			validateWeigh(rwhere, req, add)
		case RecordValue:
			if !quantitiesInBounds(rwhere, add, map[string]*decimal.Decimal{"Min": req.Min, "Max": req.Max}) {
				continue
			}
			if req.Min != nil && req.Max != nil && req.Min.GreaterThan(*req.Max) {
				add(rwhere, "Min %s is above Max %s", req.Min, req.Max)
			}
		case SecondPersonVerification:
			if req.Meaning == "" {
				add(rwhere, "the verification has no meaning")
			}
			if slices.Contains(req.Roles, "") {
				add(rwhere, "a verifier role is empty")
			}
		}
	}
	return values
}

// quantitiesInBounds reports the named quantities that are out of bounds
// (see quantity.MaxExponent) and whether all are within them: arithmetic on
// the others would cost too much to attempt.
func quantitiesInBounds(where string, add func(string, string, ...any), qs map[string]*decimal.Decimal) bool {
	ok := true
	for _, name := range slices.Sorted(maps.Keys(qs)) {
		if d := qs[name]; d != nil && !quantity.InBounds(*d) {
			add(where, "%s is out of range for a quantity (exponent %d, at most %d digits and exponents within ±%d)",
				name, d.Exponent(), quantity.MaxDigits, quantity.MaxExponent)
			ok = false
		}
	}
	return ok
}

func validateWeigh(where string, w Weigh, add func(string, string, ...any)) {
	if !quantitiesInBounds(where, add, map[string]*decimal.Decimal{"Target": &w.Target, "Below": &w.Below, "Above": &w.Above}) {
		return
	}
	if !w.Target.IsPositive() {
		add(where, "target %s is not positive", w.Target)
	}
	if w.Below.IsNegative() {
		add(where, "tolerance below the target is negative (%s)", w.Below)
	}
	if w.Above.IsNegative() {
		add(where, "tolerance above the target is negative (%s)", w.Above)
	}
	if w.Target.IsPositive() && w.Target.Sub(w.Below).IsNegative() {
		add(where, "the lower limit %s−%s is below zero", w.Target, w.Below)
	}
	if w.Unit == "" {
		add(where, "the weighing has no unit")
	}
	switch w.Bounds {
	case gate.Inclusive:
	case gate.Exclusive:
		if w.Below.IsZero() && w.Above.IsZero() {
			add(where, "bounds are exclusive and both tolerances are zero, so no weight is accepted")
		}
	default:
		add(where, "bounds %q: want %q or %q", w.Bounds, gate.Inclusive, gate.Exclusive)
	}
}

// validateBranches checks a step's branches and reports whether each has one
// known target.
func validateBranches(where string, branches []Branch, values map[string]bool, index map[string]int, add func(string, string, ...any)) bool {
	targetsOK := true
	unconditional := -1
	for k, b := range branches {
		bwhere := fmt.Sprintf("%s.branches[%d]", where, k)
		if unconditional >= 0 {
			add(bwhere, "branch %d always applies, so this branch is never taken", unconditional)
		}
		switch {
		case b.GoTo == "" && b.OpenException == "":
			add(bwhere, "the branch neither goes to a step nor opens an exception")
			targetsOK = false
		case b.GoTo != "" && b.OpenException != "":
			add(bwhere, "the branch both goes to step %q and opens exception %q", b.GoTo, b.OpenException)
			targetsOK = false
		case b.GoTo != "":
			if _, ok := index[b.GoTo]; !ok {
				add(bwhere, "goes to unknown step %q", b.GoTo)
				targetsOK = false
			}
		}
		if b.When == nil {
			if unconditional < 0 {
				unconditional = k
			}
			continue
		}
		c := b.When
		switch {
		case c.Value == "":
			add(bwhere, "the condition names no value")
		case !values[c.Value]:
			add(bwhere, "the condition tests value %q, which the step does not record", c.Value)
		}
		switch {
		case c.Equals == "" && c.Outside == nil:
			add(bwhere, "the condition has neither Equals nor Outside")
		case c.Equals != "" && c.Outside != nil:
			add(bwhere, "the condition has both Equals and Outside")
		case c.Outside != nil && !quantitiesInBounds(bwhere, add, map[string]*decimal.Decimal{"Min": &c.Outside.Min, "Max": &c.Outside.Max}):
		case c.Outside != nil && c.Outside.Min.GreaterThan(c.Outside.Max):
			add(bwhere, "range Min %s is above Max %s", c.Outside.Min, c.Outside.Max)
		}
	}
	return targetsOK
}

// validateFlow reports steps the first step cannot reach and steps from
// which no path reaches the end of the route or an exception. A loop that
// some condition can leave (re-weigh until in tolerance) is allowed; one
// made only of unconditional branches is not.
func validateFlow(steps []*Step, index map[string]int, add func(string, string, ...any)) {
	n := len(steps)
	succ := make([][]int, n)
	terminal := make([]bool, n)
	for i, s := range steps {
		always := false
		for _, b := range s.Branches {
			if b.OpenException != "" {
				terminal[i] = true
			} else if j, ok := index[b.GoTo]; ok {
				succ[i] = append(succ[i], j)
			}
			if b.When == nil {
				always = true
				break
			}
		}
		if !always {
			if i+1 < n {
				succ[i] = append(succ[i], i+1)
			} else {
				terminal[i] = true
			}
		}
	}
	reached := make([]bool, n)
	reached[0] = true
	queue := []int{0}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range succ[i] {
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	// Steps that can finish: terminal ones, then their predecessors until
	// nothing changes. Registry are small, so the simple fixpoint will do.
	finishes := slices.Clone(terminal)
	for changed := true; changed; {
		changed = false
		for i := range steps {
			if finishes[i] {
				continue
			}
			for _, j := range succ[i] {
				if finishes[j] {
					finishes[i], changed = true, true
					break
				}
			}
		}
	}
	var stuck []string
	for i, s := range steps {
		if !reached[i] {
			add("step "+s.ID, "the first step %q cannot reach it", steps[0].ID)
		}
		if !finishes[i] {
			stuck = append(stuck, s.ID)
		}
	}
	if len(stuck) > 0 {
		add("", "branching loops forever without reaching the end or an exception from step(s) %s", strings.Join(stuck, ", "))
	}
}

// Steps returns the route's steps in execution order, each a pointer
// into r.
func (r *Route) Steps() []*Step {
	var out []*Step
	for i := range r.Operations {
		for j := range r.Operations[i].Steps {
			out = append(out, &r.Operations[i].Steps[j])
		}
	}
	return out
}
