package scope_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
)

func TestDefaultCatalogDeclaresTheDocumentedScopes(t *testing.T) {
	c := scope.DefaultCatalog()
	var names []string
	for _, d := range c.Defs() {
		names = append(names, d.Name)
		if d.Description == "" {
			t.Errorf("scope %q has no description", d.Name)
		}
	}
	want := []string{"*", "repo", "repo:read", "machine", "service", "job", "admin:org", "admin:ssh_key", "tokens", "introspect", "scim"}
	if !slices.Equal(names, want) {
		t.Fatalf("Defs names = %v, want %v", names, want)
	}
	for name, resource := range map[string]string{
		"repo": "repository", "repo:read": "repository", "machine": "machine", "service": "service", "job": "job",
		"admin:org": "", "tokens": "", "*": "",
	} {
		d, ok := c.Lookup(name)
		if !ok || d.Resource != resource {
			t.Errorf("Lookup(%q) = %+v, %v; want resource %q", name, d, ok, resource)
		}
	}
	for name, admin := range map[string]bool{"*": true, "admin:org": true, "repo": false, "tokens": false} {
		if d, _ := c.Lookup(name); d.AdminOnly != admin {
			t.Errorf("%q AdminOnly = %v, want %v", name, d.AdminOnly, admin)
		}
	}
	if d, _ := c.Lookup("repo"); !slices.Equal(d.Implies, []string{"repo:read"}) || d.Group != "Repositories" {
		t.Errorf("repo = %+v, want implies repo:read in group Repositories", d)
	}
	if _, ok := c.Lookup("rep"); ok {
		t.Error("Lookup of an unknown scope succeeded")
	}
}

func TestCatalogDefsAreCopies(t *testing.T) {
	c := scope.DefaultCatalog()
	defs := c.Defs()
	defs[1].Implies[0] = "machine"
	defs[1].Name = "changed"
	if d, _ := c.Lookup("repo"); d.Implies[0] != "repo:read" {
		t.Fatal("changing the result of Defs changed the catalog")
	}
}

func TestNewCatalogAddsSuperAdminFirst(t *testing.T) {
	c, err := scope.NewCatalog([]scope.Def{{Name: "deploy"}, {Name: "deploy:read"}})
	if err != nil {
		t.Fatal(err)
	}
	defs := c.Defs()
	if len(defs) != 3 || defs[0].Name != scope.SuperAdmin || !defs[0].AdminOnly {
		t.Fatalf("Defs = %+v, want * first and admin-only", defs)
	}
}

func TestNewCatalogRejectsBadEntries(t *testing.T) {
	tests := []struct {
		name string
		defs []scope.Def
		want []string // substrings of the error
	}{
		{"upper-case name", []scope.Def{{Name: "Repo"}}, []string{`entry 1 ("Repo")`, "lower-case"}},
		{"empty name", []scope.Def{{Name: "ok"}, {Name: ""}}, []string{`entry 2 ("")`, "name is empty"}},
		{"trailing colon", []scope.Def{{Name: "repo:"}}, []string{`entry 1 ("repo:")`, "lower-case"}},
		{"super admin declared", []scope.Def{{Name: "*"}}, []string{`entry 1 ("*")`, "built-in", "remove this entry"}},
		{"duplicate", []scope.Def{{Name: "a"}, {Name: "b"}, {Name: "a"}}, []string{`entry 3 ("a")`, "already declared by entry 1"}},
		{"unknown implied", []scope.Def{{Name: "a", Implies: []string{"b"}}}, []string{`entry 1 ("a")`, `unknown scope "b"`, "known scopes: *, a"}},
		{"implies super admin", []scope.Def{{Name: "a", Implies: []string{"*"}}}, []string{`entry 1 ("a")`, "super-admin"}},
		{"implies itself", []scope.Def{{Name: "a", Implies: []string{"a"}}}, []string{`entry 1 ("a")`, "implies itself"}},
		{"cycle", []scope.Def{{Name: "x"}, {Name: "a", Implies: []string{"b"}}, {Name: "b", Implies: []string{"c"}}, {Name: "c", Implies: []string{"a"}}},
			[]string{`entry 2 ("a")`, "cycle a → b → c → a"}},
		{"bad resource word", []scope.Def{{Name: "a", Resource: "Repo Name"}}, []string{`entry 1 ("a")`, "one lower-case word"}},
		{"narrowable implies other resource", []scope.Def{
			{Name: "repo", Resource: "repository", Implies: []string{"deploy"}}, {Name: "deploy", Resource: "service"}},
			[]string{`entry 1 ("repo")`, "same resource"}},
		{"narrowable implies plain", []scope.Def{
			{Name: "repo", Resource: "repository", Implies: []string{"read"}}, {Name: "read"}},
			[]string{`entry 1 ("repo")`, "same resource"}},
		{"member scope implies admin-only", []scope.Def{
			{Name: "a", Implies: []string{"b"}}, {Name: "b", Implies: []string{"admin"}}, {Name: "admin", AdminOnly: true}},
			[]string{`entry 1 ("a")`, `admin-only scope "admin"`, "admin_only: true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scope.NewCatalog(tt.defs)
			if err == nil {
				t.Fatal("NewCatalog succeeded, want an error")
			}
			if !errors.Is(err, scope.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewCatalogAcceptsPlainScopeImplyingNarrowable(t *testing.T) {
	// An unrestricted grant passes no patterns down, so it may imply anything.
	c, err := scope.NewCatalog([]scope.Def{
		{Name: "all", Implies: []string{"repo"}},
		{Name: "repo", Resource: "repository", Implies: []string{"repo:read"}},
		{Name: "repo:read", Resource: "repository"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.ParseSet([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Names(), []string{"all", "repo", "repo:read"}; !slices.Equal(got, want) {
		t.Errorf("Names = %v, want %v (transitive)", got, want)
	}
}
