package mes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/interlock-mes/interlock/device"
)

// The 17 PackML states as model states. Their values are the names of
// device.PackMLState, so that a state read from equipment is a state of the
// model without translation.
const (
	PackMLClearing     = State(device.PackMLClearing)
	PackMLStopped      = State(device.PackMLStopped)
	PackMLStarting     = State(device.PackMLStarting)
	PackMLIdle         = State(device.PackMLIdle)
	PackMLSuspended    = State(device.PackMLSuspended)
	PackMLExecute      = State(device.PackMLExecute)
	PackMLStopping     = State(device.PackMLStopping)
	PackMLAborting     = State(device.PackMLAborting)
	PackMLAborted      = State(device.PackMLAborted)
	PackMLHolding      = State(device.PackMLHolding)
	PackMLHeld         = State(device.PackMLHeld)
	PackMLUnholding    = State(device.PackMLUnholding)
	PackMLSuspending   = State(device.PackMLSuspending)
	PackMLUnsuspending = State(device.PackMLUnsuspending)
	PackMLResetting    = State(device.PackMLResetting)
	PackMLCompleting   = State(device.PackMLCompleting)
	PackMLComplete     = State(device.PackMLComplete)
)

// The PackML commands, and PackMLCmdSC, the "state complete" of an acting
// state: the machine finishes what the state does and moves on by itself.
// Execute's state complete means the production order is done.
const (
	PackMLCmdReset     Command = "Reset"
	PackMLCmdStart     Command = "Start"
	PackMLCmdStop      Command = "Stop"
	PackMLCmdHold      Command = "Hold"
	PackMLCmdUnhold    Command = "Unhold"
	PackMLCmdSuspend   Command = "Suspend"
	PackMLCmdUnsuspend Command = "Unsuspend"
	PackMLCmdAbort     Command = "Abort"
	PackMLCmdClear     Command = "Clear"
	PackMLCmdSC        Command = "SC"
)

