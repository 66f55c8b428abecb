package scope_test

import (
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
)

func TestSetAllows(t *testing.T) {
	type check struct {
		scope, resource string
		want            bool
	}
	tests := []struct {
		name   string
		grants []string
		checks []check
	}{
		{"hierarchy carries patterns down", []string{"repo=acme/*"}, []check{
			{"repo:read", "acme/web", true},
			{"repo", "acme/web", true},
			{"repo", "other/web", false},
			{"repo", "acme/web/wiki", false}, // * does not cross /
			{"repo", "acme", false},
			{"repo", "", true}, // no resource named: holding the scope suffices
			{"repo:read", "", true},
			{"machine", "", false},
			{"machine", "acme/web", false},
		}},
		{"read does not imply write", []string{"repo:read"}, []check{
			{"repo:read", "acme/web", true},
			{"repo", "acme/web", false},
			{"repo", "", false},
		}},
		{"unrestricted", []string{"repo", "machine"}, []check{
			{"repo:read", "anything/at/all", true},
			{"machine", "prod-1", true},
			{"service", "api", false},
		}},
		{"several patterns", []string{"service=api,worker-?", "job=nightly-*"}, []check{
			{"service", "api", true},
			{"service", "worker-1", true},
			{"service", "worker-10", false},
			{"job", "nightly-backup", true},
			{"job", "weekly", false},
		}},
		{"class patterns", []string{"machine=prod-[0-9]"}, []check{
			{"machine", "prod-7", true},
			{"machine", "prod-x", false},
		}},
		{"narrower grant beside a wider one", []string{"repo=acme/*", "repo:read"}, []check{
			{"repo:read", "other/x", true},
			{"repo", "other/x", false},
			{"repo", "acme/x", true},
		}},
		{"super admin", []string{"*"}, []check{
			{"admin:org", "", true},
			{"repo", "any/thing", true},
			{"not-in-catalog", "", true},
		}},
		{"non-narrowable scope", []string{"admin:ssh_key"}, []check{
			{"admin:ssh_key", "", true},
			{"admin:ssh_key", "key-1", true},
			{"admin:org", "", false},
		}},
		{"empty set", nil, []check{
			{"repo", "", false},
			{"*", "", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSet(t, tt.grants...)
			for _, c := range tt.checks {
				if got := s.Allows(c.scope, c.resource); got != c.want {
					t.Errorf("%v.Allows(%q, %q) = %v, want %v", tt.grants, c.scope, c.resource, got, c.want)
				}
			}
		})
	}
}

func TestZeroSetHoldsNothing(t *testing.T) {
	var s scope.Set
	if s.Allows("repo", "") || s.Has("repo") || s.IsSuperAdmin() || !s.IsEmpty() || len(s.Names()) != 0 || len(s.Strings()) != 0 {
		t.Fatal("the zero Set holds something")
	}
	if !s.Covers(scope.Set{}) || s.Covers(mustSet(t, "repo")) {
		t.Fatal("the zero Set covers the wrong things")
	}
	if got := s.Intersect(mustSet(t, "repo")); !got.IsEmpty() {
		t.Fatalf("zero ∩ repo = %v", got.Strings())
	}
}

func TestSetHas(t *testing.T) {
	s := mustSet(t, "repo=acme/*", "tokens")
	for name, want := range map[string]bool{"repo": true, "repo:read": true, "tokens": true, "admin:org": false, "*": false} {
		if got := s.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
	super := mustSet(t, "*")
	if !super.Has("admin:org") || !super.Has("*") || !super.IsSuperAdmin() {
		t.Error("the super-admin grant does not have every scope")
	}
	if s.IsSuperAdmin() {
		t.Error("IsSuperAdmin on an ordinary set")
	}
}

func TestForRoleCapsMembers(t *testing.T) {
	c := scope.DefaultCatalog()
	for _, role := range []string{"owner", "admin"} {
		s := c.ForRole(role)
		if !s.IsSuperAdmin() || !slices.Equal(s.Strings(), []string{"*"}) {
			t.Errorf("ForRole(%q) = %v, want {*}", role, s.Strings())
		}
	}
	m := c.ForRole("member")
	want := []string{"admin:ssh_key", "introspect", "job", "machine", "repo", "repo:read", "service", "tokens"}
	if got := m.Strings(); !slices.Equal(got, want) {
		t.Errorf("member grants = %v, want %v", got, want)
	}
	if m.IsSuperAdmin() || m.Has("admin:org") || !m.Allows("repo", "any/repo") {
		t.Error("member role holds the wrong scopes")
	}
	for _, role := range []string{"", "guest", "Owner"} {
		if s := c.ForRole(role); !s.IsEmpty() || s.Has("repo") {
			t.Errorf("ForRole(%q) = %v, want empty", role, s.Strings())
		}
	}
}

func TestIntersectEffectivePermission(t *testing.T) {
	c := scope.DefaultCatalog()
	member, owner := c.ForRole("member"), c.ForRole("owner")
	tests := []struct {
		name  string
		token scope.Set
		role  scope.Set
		want  []string
	}{
		{"member keeps a narrowed token", mustSet(t, "repo=acme/*"), member, []string{"repo=acme/*"}},
		{"member loses admin scopes", mustSet(t, "repo", "admin:org"), member, []string{"repo"}},
		{"super token yields the role", mustSet(t, "*"), member, member.Strings()},
		{"super token of an owner", mustSet(t, "*"), owner, []string{"*"}},
		{"owner keeps the token as is", mustSet(t, "repo=acme/*", "admin:org"), owner, []string{"admin:org", "repo=acme/*"}},
		{"implied scope survives", mustSet(t, "repo=acme/*"), mustSet(t, "repo:read"), []string{"repo:read=acme/*"}},
		{"role patterns narrow an unrestricted token", mustSet(t, "repo"), mustSet(t, "repo:read=acme/*"), []string{"repo:read=acme/*"}},
		{"narrower pattern wins", mustSet(t, "repo=acme/*"), mustSet(t, "repo=acme/web"), []string{"repo=acme/web"}},
		{"token pattern inside the role's", mustSet(t, "repo=acme/web,acme/api"), mustSet(t, "repo=acme/*"), []string{"repo=acme/api,acme/web"}},
		{"overlapping patterns are dropped", mustSet(t, "repo=acme/*"), mustSet(t, "repo=*/web"), []string{}},
		{"literal reading is not containment", mustSet(t, "repo=acme/*"), mustSet(t, "repo=acme/?"), []string{"repo=acme/?"}},
		{"? inside *", mustSet(t, "repo=acme/?"), mustSet(t, "repo=acme/*"), []string{"repo=acme/?"}},
		{"per pattern", mustSet(t, "repo=a/*,b/*"), mustSet(t, "repo=a/x,b/*"), []string{"repo=a/x,b/*"}},
		{"implied duplicate is folded", mustSet(t, "repo", "repo:read"), member, []string{"repo"}},
		{"narrow write, wide read", mustSet(t, "repo=acme/*", "repo:read"), member, []string{"repo=acme/*", "repo:read"}},
		{"write narrowed by role, read kept", mustSet(t, "repo"), mustSet(t, "repo=acme/*", "repo:read"), []string{"repo=acme/*", "repo:read"}},
		{"nothing in common", mustSet(t, "machine"), mustSet(t, "job"), []string{}},
		{"unknown role", mustSet(t, "repo"), c.ForRole("guest"), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.token.Intersect(tt.role)
			if !slices.Equal(got.Strings(), tt.want) {
				t.Fatalf("%v ∩ %v = %q, want %q", tt.token.Strings(), tt.role.Strings(), got.Strings(), tt.want)
			}
			// Whatever the result allows, both sides allow.
			if !tt.token.Covers(got) || !tt.role.Covers(got) {
				t.Errorf("result %v allows more than a side: token covers %v, role covers %v",
					got.Strings(), tt.token.Covers(got), tt.role.Covers(got))
			}
		})
	}
}

func TestIntersectResultChecksHierarchy(t *testing.T) {
	got := mustSet(t, "repo=acme/*").Intersect(mustSet(t, "repo:read"))
	if !got.Allows("repo:read", "acme/web") || got.Allows("repo", "acme/web") || got.Allows("repo:read", "other/web") {
		t.Fatalf("effective %v checks wrongly", got.Strings())
	}
}

func TestCoversAndMissing(t *testing.T) {
	c := scope.DefaultCatalog()
	tests := []struct {
		name    string
		holder  scope.Set
		asked   scope.Set
		missing []string
	}{
		{"member may create member tokens", c.ForRole("member"), mustSet(t, "repo=acme/*", "tokens"), nil},
		{"member may not hand out admin scopes", c.ForRole("member"), mustSet(t, "admin:org", "repo"), []string{"admin:org"}},
		{"member may not hand out super admin", c.ForRole("member"), mustSet(t, "*"), []string{"*"}},
		{"owner covers everything", c.ForRole("owner"), mustSet(t, "*", "admin:org"), nil},
		{"hierarchy", mustSet(t, "repo=acme/*"), mustSet(t, "repo:read=acme/web"), nil},
		{"uncovered patterns are named", mustSet(t, "repo=acme/*"), mustSet(t, "repo:read=acme/*,other/*", "job"), []string{"job", "repo:read=other/*"}},
		{"patterns do not cover any resource", mustSet(t, "repo=acme/*"), mustSet(t, "repo"), []string{"repo"}},
		{"* stays in one segment", mustSet(t, "repo=acme/*"), mustSet(t, "repo=acme/*/x"), []string{"repo=acme/*/x"}},
		{"wildcard owner", mustSet(t, "repo=*/web"), mustSet(t, "repo=acme/web"), nil},
		{"read does not cover write", mustSet(t, "repo:read"), mustSet(t, "repo=acme/*"), []string{"repo=acme/*"}},
		{"nothing asked", mustSet(t), mustSet(t), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.holder.Missing(tt.asked)
			if !slices.Equal(got, tt.missing) {
				t.Errorf("Missing = %q, want %q", got, tt.missing)
			}
			if covers := tt.holder.Covers(tt.asked); covers != (len(tt.missing) == 0) {
				t.Errorf("Covers = %v, but Missing = %q", covers, got)
			}
		})
	}
}

func TestAllowsDoesNotAllocate(t *testing.T) {
	s := mustSet(t, "repo=acme/*,tools/*", "tokens")
	allocs := testing.AllocsPerRun(100, func() {
		s.Allows("repo:read", "tools/lint")
		s.Allows("repo", "other/web")
		s.Allows("tokens", "")
	})
	if allocs != 0 {
		t.Fatalf("Allows allocates %v times per run", allocs)
	}
}
