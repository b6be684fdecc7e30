package mes

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
)

// State is a state of a model, such as "in-progress".
type State = gate.State

// Command asks a model for a transition, such as "start".
type Command = gate.Command

// Meaning is what a signature on a transition attests, such as
// "verified": signature.Meaning, the one type of meanings.
type Meaning = signature.Meaning

// SignatureRequirement says which signatures a transition needs.
type SignatureRequirement struct {
	Meaning Meaning
	Count   int      // how many signatures of this meaning; at least 1
	Roles   []string // a signer must hold one of these; empty means any role
	// NotPerformer forbids anyone who took part in the work from signing:
	// the actor of any earlier record of the subject (of the step, when the
	// transition runs a step) and whoever signed one, denied attempts and
	// reviews of corrections aside. The system, not a policy, prevents
	// self-verification and self-approval. The actor submitting the
	// transition may sign it if they did not perform the work (a QA
	// reviewer releasing a batch), unless NotActor is set.
	NotPerformer bool
	// NotActor forbids the actor submitting the transition from signing
	// it: the signature is a second person's (a skip approved by someone
	// other than who skips).
	NotActor bool
	// DistinctSigners requires the Count signatures to come from different
	// people (dual verification).
	DistinctSigners bool
}

// EvidenceRequirement names a piece of evidence a transition needs and the
// sources it may come from; empty Sources means any.
type EvidenceRequirement struct {
	Name    string
	Sources []gate.Source
}

// Transition is one permitted move of a model.
type Transition struct {
	From, To   State
	Command    Command
	Gates      []gate.Gate
	Evidence   []EvidenceRequirement
	Signatures []SignatureRequirement
	// Records are the event types the transition appends; the first is the
	// transition's own event. Empty means one event named after the command.
	Records []string
	// Override, when set, lets a failure of Gates be overridden (see
	// Request.Override). Nil: a failed gate always blocks.
	Override *OverridePolicy
	// Mirror, when set, says where and as what the transition's own record
	// is mirrored (see the option Mirror).
	Mirror *Mirroring
	// Critical marks the transition as a critical tracking event (FSMA
	// 204): its record says so, and the lot graph reports it.
	Critical bool
	// ReadPointRef, when set, names the reference (Request.Refs) of the
	// equipment whose registered place is the transition's read point
	// (see ReadPointFrom).
	ReadPointRef string

	// problems are what options found wrong with the transition, which
	// Build reports.
	problems []string
}

// Mirroring is where a transition's record is mirrored: onto the stream
// named by the attempt's reference Ref, as a record of type Type.
type Mirroring struct {
	Ref  string
	Type string
}

// clone returns a copy of t that shares nothing a caller could change
// with t.
func (t *Transition) clone() *Transition {
	c := *t
	c.Gates = slices.Clone(t.Gates)
	c.Evidence = slices.Clone(t.Evidence)
	for i := range c.Evidence {
		c.Evidence[i].Sources = slices.Clone(c.Evidence[i].Sources)
	}
	c.Signatures = slices.Clone(t.Signatures)
	for i := range c.Signatures {
		c.Signatures[i].Roles = slices.Clone(c.Signatures[i].Roles)
	}
	c.Records = slices.Clone(t.Records)
	if t.Mirror != nil {
		m := *t.Mirror
		c.Mirror = &m
	}
	if t.Override != nil {
		o := *t.Override
		o.Roles = slices.Clone(o.Roles)
		c.Override = &o
	}
	return &c
}

// OverridePolicy says who may approve overriding a transition's failed
// gates. Only failures of the transition's Gates can be overridden: missing
// evidence, consumption, context, signature and illegal-transition failures
// cannot.
type OverridePolicy struct {
	// Roles: the approver must hold one of them. At least one.
	Roles []string
}

// AllowOverride lets a failed gate of the transition be overridden with a
// reason and the e-signature of a person holding one of roles who is not the
// executor; the engine then opens a deviation. See Request.Override.
func AllowOverride(roles ...string) Option {
	return func(t *Transition) { t.Override = &OverridePolicy{Roles: roles} }
}

// Mirror mirrors an allowed transition's own record onto a second stream,
// the one named by the attempt's reference ref (Request.Refs[ref]), in the
// same atomic append: a record of type recordType carrying an event.Marker
// with the command's id and the transition's Data, appended at the version
// of that stream the engine read, so a concurrent change to it makes the
// engine evaluate the command again. The exception model uses it to put an
// exception's opening and closing on the subject it concerns, where gates
// and release readiness read them. An attempt whose reference is missing
// or names the subject itself is denied (CodeMirrorTarget).
func Mirror(ref, recordType string) Option {
	return func(t *Transition) { t.Mirror = &Mirroring{Ref: ref, Type: recordType} }
}