// packMLTransitions is every transition of the PackML base state model of
// ANSI/ISA-TR88.00.02-2015 (the state-model figure, as reproduced in OPC
// 30050 "OPC UA for PackML" v1.01, figures 15 and 18, and its transition
// nodes such as ExecuteToHolding and SuspendingToSuspended).
//
// Hold is permitted from Execute only. OPC 30050 v1.01 draws further Hold
// transitions (such as Suspended to Holding) as dashed lines and calls them
// "optional extensions of the state model"; they are not part of the base
// model, so an equipment event taking one is reported as not explained.
//
// Stop is permitted from every state except those of the stop and abort
// paths (Stopped, Stopping, Aborting, Aborted, Clearing); Abort from every
// state except Aborting and Aborted.
var packMLTransitions = []struct {
	from    State
	command Command
	to      State
}{
	{PackMLStopped, PackMLCmdReset, PackMLResetting},
	{PackMLComplete, PackMLCmdReset, PackMLResetting},
	{PackMLIdle, PackMLCmdStart, PackMLStarting},
	{PackMLExecute, PackMLCmdHold, PackMLHolding},
	{PackMLHeld, PackMLCmdUnhold, PackMLUnholding},
	{PackMLExecute, PackMLCmdSuspend, PackMLSuspending},
	{PackMLSuspended, PackMLCmdUnsuspend, PackMLUnsuspending},
	{PackMLAborted, PackMLCmdClear, PackMLClearing},

	{PackMLResetting, PackMLCmdSC, PackMLIdle},
	{PackMLStarting, PackMLCmdSC, PackMLExecute},
	{PackMLExecute, PackMLCmdSC, PackMLCompleting},
	{PackMLCompleting, PackMLCmdSC, PackMLComplete},
	{PackMLHolding, PackMLCmdSC, PackMLHeld},
	{PackMLUnholding, PackMLCmdSC, PackMLExecute},
	{PackMLSuspending, PackMLCmdSC, PackMLSuspended},
	{PackMLUnsuspending, PackMLCmdSC, PackMLExecute},
	{PackMLStopping, PackMLCmdSC, PackMLStopped},
	{PackMLAborting, PackMLCmdSC, PackMLAborted},
	{PackMLClearing, PackMLCmdSC, PackMLStopped},

	{PackMLStarting, PackMLCmdStop, PackMLStopping},
	{PackMLIdle, PackMLCmdStop, PackMLStopping},
	{PackMLSuspended, PackMLCmdStop, PackMLStopping},
	{PackMLExecute, PackMLCmdStop, PackMLStopping},
	{PackMLHolding, PackMLCmdStop, PackMLStopping},
	{PackMLHeld, PackMLCmdStop, PackMLStopping},
	{PackMLUnholding, PackMLCmdStop, PackMLStopping},
	{PackMLSuspending, PackMLCmdStop, PackMLStopping},
	{PackMLUnsuspending, PackMLCmdStop, PackMLStopping},
	{PackMLResetting, PackMLCmdStop, PackMLStopping},
	{PackMLCompleting, PackMLCmdStop, PackMLStopping},
	{PackMLComplete, PackMLCmdStop, PackMLStopping},

	{PackMLClearing, PackMLCmdAbort, PackMLAborting},
	{PackMLStopped, PackMLCmdAbort, PackMLAborting},
	{PackMLStarting, PackMLCmdAbort, PackMLAborting},
	{PackMLIdle, PackMLCmdAbort, PackMLAborting},
	{PackMLSuspended, PackMLCmdAbort, PackMLAborting},
	{PackMLExecute, PackMLCmdAbort, PackMLAborting},
	{PackMLStopping, PackMLCmdAbort, PackMLAborting},
	{PackMLHolding, PackMLCmdAbort, PackMLAborting},
	{PackMLHeld, PackMLCmdAbort, PackMLAborting},
	{PackMLUnholding, PackMLCmdAbort, PackMLAborting},
	{PackMLSuspending, PackMLCmdAbort, PackMLAborting},
	{PackMLUnsuspending, PackMLCmdAbort, PackMLAborting},
	{PackMLResetting, PackMLCmdAbort, PackMLAborting},
	{PackMLCompleting, PackMLCmdAbort, PackMLAborting},
	{PackMLComplete, PackMLCmdAbort, PackMLAborting},
}

// PackMLModel returns the PackML equipment state machine ("packml",
// version 1): the 17 states of device.PackMLStates, in the same order, and
// every command and state-complete transition of the ISA-TR88.00.02 base
// state model. It has no final state, because equipment runs through the
// model for as long as it exists.
//
// The initial state is Stopped. The standard defines none; OPC 30050 says
// Stopped is the usual one, and the standard describes Stopped as powered
// and stationary, which is what new equipment is when its stream begins.
// Starting in Aborted instead would make every new piece of equipment
// record a Clear it never needed.
//
// Each transition records one event type named after the state it enters,
// such as "packml.stopping".
func PackMLModel() (*Model, error) {
	b := NewModel("packml", 1).Initial(PackMLStopped)
	for _, s := range device.PackMLStates() {
		b.States(State(s))
	}
	for _, t := range packMLTransitions {
		b.Permit(t.from, t.command, t.to, Recording(packMLEventType(t.to)))
	}
	return b.Build()
}

func packMLEventType(entered State) string {
	return "packml." + strings.ToLower(string(entered))
}

// ErrUnknownPackMLState is matched (errors.Is) by every
// *UnknownPackMLStateError.
var ErrUnknownPackMLState = errors.New("not a PackML state")

// UnknownPackMLStateError says a name is none of the 17 PackML states.
type UnknownPackMLStateError struct {
	State string
}

func (e *UnknownPackMLStateError) Error() string {
	return fmt.Sprintf("%q is not a PackML state", e.State)
}

// Unwrap makes errors.Is(err, ErrUnknownPackMLState) true.
func (e *UnknownPackMLStateError) Unwrap() error { return ErrUnknownPackMLState }

