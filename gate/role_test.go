package gate_test

import (
	"testing"

	"github.com/interlock-mes/interlock/gate"
)

func TestRequireRole(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.RequireRole("operator", "supervisor"))
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{name: "PassWithAnyOfTheRoles", attempt: func(a *gate.Attempt) { a.Roles = []string{"viewer", "supervisor"} }},
		{
			name:    "RoleMissing",
			attempt: func(a *gate.Attempt) { a.Roles = []string{"viewer"} },
			want: []gate.Reason{{Gate: "require-role", Code: gate.CodeRoleMissing,
				Message: "alice holds none of the roles allowed to complete-step: operator, supervisor"}},
		},
		{
			name:    "NoRolesAtAll",
			attempt: func(a *gate.Attempt) { a.Roles = nil },
			want: []gate.Reason{{Gate: "require-role", Code: gate.CodeRoleMissing,
				Message: "alice holds none of the roles allowed to complete-step: operator, supervisor"}},
		},
		{
			// Roles are compared exactly; "Operator" is another role.
			name:    "RoleOfAnotherCase",
			attempt: func(a *gate.Attempt) { a.Roles = []string{"Operator"}; a.Actor = ""; a.Transition.Command = "" },
			want: []gate.Reason{{Gate: "require-role", Code: gate.CodeRoleMissing,
				Message: "the anonymous actor holds none of the roles allowed to do this: operator, supervisor"}},
		},
	})
}

func TestRequireRoleRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"NoRoles":   func() (gate.Gate, error) { return gate.RequireRole() },
		"EmptyRole": func() (gate.Gate, error) { return gate.RequireRole("operator", "") },
	}, map[string]string{
		"NoRoles":   "gate: RequireRole: no roles",
		"EmptyRole": "gate: RequireRole: a role is empty",
	})
}

func TestRequireRoleKeepsItsOwnCopyOfRoles(t *testing.T) {
	t.Parallel()
	roles := []string{"operator"}
	g := mustGate(t)(gate.RequireRole(roles...))
	roles[0] = "viewer" // a caller reusing its slice must not change the gate
	a := attempt()
	a.Roles = []string{"viewer"}
	v, err := g.Check(t.Context(), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Passed() {
		t.Error("the gate followed a change to the caller's slice")
	}
}
