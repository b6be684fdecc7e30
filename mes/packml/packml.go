package packml

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/interlock-mes/interlock"

	pml "github.com/interlock-mes/interlock/device/packml"

	"github.com/interlock-mes/interlock/mes"
)

// The 17 PackML states as model states. Their values are the names of
// pml.State, so that a state read from equipment is a state of the
// model without translation.
const (
	Clearing     = mes.State(pml.Clearing)
	Stopped      = mes.State(pml.Stopped)
	Starting     = mes.State(pml.Starting)
	Idle         = mes.State(pml.Idle)
	Suspended    = mes.State(pml.Suspended)
	Execute      = mes.State(pml.Execute)
	Stopping     = mes.State(pml.Stopping)
	Aborting     = mes.State(pml.Aborting)
	Aborted      = mes.State(pml.Aborted)
	Holding      = mes.State(pml.Holding)
	Held         = mes.State(pml.Held)
	Unholding    = mes.State(pml.Unholding)
	Suspending   = mes.State(pml.Suspending)
	Unsuspending = mes.State(pml.Unsuspending)
	Resetting    = mes.State(pml.Resetting)
	Completing   = mes.State(pml.Completing)
	Complete     = mes.State(pml.Complete)
)

// The PackML commands, and CmdSC, the "state complete" of an acting
// state: the machine finishes what the state does and moves on by itself.
// Execute's state complete means the production order is done.
const (
	CmdReset     mes.Command = "Reset"
	CmdStart     mes.Command = "Start"
	CmdStop      mes.Command = "Stop"
	CmdHold      mes.Command = "Hold"
	CmdUnhold    mes.Command = "Unhold"
	CmdSuspend   mes.Command = "Suspend"
	CmdUnsuspend mes.Command = "Unsuspend"
	CmdAbort     mes.Command = "Abort"
	CmdClear     mes.Command = "Clear"
	CmdSC        mes.Command = "SC"
)

// packMLTransitions is every transition of the PackML base state model of
// ANSI/ISA-TR88.00.02-2015 (the state-model figure, as reproduced in OPC
// 30050 "OPC UA for PackML" v1.01, figures 15 and 18, and its transition
// nodes such as ExecuteToHolding and SuspendingToSuspended).
//
// Hold is permitted from Execute only. OPC 30050 v1.01 draws further Hold
// transitions (such as Suspended to Holding) as dashed lines and calls them
// "optional extensions of the state model"; they are not part of the base
// model, so an equipment event taking one is reported as not explained,
// unless the model is built WithOptionalHold (optionalHoldTransitions).
//
// Stop is permitted from every state except those of the stop and abort
// paths (Stopped, Stopping, Aborting, Aborted, Clearing); Abort from every
// state except Aborting and Aborted.
var packMLTransitions = []struct {
	from    mes.State
	command mes.Command
	to      mes.State
}{
	{Stopped, CmdReset, Resetting},
	{Complete, CmdReset, Resetting},
	{Idle, CmdStart, Starting},
	{Execute, CmdHold, Holding},
	{Held, CmdUnhold, Unholding},
	{Execute, CmdSuspend, Suspending},
	{Suspended, CmdUnsuspend, Unsuspending},
	{Aborted, CmdClear, Clearing},

	{Resetting, CmdSC, Idle},
	{Starting, CmdSC, Execute},
	{Execute, CmdSC, Completing},
	{Completing, CmdSC, Complete},
	{Holding, CmdSC, Held},
	{Unholding, CmdSC, Execute},
	{Suspending, CmdSC, Suspended},
	{Unsuspending, CmdSC, Execute},
	{Stopping, CmdSC, Stopped},
	{Aborting, CmdSC, Aborted},
	{Clearing, CmdSC, Stopped},

	{Starting, CmdStop, Stopping},
	{Idle, CmdStop, Stopping},
	{Suspended, CmdStop, Stopping},
	{Execute, CmdStop, Stopping},
	{Holding, CmdStop, Stopping},
	{Held, CmdStop, Stopping},
	{Unholding, CmdStop, Stopping},
	{Suspending, CmdStop, Stopping},
	{Unsuspending, CmdStop, Stopping},
	{Resetting, CmdStop, Stopping},
	{Completing, CmdStop, Stopping},
	{Complete, CmdStop, Stopping},

	{Clearing, CmdAbort, Aborting},
	{Stopped, CmdAbort, Aborting},
	{Starting, CmdAbort, Aborting},
	{Idle, CmdAbort, Aborting},
	{Suspended, CmdAbort, Aborting},
	{Execute, CmdAbort, Aborting},
	{Stopping, CmdAbort, Aborting},
	{Holding, CmdAbort, Aborting},
	{Held, CmdAbort, Aborting},
	{Unholding, CmdAbort, Aborting},
	{Suspending, CmdAbort, Aborting},
	{Unsuspending, CmdAbort, Aborting},
	{Resetting, CmdAbort, Aborting},
	{Completing, CmdAbort, Aborting},
	{Complete, CmdAbort, Aborting},
}