// PackMLStateOf returns the model state for a device's PackML state, or an
// *UnknownPackMLStateError when s is not one of the 17.
func PackMLStateOf(s device.PackMLState) (State, error) {
	if s.Number() == 0 {
		return "", &UnknownPackMLStateError{State: string(s)}
	}
	return State(s), nil
}

// DevicePackMLState returns the device's PackML state for a state of the
// PackML model, or an *UnknownPackMLStateError when s is not one of the 17.
func DevicePackMLState(s State) (device.PackMLState, error) {
	d := device.PackMLState(s)
	if d.Number() == 0 {
		return "", &UnknownPackMLStateError{State: string(s)}
	}
	return d, nil
}

// ErrNoPriorPackMLState is returned by ExplainPackMLChange for a change with
// no From: the device's first read, or its first valid state after an
// invalid number. There is no move to check.
var ErrNoPriorPackMLState = errors.New("no prior PackML state")

// PackMLChangeError says no single command or state complete of the
// standard moves equipment from From to To. It matches ErrIllegalTransition.
type PackMLChangeError struct {
	From, To device.PackMLState
	// Accepted lists the commands (and SC) that From accepts, sorted.
	Accepted []Command
	// Missed lists the states between From and To on the shortest route
	// the standard allows. A device polled more slowly than it moves
	// passes through them unseen; a device that jumped is at fault.
	Missed []device.PackMLState
}

func (e *PackMLChangeError) Error() string {
	return fmt.Sprintf("PackML %s -> %s: no command or SC makes this move (%s accepts %v; the shortest allowed route passes %v)",
		e.From, e.To, e.From, e.Accepted, e.Missed)
}

// Unwrap makes errors.Is(err, ErrIllegalTransition) true.
func (e *PackMLChangeError) Unwrap() error { return ErrIllegalTransition }

// packML is built once: the model is immutable and ExplainPackMLChange may
// be called for every equipment event.
var packML = sync.OnceValues(PackMLModel)

// ExplainPackMLChange returns the command, or PackMLCmdSC, that explains a
// device's move between PackML states. The standard never permits two of
// them between the same pair of states, so the answer is unique.
//
// It returns an error for which errors.Is(err, ErrNoPriorPackMLState) is
// true when change.From is empty; an *UnknownPackMLStateError when either
// state is not a PackML state; and a *PackMLChangeError (which matches
// ErrIllegalTransition) when the standard does not allow the move,
// including a "move" to the same state.
func ExplainPackMLChange(change device.PackMLChange) (Command, error) {
	m, err := packML()
	if err != nil {
		return "", fmt.Errorf("build PackML model: %w", err)
	}
	if change.From == "" {
		return "", fmt.Errorf("PackML change to %q: %w", change.To, ErrNoPriorPackMLState)
	}
	from, err := PackMLStateOf(change.From)
	if err != nil {
		return "", err
	}
	to, err := PackMLStateOf(change.To)
	if err != nil {
		return "", err
	}
	var accepted []Command
	for c, t := range m.byFrom[from] {
		if t.To == to {
			return c, nil
		}
		accepted = append(accepted, c)
	}
	slices.Sort(accepted)
	return "", &PackMLChangeError{From: change.From, To: change.To, Accepted: accepted, Missed: shortestRoute(m, from, to)}
}

// shortestRoute returns the states strictly between from and to on a
// shortest path of m, or nil when to cannot be reached. from is not marked
// as seen at the start, so a route from a state back to itself is found.
func shortestRoute(m *Model, from, to State) []device.PackMLState {
	prev := make(map[State]State)
	seen := make(map[State]bool)
	queue := []State{from}
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
				var route []device.PackMLState
				for at := prev[to]; at != from; at = prev[at] {
					route = append(route, device.PackMLState(at))
				}
				slices.Reverse(route)
				return route
			}
			queue = append(queue, t.To)
		}
	}
	return nil
}
