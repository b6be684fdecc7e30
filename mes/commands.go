package mes

// Commands of the standard lifecycles.
const (
	CmdRelease  Command = "release"
	CmdStart    Command = "start"
	CmdBlock    Command = "block"
	CmdUnblock  Command = "unblock"
	CmdHold     Command = "hold"
	CmdRestart  Command = "restart"
	CmdComplete Command = "complete"
	CmdVerify   Command = "verify"
	CmdClose    Command = "close"
	CmdCancel   Command = "cancel"
	CmdAbort    Command = "abort"
	CmdSkip     Command = "skip"
)

// Prepend returns a function that prepends opts, the options a caller gave
// for every transition of a model, to the options of one transition: the
// standard models are built with it.
func Prepend(opts []Option) func(extra ...Option) []Option {
	return func(extra ...Option) []Option { return append(append([]Option{}, opts...), extra...) }
}
