package service_test

import (
	"testing"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// TestRoleRulesIgnoreASCIICaseOnly: a value an identity provider's user can
// choose (a group name, a claim value) earns a role only when it is the
// configured name in other ASCII case. Unicode folding would let the Kelvin
// sign (U+212A) stand for "k" and the long s (U+017F) for "s", so a group a
// person names "\u212Aeyholders" or "adminſ" would earn the admin role.
func TestRoleRulesIgnoreASCIICaseOnly(t *testing.T) {
	r := service.RoleRules{Claim: "groups", Owner: []string{"owners"}, Admin: []string{"keyholders", "admins"}, Member: []string{"staff"}}
	for _, c := range []struct {
		value string
		want  store.Role
	}{
		{"keyholders", store.RoleAdmin},
		{"KEYHOLDERS", store.RoleAdmin},
		{"Admins", store.RoleAdmin},
		{"OWNERS", store.RoleOwner},
		{"\u212Aeyholders", ""},
		{"admin\u017F", ""},
		{"owner\u017F", ""},
		{"\u017Ftaff", ""},
	} {
		if got := r.Role([]string{c.value}); got != c.want {
			t.Errorf("role for claim value %q = %q, want %q", c.value, got, c.want)
		}
	}
}