// Option configures a transition in Builder.Permit.
type Option func(*Transition)

// WithGates guards the transition with gates, all of which must pass.
func WithGates(gs ...gate.Gate) Option {
	return func(t *Transition) { t.Gates = append(t.Gates, gs...) }
}

// WithEvidence requires evidence for the transition.
func WithEvidence(reqs ...EvidenceRequirement) Option {
	return func(t *Transition) { t.Evidence = append(t.Evidence, reqs...) }
}

// WithSignatures requires signatures for the transition.
func WithSignatures(reqs ...SignatureRequirement) Option {
	return func(t *Transition) { t.Signatures = append(t.Signatures, reqs...) }
}

// ForCommand applies opts only to the transitions of command cmd and
// leaves the others as they are: a role or training gate on a step's start
// alone, where a list of options (lifecycle.Every, route.StepConfig.Options)
// otherwise adds to every transition, a QA verification included. An
// empty cmd is a definition error, which Build reports.
func ForCommand(cmd Command, opts ...Option) Option {
	opts = slices.Clone(opts)
	return func(t *Transition) {
		if cmd == "" {
			t.problems = append(t.problems, "ForCommand names no command")
			return
		}
		if t.Command != cmd {
			return
		}
		for _, o := range opts {
			if o != nil {
				o(t)
			}
		}
	}
}

// Recording names the event types the transition appends.
func Recording(eventTypes ...string) Option {
	return func(t *Transition) { t.Records = append(t.Records, eventTypes...) }
}

// Critical marks a transition as a critical tracking event (FSMA 204), such
// as the step that transforms or ships food: its record carries
// "critical": true, which the lot graph and its exports report.
func Critical() Option {
	return func(t *Transition) { t.Critical = true }
}

// ReadPointFrom records, as the transition's read point, the place the
// equipment named by the attempt's reference ref was registered at (the
// "location" of the equipment model's register or status data), unless
// the request gives a read point itself: the scale or line a step runs on
// says where it happened, from master data, without each station having
// to say so. Equipment without a place leaves the read point as the
// request has it.
func ReadPointFrom(ref string) Option {
	return func(t *Transition) { t.ReadPointRef = ref }
}

// Model is a named, versioned state machine of gated transitions. It is
// immutable once built and safe for concurrent use.
type Model struct {
	name     string
	version  int
	initial  State
	states   []State // in declaration order
	final    map[State]bool
	byFrom   map[State]map[Command]*Transition
	commands []Command       // every command the model knows, in first-use order
	ownTypes map[string]bool // event types of the transitions' own events, which fold reads
	kind     string          // what its subjects are in the lot graph; "" when not said
	steps    []string        // the only steps the model runs (Builder.Steps); nil for any
}

// Builder collects a model's definition. Build validates it and reports every
// problem at once. A Builder is not safe for concurrent use.
type Builder struct {
	name        string
	version     int
	initial     State
	states      []State
	final       []State
	transitions []*Transition
	kind        string
	steps       []string
	stepsSet    bool
}

// NewModel starts the definition of model name at version.
func NewModel(name string, version int) *Builder {
	return &Builder{name: name, version: version}
}

// Of says what the model's subjects are in the lot graph: "lot", "batch",
// "container" or "shipment" (event.Node's kinds). A transition that moves
// material then declares its subject so, unless the request declares it
// otherwise (Request.Declare), and the graph knows a batch as a batch
// without every request saying it.
func (b *Builder) Of(kind string) *Builder {
	b.kind = kind
	return b
}

// Steps says that the model runs only the steps ids of its subjects: a
// request, a fold or a dispatch of the model for any other step, or for
// the subject as a whole, is refused with a *RequestError (field "Step")
// before anything is read. A model whose transitions enforce one step's
// requirements says so, so that a service that finds the model by name
// (a Registry) cannot run them against another step. Without Steps a
// model runs any step, or none.
func (b *Builder) Steps(ids ...string) *Builder {
	b.steps, b.stepsSet = append(b.steps, ids...), true
	return b
}

// Steps returns the only steps the model runs (Builder.Steps), or nil
// when it runs any step or none.
func (m *Model) Steps() []string { return slices.Clone(m.steps) }

// checkStep returns a *RequestError when the model does not run step.
func (m *Model) checkStep(step string) error {
	if m.steps == nil || slices.Contains(m.steps, step) {
		return nil
	}
	if step == "" {
		return invalidRequest("Step", "model %s v%d runs step %s only; the request names no step", m.name, m.version, strings.Join(m.steps, ", "))
	}
	return invalidRequest("Step", "model %s v%d runs step %s only, not %q", m.name, m.version, strings.Join(m.steps, ", "), step)
}