// optionalHoldTransitions are the optional Hold extensions of the state
// model: the transition nodes StartingToHolding, SuspendingToHolding,
// SuspendedToHolding, UnsuspendingToHolding and UnholdingToHolding of
// OPC 30050's PackMLExecuteStateMachineType, each caused by the Hold
// method, drawn dashed in ISA-TR88.00.02's figure. They let a machine hold
// for an internal reason while it is starting, suspended or on its way
// into or out of a suspension or hold.
var optionalHoldTransitions = []struct {
	from    mes.State
	command mes.Command
	to      mes.State
}{
	{Starting, CmdHold, Holding},
	{Suspending, CmdHold, Holding},
	{Suspended, CmdHold, Holding},
	{Unsuspending, CmdHold, Holding},
	{Unholding, CmdHold, Holding},
}

// An Option changes the PackML model as it is built.
type Option interface {
	apply(*config)
}

type config struct {
	optionalHold bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithOptionalHold adds the optional Hold transitions of the state model
// to Execute's: Hold is then also permitted from Starting, Suspending,
// Suspended, Unsuspending and Unholding, each to Holding, and nowhere
// else. Use it for equipment whose PLC implements them, so that its moves
// into Holding from those states are explained instead of refused.
//
// The model is then named "packml-optional-hold" rather than "packml",
// because it permits moves the base model does not, and the record must
// say which of the two a transition was checked against.
func WithOptionalHold() Option {
	return optionFunc(func(c *config) { c.optionalHold = true })
}

// Model names of the two shapes of the PackML model.
const (
	modelName             = "packml"
	optionalHoldModelName = "packml-optional-hold"
)

// newConfig reads opts; a nil option is an error.
func newConfig(opts []Option) (config, error) {
	var c config
	for i, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("packml: option %d is nil: %w", i, interlock.ErrInvalid)
		}
		o.apply(&c)
	}
	return c, nil
}

// Model returns the PackML equipment state machine ("packml",
// version 1): the 17 states of pml.States, in the same order, and
// every command and state-complete transition of the ISA-TR88.00.02 base
// state model. It has no final state, because equipment runs through the
// model for as long as it exists. WithOptionalHold adds the standard's
// optional Hold transitions ("packml-optional-hold", version 1). A nil
// option is an error matching interlock.ErrInvalid.
//
// The initial state is Stopped. The standard defines none; OPC 30050 says
// Stopped is the usual one, and the standard describes Stopped as powered
// and stationary, which is what new equipment is when its stream begins.
// Starting in Aborted instead would make every new piece of equipment
// record a Clear it never needed.
//
// Each transition records one event type named after the state it enters,
// such as "packml.stopping".
func Model(opts ...Option) (*mes.Model, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return buildModel(c)
}

func buildModel(c config) (*mes.Model, error) {
	name := modelName
	if c.optionalHold {
		name = optionalHoldModelName
	}
	b := mes.NewModel(name, 1).Initial(Stopped)
	for _, s := range pml.States() {
		b.States(mes.State(s))
	}
	for _, t := range packMLTransitions {
		b.Permit(t.from, t.command, t.to, mes.Recording(packMLEventType(t.to)))
	}
	if c.optionalHold {
		for _, t := range optionalHoldTransitions {
			b.Permit(t.from, t.command, t.to, mes.Recording(packMLEventType(t.to)))
		}
	}
	return b.Build()
}

func packMLEventType(entered mes.State) string {
	return "packml." + strings.ToLower(string(entered))
}

// ErrUnknownState is matched (errors.Is) by every
// *UnknownStateError.
var ErrUnknownState = interlock.NewInvalid("not a PackML state")

// UnknownStateError says a name is none of the 17 PackML states.
type UnknownStateError struct {
	State string
}

func (e *UnknownStateError) Error() string {
	return fmt.Sprintf("%q is not a PackML state", e.State)
}

// Unwrap makes errors.Is(err, ErrUnknownState) true.
func (e *UnknownStateError) Unwrap() error { return ErrUnknownState }

