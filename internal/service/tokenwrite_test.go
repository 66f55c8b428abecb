package service_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// TestAuthorizeTokenWrite is the table of actor role × owner role × policy
// × operation (narrowing and widening updates told apart) × credential (a
// session, or a fed token from workload identity federation).
func TestAuthorizeTokenWrite(t *testing.T) {
	cat := scope.DefaultCatalog()
	narrow, _ := cat.ParseSet([]string{"repo:read=acme/web"})
	wide, _ := cat.ParseSet([]string{"repo"})
	users := map[store.Role]*store.User{}
	for _, r := range []store.Role{store.RoleOwner, store.RoleAdmin, store.RoleMember} {
		users[r] = &store.User{ID: string(r) + "-id", Role: r}
	}
	type op struct {
		name  string
		write service.TokenWrite
	}
	ops := []op{
		{"create", service.TokenWrite{Op: service.OpCreate, After: &narrow}},
		{"regenerate", service.TokenWrite{Op: service.OpRegenerate}},
		{"revoke", service.TokenWrite{Op: service.OpRevoke}},
		{"narrow-scopes", service.TokenWrite{Op: service.OpUpdate, Before: &wide, After: &narrow}},
		{"widen-scopes", service.TokenWrite{Op: service.OpUpdate, Before: &narrow, After: &wide}},
		{"narrow-allowlist", service.TokenWrite{Op: service.OpUpdate, AllowBefore: []string{"10.0.0.0/8"}, AllowAfter: &[]string{"10.1.0.0/16"}}},
		{"drop-allowlist", service.TokenWrite{Op: service.OpUpdate, AllowBefore: []string{"10.0.0.0/8"}, AllowAfter: &[]string{}}},
	}
	widening := map[string]bool{"create": true, "regenerate": true, "widen-scopes": true, "drop-allowlist": true}
	for _, actorRole := range []store.Role{store.RoleOwner, store.RoleAdmin, store.RoleMember} {
		for _, ownerRole := range []store.Role{store.RoleOwner, store.RoleAdmin, store.RoleMember} {
			for _, creation := range []string{service.CreationEveryone, service.CreationAdmins} {
				for _, o := range ops {
					for _, fed := range []bool{false, true} {
						actor := service.Actor{User: users[actorRole], Scopes: cat.ForRole(string(actorRole)), Session: !fed, Federated: fed}
						owner := users[ownerRole]
						self := actorRole == ownerRole
						w := o.write
						w.Actor, w.Owner, w.Policy = actor, owner, store.Policy{Creation: creation}
						err := service.AuthorizeTokenWrite(w)
						isAdmin := actorRole != store.RoleMember
						want := true
						switch {
						case !self && !isAdmin:
							want = false // others' tokens
						case widening[o.name] && fed:
							want = false // a fed token widens nothing that outlives its run
						case widening[o.name] && creation == service.CreationAdmins && !isAdmin:
							want = false // only admins widen under creation=admins
						case widening[o.name] && !self && ownerRole == store.RoleOwner && actorRole != store.RoleOwner:
							want = false // only owners widen an owner's token
						}
						name := fmt.Sprintf("%s acting on %s's token, creation=%s, %s, federated=%v", actorRole, ownerRole, creation, o.name, fed)
						if (err == nil) != want {
							t.Errorf("%s: err = %v, want allowed=%v", name, err, want)
						}
						if err != nil && !errors.Is(err, service.ErrForbidden) {
							t.Errorf("%s: err %v is not ErrForbidden", name, err)
						}
					}
				}
			}
		}
	}
}