// Kind returns what the model's subjects are in the lot graph (Builder.Of);
// "" when the model does not say.
func (m *Model) Kind() string { return m.kind }

// Initial sets the state every subject of the model starts in.
func (b *Builder) Initial(s State) *Builder {
	b.initial = s
	return b
}

// States declares states. Every state a transition names must be declared.
func (b *Builder) States(ss ...State) *Builder {
	b.states = append(b.states, ss...)
	return b
}

// Final marks declared states as final: no transition may leave them, and
// they need not be able to reach anything.
func (b *Builder) Final(ss ...State) *Builder {
	b.final = append(b.final, ss...)
	return b
}

// Permit allows command to move a subject from one state to another.
func (b *Builder) Permit(from State, command Command, to State, opts ...Option) *Builder {
	t := &Transition{From: from, To: to, Command: command}
	for _, o := range opts {
		if o != nil {
			o(t)
		}
	}
	b.transitions = append(b.transitions, t)
	return b
}

// DefinitionError lists every problem of a model definition.
type DefinitionError struct {
	Model    string
	Problems []string
}

func (e *DefinitionError) Error() string {
	return fmt.Sprintf("model %q: %d problem(s):\n  %s", e.Model, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// ErrDefinition is matched (errors.Is) by every *DefinitionError.
var ErrDefinition = interlock.NewInvalid("invalid model definition")

// Unwrap makes errors.Is(err, ErrDefinition) true.
func (e *DefinitionError) Unwrap() error { return ErrDefinition }

// Build validates the definition and returns the model, or a
// *DefinitionError listing every problem: a missing name or version, an
// undeclared or repeated state, a transition from or to an unknown state, a
// command permitted twice from one state, a transition leaving a final
// state, a state that cannot be reached from the initial one, a non-final
// state with no way out, a nil gate, and malformed evidence or signature
// requirements.
func (b *Builder) Build() (*Model, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if b.name == "" {
		add("the model has no name")
	}
	if b.version < 1 {
		add("version %d: versions start at 1", b.version)
	}
	switch b.kind {
	case "", "lot", "batch", "container", "shipment":
	default:
		add("subjects of kind %q: want lot, batch, container or shipment", b.kind)
	}
	declared := make(map[State]bool, len(b.states))
	for _, s := range b.states {
		switch {
		case s == "":
			add("a declared state has an empty name")
		case declared[s]:
			add("state %q is declared twice", s)
		}
		declared[s] = true
	}
	if b.initial == "" {
		add("no initial state")
	} else if !declared[b.initial] {
		add("initial state %q is not declared", b.initial)
	}
	if b.stepsSet && len(b.steps) == 0 {
		add("Steps names no step")
	}
	for i, id := range b.steps {
		switch {
		case id == "":
			add("step %d of Steps is empty", i)
		case slices.Contains(b.steps[:i], id):
			add("step %q is named twice in Steps", id)
		}
	}
	final := make(map[State]bool, len(b.final))
	for _, s := range b.final {
		if !declared[s] {
			add("final state %q is not declared", s)
		}
		final[s] = true
	}
	m := &Model{
		name: b.name, version: b.version, initial: b.initial, kind: b.kind,
		states: slices.Clone(b.states), final: final, steps: slices.Clone(b.steps),
		byFrom:   make(map[State]map[Command]*Transition),
		ownTypes: make(map[string]bool),
	}
	for i, t := range b.transitions {
		where := fmt.Sprintf("transition %d (%s --%s--> %s)", i, t.From, t.Command, t.To)
		if t.Command == "" {
			add("%s: the command is empty", where)
		}
		for _, p := range t.problems {
			add("%s: %s", where, p)
		}
		if !declared[t.From] {
			add("%s: from unknown state %q", where, t.From)
		}
		if !declared[t.To] {
			add("%s: to unknown state %q", where, t.To)
		}
		if final[t.From] {
			add("%s: leaves final state %q", where, t.From)
		}
		for j, g := range t.Gates {
			if g == nil {
				add("%s: gate %d is nil", where, j)
			}
		}
		for j, e := range t.Evidence {
			if e.Name == "" {
				add("%s: evidence requirement %d has no name", where, j)
			}
		}
		if m := t.Mirror; m != nil && (m.Ref == "" || m.Type == "") {
			add("%s: a mirror needs a reference and a record type", where)
		}
		for j, s := range t.Signatures {
			if s.Meaning == "" {
				add("%s: signature requirement %d has no meaning", where, j)
			}
			if s.Count < 1 {
				add("%s: signature requirement %d needs a count of at least 1, not %d", where, j, s.Count)
			}
			if err := signature.Meaning(s.Meaning).Validate(); s.Meaning != "" && err != nil {
				add("%s: signature requirement %d: %v", where, j, err)
			}
		}
		if t.Override != nil && len(t.Override.Roles) == 0 {
			add("%s: an override policy names no role that may approve it", where)
		}
		for j, r := range t.Records {
			if r == "" {
				add("%s: recorded event type %d is empty", where, j)
			}
		}
		cmds := m.byFrom[t.From]
		if cmds == nil {
			cmds = make(map[Command]*Transition)
			m.byFrom[t.From] = cmds
		}
		if _, dup := cmds[t.Command]; dup && t.Command != "" {
			add("%s: command %q is already permitted from %q", where, t.Command, t.From)
		}
		tc := *t
		cmds[t.Command] = &tc
		own := string(t.Command)
		if len(t.Records) > 0 {
			own = t.Records[0]
		}
		m.ownTypes[own] = true
		if !slices.Contains(m.commands, t.Command) {
			m.commands = append(m.commands, t.Command)
		}
	}
	if declared[b.initial] {
		reached := map[State]bool{b.initial: true}
		queue := []State{b.initial}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for _, t := range b.transitions {
				if t.From == s && declared[t.To] && !reached[t.To] {
					reached[t.To] = true
					queue = append(queue, t.To)
				}
			}
		}
		for _, s := range b.states {
			if !reached[s] {
				add("state %q cannot be reached from %q", s, b.initial)
			}
			if !final[s] && len(m.byFrom[s]) == 0 && declared[s] {
				add("state %q is not final and has no transition out", s)
			}
		}
	}
	if len(problems) > 0 {
		return nil, &DefinitionError{Model: b.name, Problems: problems}
	}
	return m, nil
}

// Name returns the model's name.
func (m *Model) Name() string { return m.name }

// Version returns the model's version.
func (m *Model) Version() int { return m.version }

// Initial returns the state subjects start in.
func (m *Model) Initial() State { return m.initial }

// States returns the model's states in declaration order.
func (m *Model) States() []State { return slices.Clone(m.states) }

// Commands returns every command the model knows, in order of first use.
func (m *Model) Commands() []Command { return slices.Clone(m.commands) }

// IsFinal reports whether s is a final state.
func (m *Model) IsFinal(s State) bool { return m.final[s] }

// IllegalTransitionError says that a command is not permitted in a state.
// It matches ErrIllegalTransition.
type IllegalTransitionError struct {
	Model   string
	State   State
	Command Command
	// Permitted lists the commands the state does permit, sorted.
	Permitted []Command
}

// ErrIllegalTransition is matched (errors.Is) by *IllegalTransitionError.
var ErrIllegalTransition = errors.New("illegal transition")

func (e *IllegalTransitionError) Error() string {
	return fmt.Sprintf("%s: %q is not permitted in state %q (permitted: %v)", e.Model, e.Command, e.State, e.Permitted)
}

// Unwrap makes errors.Is(err, ErrIllegalTransition) true.
func (e *IllegalTransitionError) Unwrap() error { return ErrIllegalTransition }

// Transition returns a copy of the transition command asks for in state
// from, or an *IllegalTransitionError when the model does not permit it.
// Changing the copy does not change the model.
func (m *Model) Transition(from State, command Command) (*Transition, error) {
	t, err := m.transition(from, command)
	if err != nil {
		return nil, err
	}
	return t.clone(), nil
}

// transition is Transition without the copy: the engine's, which changes
// nothing.
func (m *Model) transition(from State, command Command) (*Transition, error) {
	if t, ok := m.byFrom[from][command]; ok {
		return t, nil
	}
	permitted := make([]Command, 0, len(m.byFrom[from]))
	for c := range m.byFrom[from] {
		permitted = append(permitted, c)
	}
	slices.Sort(permitted)
	return nil, &IllegalTransitionError{Model: m.name, State: from, Command: command, Permitted: permitted}
}

// Transitions returns a copy of every transition, ordered by state
// declaration and then by command. Changing the copies does not change the
// model.
func (m *Model) Transitions() []*Transition {
	var out []*Transition
	for _, s := range m.states {
		cmds := make([]Command, 0, len(m.byFrom[s]))
		for c := range m.byFrom[s] {
			cmds = append(cmds, c)
		}
		slices.Sort(cmds)
		for _, c := range cmds {
			out = append(out, m.byFrom[s][c].clone())
		}
	}
	return out
}
