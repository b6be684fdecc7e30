// Package mes is Interlock's execution engine: models of gated transitions
// (state machines for orders, batches and steps), and the engine that runs
// commands through them and records every allowed transition and every
// denied attempt.
//
// A Model is built with NewModel(...).States(...).Permit(...).Build(); Build
// validates the whole definition and reports every problem at once, never
// panicking. The standard lifecycles (BatchLifecycle, OrderLifecycle,
// StepLifecycle) are built with the same API. A model renders as Graphviz
// DOT.
package mes