// StateOf returns the model state for a device's PackML state, or an
// *UnknownStateError when s is not one of the 17.
func StateOf(s pml.State) (mes.State, error) {
	if s.Number() == 0 {
		return "", &UnknownStateError{State: string(s)}
	}
	return mes.State(s), nil
}

// DeviceState returns the device's PackML state for a state of the
// PackML model, or an *UnknownStateError when s is not one of the 17.
func DeviceState(s mes.State) (pml.State, error) {
	d := pml.State(s)
	if d.Number() == 0 {
		return "", &UnknownStateError{State: string(s)}
	}
	return d, nil
}

// ErrNoPriorState is returned by Explain for a change with
// no From: the device's first read, or its first valid state after an
// invalid number. There is no move to check.
var ErrNoPriorState = interlock.NewInvalid("no prior PackML state")

// ChangeError says no single command or state complete of the
// standard moves equipment from From to To. It matches ErrIllegalTransition.
type ChangeError struct {
	From, To pml.State
	// Accepted lists the commands (and SC) that From accepts, sorted.
	Accepted []mes.Command
	// Missed lists the states between From and To on the shortest route
	// the standard allows. A device polled more slowly than it moves
	// passes through them unseen; a device that jumped is at fault.
	Missed []pml.State
}

func (e *ChangeError) Error() string {
	return fmt.Sprintf("PackML %s -> %s: no command or SC makes this move (%s accepts %v; the shortest allowed route passes %v)",
		e.From, e.To, e.From, e.Accepted, e.Missed)
}

// Unwrap makes errors.Is(err, ErrIllegalTransition) true.
func (e *ChangeError) Unwrap() error { return mes.ErrIllegalTransition }

// The models Explain uses are built once each: a model is immutable and
// Explain may be called for every equipment event.
var (
	packML             = sync.OnceValues(func() (*mes.Model, error) { return buildModel(config{}) })
	packMLOptionalHold = sync.OnceValues(func() (*mes.Model, error) { return buildModel(config{optionalHold: true}) })
)

// modelOf returns the built model for c.
func modelOf(c config) (*mes.Model, error) {
	if c.optionalHold {
		return packMLOptionalHold()
	}
	return packML()
}

// Explain returns the command, or CmdSC, that explains a
// device's move between PackML states. The standard never permits two of
// them between the same pair of states, so the answer is unique. opts
// are those of Model: WithOptionalHold explains a move into Holding by one
// of the optional Hold transitions; without it such a move is refused.
//
// It returns an error for which errors.Is(err, ErrNoPriorState) is
// true when change.From is empty; an *UnknownStateError when either
// state is not a PackML state; a *ChangeError (which matches
// ErrIllegalTransition) when the model does not allow the move,
// including a "move" to the same state; and an error matching
// interlock.ErrInvalid for a nil option.
func Explain(change pml.Change, opts ...Option) (mes.Command, error) {
	c, err := newConfig(opts)
	if err != nil {
		return "", err
	}
	m, err := modelOf(c)
	if err != nil {
		return "", fmt.Errorf("build PackML model: %w", err)
	}
	if change.From == "" {
		return "", fmt.Errorf("PackML change to %q: %w", change.To, ErrNoPriorState)
	}
	from, err := StateOf(change.From)
	if err != nil {
		return "", err
	}
	to, err := StateOf(change.To)
	if err != nil {
		return "", err
	}
	var accepted []mes.Command
	for _, t := range m.Transitions() {
		if t.From != from {
			continue
		}
		if t.To == to {
			return t.Command, nil
		}
		accepted = append(accepted, t.Command)
	}
	slices.Sort(accepted)
	return "", &ChangeError{From: change.From, To: change.To, Accepted: accepted, Missed: shortestRoute(m, from, to)}
}

// shortestRoute returns the states strictly between from and to on a
// shortest path of m, or nil when to cannot be reached. from is not marked
// as seen at the start, so a route from a state back to itself is found.
func shortestRoute(m *mes.Model, from, to mes.State) []pml.State {
	prev := make(map[mes.State]mes.State)
	seen := make(map[mes.State]bool)
	queue := []mes.State{from}
	all := m.Transitions() // in a fixed order, so that ties between routes break the same way every time
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, t := range all {
			if t.From != s || seen[t.To] {
				continue
			}
			seen[t.To] = true
			prev[t.To] = s
			if t.To == to {
				var route []pml.State
				for at := prev[to]; at != from; at = prev[at] {
					route = append(route, pml.State(at))
				}
				slices.Reverse(route)
				return route
			}
			queue = append(queue, t.To)
		}
	}
	return nil
}
