// Package route is versioned master data for how a product is made: a
// Route (a traveler, or master batch record) lists operations and steps in
// order, each step with its instructions, the evidence it requires (a lot
// scan, a weighing within tolerance, a recorded value within limits, a
// second person's verification) and its controlled branches (go to another
// step, or open a deviation, on a condition).
//
// # Versions and binding
//
// A route version is validated (Validate returns every problem at once),
// encoded canonically and digested (Digest), and moved through draft,
// approved and retired by the engine (Lifecycle, Registry), so its own
// stream is its audit trail and its approval is gated like any other
// write. A batch is bound to one approved version by that digest
// (BindOnStart, Binding), and anyone can re-verify what was executed.
//
// # Execution
//
// StepModel turns one step of a bound version into an engine model whose
// gates enforce the step's requirements; NextStep says where a step's
// branches lead.
package route
