package lifecycle

import (
	"fmt"
	"maps"
	"slices"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
)

// The default roles of the standard lifecycles.
const (
	RoleOperator   = "operator"
	RoleSupervisor = "supervisor"
	RoleQA         = "qa"
)

// Roles says who may give each command of a standard lifecycle: the actor
// must hold at least one of the roles listed for the command (see
// gate.RequireRole; the engine reads the actor's roles from the person's
// stream). A command of the lifecycle that the map does not list is an
// error when the model is built, so that no command is left open by
// mistake.
type Roles map[mes.Command][]string

// DefaultRoles returns the roles the lifecycles use unless told otherwise.
// Stopping is open to every plant role; going on after a hold, and every
// decision about the batch as a whole, take authority:
//
//   - operator: start and complete;
//   - operator, supervisor or qa: block, unblock and hold. Anyone who sees
//     a problem can stop the line, and an exception rule holds the batch
//     on behalf of whoever's action it caught; whether a block may be
//     lifted is the exception's to decide (its own gates), not the role's;
//   - supervisor or qa: restart from a hold;
//   - supervisor: release to the floor, cancel, abort, and skip a step;
//   - qa: verify and close.
//
// The returned map is the caller's to change.
func DefaultRoles() Roles {
	return Roles{
		mes.CmdStart:    {RoleOperator},
		mes.CmdComplete: {RoleOperator},
		mes.CmdBlock:    {RoleOperator, RoleSupervisor, RoleQA},
		mes.CmdUnblock:  {RoleOperator, RoleSupervisor, RoleQA},
		mes.CmdHold:     {RoleOperator, RoleSupervisor, RoleQA},
		mes.CmdRestart:  {RoleSupervisor, RoleQA},
		mes.CmdRelease:  {RoleSupervisor},
		mes.CmdCancel:   {RoleSupervisor},
		mes.CmdAbort:    {RoleSupervisor},
		mes.CmdSkip:     {RoleSupervisor},
		mes.CmdVerify:   {RoleQA},
		mes.CmdClose:    {RoleQA},
	}
}

// An Option changes a standard lifecycle as it is built.
type Option interface {
	apply(*config)
}

type config struct {
	roles    Roles
	noRoles  bool
	every    []mes.Option
	rolesSet bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Every adds opts to every transition of the lifecycle (for example
// route.BindOnStart, or a site-wide gate), after its role gate.
func Every(opts ...mes.Option) Option {
	opts = slices.Clone(opts)
	return optionFunc(func(c *config) { c.every = append(c.every, opts...) })
}

// WithRoles replaces the default roles (DefaultRoles) by r.
func WithRoles(r Roles) Option {
	r = maps.Clone(r)
	return optionFunc(func(c *config) { c.roles, c.rolesSet, c.noRoles = r, true, false })
}

// WithoutRoles builds the lifecycle without role gates: anyone may give
// any command that its other gates allow. It is the explicit opt-out for an
// integrator whose own gates, or whose caller, decide who may act; a
// lifecycle never drops its role gates otherwise.
func WithoutRoles() Option {
	return optionFunc(func(c *config) { c.noRoles = true })
}

// permits returns, for a command, the options its transitions start with:
// the role gate, then Every's options.
type permits func(cmd mes.Command, extra ...mes.Option) []mes.Option

// build reads opts and returns permits for the commands of a model, or an
// error when a role is missing or invalid.
func build(model string, cmds []mes.Command, opts []Option) (permits, error) {
	c := config{roles: DefaultRoles()}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("lifecycle: %s: option %d is nil", model, i)
		}
		o.apply(&c)
	}
	gates := map[mes.Command]gate.Gate{}
	if !c.noRoles {
		for _, cmd := range cmds {
			roles, ok := c.roles[cmd]
			if !ok || len(roles) == 0 {
				return nil, fmt.Errorf("lifecycle: %s: no roles for command %q; list them in WithRoles or build with WithoutRoles", model, cmd)
			}
			g, err := gate.RequireRole(roles...)
			if err != nil {
				return nil, fmt.Errorf("lifecycle: %s: command %q: %w", model, cmd, err)
			}
			gates[cmd] = g
		}
	}
	every := c.every
	return func(cmd mes.Command, extra ...mes.Option) []mes.Option {
		out := make([]mes.Option, 0, 2+len(every)+len(extra))
		if g, ok := gates[cmd]; ok {
			out = append(out, mes.WithGates(g))
		}
		out = append(out, every...)
		return append(out, extra...)
	}, nil
}
