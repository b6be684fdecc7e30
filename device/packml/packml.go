package packml

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// State is a machine state of the PackML state model (ISA-TR88.00.02).
// The engine builds its PackML state machine from these names.
type State string

// The PackML states, in the order of their state numbers 1 to 17.
const (
	Clearing     State = "Clearing"
	Stopped      State = "Stopped"
	Starting     State = "Starting"
	Idle         State = "Idle"
	Suspended    State = "Suspended"
	Execute      State = "Execute"
	Stopping     State = "Stopping"
	Aborting     State = "Aborting"
	Aborted      State = "Aborted"
	Holding      State = "Holding"
	Held         State = "Held"
	Unholding    State = "Unholding"
	Suspending   State = "Suspending"
	Unsuspending State = "Unsuspending"
	Resetting    State = "Resetting"
	Completing   State = "Completing"
	Complete     State = "Complete"
)

var states = [...]State{
	Clearing, Stopped, Starting, Idle, Suspended,
	Execute, Stopping, Aborting, Aborted, Holding,
	Held, Unholding, Suspending, Unsuspending,
	Resetting, Completing, Complete,
}

// States returns the 17 states in the order of their numbers.
func States() []State {
	out := make([]State, len(states))
	copy(out, states[:])
	return out
}

// Number returns the state number of s per ISA-TR88.00.02, or 0 when s is
// not a PackML state.
func (s State) Number() int {
	for i, v := range states {
		if v == s {
			return i + 1
		}
	}
	return 0
}

// InvalidStateError says a state register held a number that names no
// PackML state; 0 is "undefined" in ISA-TR88.00.02 and is invalid too.
type InvalidStateError struct {
	Value decimal.Decimal
}

func (e *InvalidStateError) Error() string {
	return fmt.Sprintf("PackML state number %s is not between 1 and 17", e.Value)
}

// Is makes errors.Is match another *InvalidStateError with the same
// value, so a caller can test for a particular bad number.
func (e *InvalidStateError) Is(target error) bool {
	t, ok := target.(*InvalidStateError)
	return ok && t.Value.Equal(e.Value)
}

// StateFromNumber returns the state numbered n. For any n outside 1 to
// 17 the error is an *InvalidStateError.
func StateFromNumber(n int64) (State, error) {
	if n < 1 || n > int64(len(states)) {
		return "", &InvalidStateError{Value: decimal.NewFromInt(n)}
	}
	return states[n-1], nil
}

// Change is a move between PackML states. From is empty on the first
// read and after the register held an invalid number.
type Change struct {
	From, To State
}
