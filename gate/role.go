package gate

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// RequireRole returns a gate that passes when the actor holds at least one
// of roles, as the engine lists them in Attempt.Roles at the time of the
// attempt. Roles are compared exactly. It fails with CodeRoleMissing.
// Its reasons are named "require-role". It returns an error when roles is
// empty or holds an empty role.
func RequireRole(roles ...string) (Gate, error) {
	if len(roles) == 0 {
		return nil, errors.New("gate: RequireRole: no roles")
	}
	if slices.Contains(roles, "") {
		return nil, errors.New("gate: RequireRole: a role is empty")
	}
	roles = slices.Clone(roles)
	return builtin("require-role", func(_ context.Context, a *Attempt, _ Facts) (Verdict, error) {
		for _, r := range a.Roles {
			if slices.Contains(roles, r) {
				return Pass(), nil
			}
		}
		return fail(CodeRoleMissing, "%s holds none of the roles allowed to %s: %s",
			actorName(a), commandName(a), strings.Join(roles, ", ")), nil
	}), nil
}

// actorName shows the actor in a message even when the attempt has none.
func actorName(a *Attempt) string {
	if a.Actor == "" {
		return "the anonymous actor"
	}
	return a.Actor
}

// commandName shows the transition's command in a message.
func commandName(a *Attempt) string {
	if a.Transition.Command == "" {
		return "do this"
	}
	return string(a.Transition.Command)
}
