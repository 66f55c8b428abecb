package scope_test

import (
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
)

func BenchmarkSetAllows(b *testing.B) {
	s := mustSet(b, "repo=acme/*,tools/*,infra/terraform", "tokens", "service=api-?")
	cases := []struct{ name, scope, resource string }{
		{"implied-pattern", "repo:read", "infra/terraform"},
		{"denied-pattern", "repo", "other/web"},
		{"unrestricted", "tokens", ""},
		{"not-held", "admin:org", ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Allows(c.scope, c.resource)
			}
		})
	}
}

func BenchmarkRouterDecide(b *testing.B) {
	r := mustRouter(b, scope.RulesConfig{
		Preset: "git",
		Rules: []scope.Rule{
			{Name: "health", Methods: []string{"GET"}, Path: "/healthz", Public: true},
			{Name: "deploy", Methods: []string{"POST"}, Path: "/api/v1/services/{name}/deploy", Scope: "service", Resource: "{name}"},
		},
	})
	cases := []struct{ name, method, uri string }{
		{"git-fetch-refs", "GET", "/acme/web.git/info/refs?service=git-upload-pack"},
		{"git-push", "POST", "/acme/web.git/git-receive-pack"},
		{"custom-last", "POST", "/api/v1/services/billing/deploy"},
		{"no-match", "GET", "/some/other/page"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Decide(c.method, c.uri)
			}
		})
	}
}
