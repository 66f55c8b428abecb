package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/middleware"
)

// The middleware restates Latchkey's scope rules because it may not import
// internal/scope; this test holds the two to the same answers, on the
// cases of internal/scope's own tests and on every pairing of the grants
// and checks below.
func TestPrincipalAllowsAgreesWithLatchkeysScopeRules(t *testing.T) {
	grantSets := [][]string{
		{"repo=acme/*"},
		{"repo:read"},
		{"repo", "machine"},
		{"service=api,worker-?", "job=nightly-*"},
		{"machine=prod-[0-9]"},
		{"repo=acme/*", "repo:read"},
		{"repo:read=acme/*", "repo=tools/lint"},
		{"repo=acme/web,acme/api", "repo:read=acme/*"},
		{"*"},
		{"admin:ssh_key"},
		{"repo=acme/\\*"},
		{"repo=*"},
		{},
	}
	checks := []struct{ scope, resource string }{
		{"repo:read", "acme/web"}, {"repo", "acme/web"}, {"repo", "other/web"}, {"repo", "acme/web/wiki"},
		{"repo", "acme"}, {"repo", ""}, {"repo:read", ""}, {"machine", ""}, {"machine", "acme/web"},
		{"repo:read", "anything/at/all"}, {"machine", "prod-1"}, {"machine", "prod-x"}, {"service", "api"},
		{"service", "worker-1"}, {"service", "worker-10"}, {"job", "nightly-backup"}, {"job", "weekly"},
		{"repo:read", "other/x"}, {"repo", "acme/x"}, {"admin:org", ""}, {"repo", "any/thing"},
		{"admin:ssh_key", ""}, {"admin:ssh_key", "key-1"}, {"*", ""}, {"repo:read", "tools/lint"},
		{"repo", "tools/lint"}, {"repo", "acme/*"}, {"repo:read", "acme/*"}, {"tokens", ""},
	}
	cat := scope.DefaultCatalog()
	for _, gs := range grantSets {
		set, err := cat.ParseSet(gs)
		if err != nil {
			t.Fatalf("ParseSet(%v): %v", gs, err)
		}
		p := &middleware.Principal{Scopes: set.Strings()}
		raw := &middleware.Principal{Scopes: gs}
		for _, c := range checks {
			want := set.Allows(c.scope, c.resource)
			if got := p.Allows(c.scope, c.resource); got != want {
				t.Errorf("%v (canonical %v).Allows(%q, %q) = %v, internal/scope says %v", gs, set.Strings(), c.scope, c.resource, got, want)
			}
			if got := raw.Allows(c.scope, c.resource); got != want {
				t.Errorf("%v (as given).Allows(%q, %q) = %v, internal/scope says %v", gs, c.scope, c.resource, got, want)
			}
		}
	}
}

func TestDefaultImpliesMatchesTheBuiltInCatalog(t *testing.T) {
	for _, d := range scope.DefaultCatalog().Defs() {
		if got := middleware.DefaultImplies[d.Name]; len(got) != len(d.Implies) {
			t.Errorf("%s implies %v in the catalog, %v in DefaultImplies", d.Name, d.Implies, got)
		}
	}
}

func TestCustomHierarchyIsFollowedTransitively(t *testing.T) {
	is := newIssuer(t)
	k := newKey(t, "k1", jose.ES256)
	is.publish(k)
	c := is.valid(time.Now())
	c.Scope = "deploy=prod-*"
	raw := sign(t, k, "at+jwt", c)
	pick := func(r *http.Request) string { return r.URL.Query().Get("env") }
	for _, tt := range []struct {
		implies map[string][]string
		env     string
		status  int
	}{
		{nil, "prod-1", 403}, // the default hierarchy knows nothing of deploy
		{map[string][]string{"deploy": {"deploy:read"}, "deploy:read": {"deploy:list"}}, "prod-1", 200},
		{map[string][]string{"deploy": {"deploy:read"}, "deploy:read": {"deploy:list"}}, "staging", 403},
	} {
		h := middleware.New(middleware.Options{Issuer: is.srv.URL, Audience: "inventory", Implies: tt.implies})(
			middleware.RequireResource("deploy:list", pick)(echo))
		if a := call(t, h, "GET", "/?env="+tt.env, "Bearer "+raw); a.status != tt.status {
			t.Errorf("implies %v, env %s: %d, want %d", tt.implies, tt.env, a.status, tt.status)
		}
	}
}
