package scope_test

import (
	"fmt"
	"strings"
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

// BenchmarkIntersectLargestAllowed parses and intersects the largest
// grant the caps allow with a narrower one and with itself, for growing
// pattern counts: the cost grows linearly with the number of patterns.
func BenchmarkIntersectLargestAllowed(b *testing.B) {
	for _, kind := range []string{"names", "globs"} {
		for _, n := range []int{10, 25, scope.MaxPatternsPerGrant} {
			pats := make([]string, n)
			for i := range pats {
				pats[i] = fmt.Sprintf("acme/r%02d-service", i)
				if kind == "globs" {
					pats[i] = fmt.Sprintf("acme/*%02d*-service", i)
				}
			}
			full := "repo=" + strings.Join(pats, ",")
			half := "repo:read=" + strings.Join(pats[:n/2], ",")
			b.Run(fmt.Sprintf("%s-%d", kind, n), func(b *testing.B) {
				cat := scope.DefaultCatalog()
				for b.Loop() {
					a, _ := cat.ParseSet([]string{full, half})
					c, _ := cat.ParseSet([]string{half})
					a.Intersect(c)
					a.Intersect(a)
				}
			})
		}
	}
}
