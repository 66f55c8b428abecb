package scope_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
)

func mustRouter(t testing.TB, cfg scope.RulesConfig) *scope.Router {
	t.Helper()
	r, err := scope.NewRouter(scope.DefaultCatalog(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type decision struct {
	rule     string // "" = no rule
	scope    string
	resource string
	deny     bool
	public   bool
}

func checkDecision(t *testing.T, r *scope.Router, method, uri string, want decision) {
	t.Helper()
	d := r.Decide(method, uri)
	got := decision{scope: d.Scope, resource: d.Resource, deny: d.Deny, public: d.Public}
	if d.Rule != nil {
		got.rule = d.Rule.Name
	}
	if got != want {
		t.Errorf("Decide(%s %s) = %+v, want %+v", method, uri, got, want)
	}
}

// A path that the service could read differently is refused even where
// the default lets any authenticated request through.
func TestPathsAnUpstreamCouldReadDifferentlyAreDeniedWhateverTheDefault(t *testing.T) {
	r := mustRouter(t, scope.RulesConfig{Preset: "git", Default: "authenticated"})
	for _, uri := range []string{
		"/acme/web.git/..%5c..%5cother/x.git/info/refs?service=git-upload-pack",
		`/acme/web.git/..\..\other/x.git/info/refs?service=git-upload-pack`,
		"/acme/%5cother/x",
		"/acme/%2e%2e/other/x",
		"/acme//other/x",
		// Servlet containers and Spring drop ";" parameters, some after
		// decoding: "web;x" would be judged as one repository and served
		// as another.
		"/acme/web.git;x/git-receive-pack",
		"/acme/web;/info/refs?service=git-upload-pack",
		"/acme/web%3Bx/info/refs?service=git-upload-pack",
		"/acme/web.git/git-upload-pack;x",
	} {
		checkDecision(t, r, "GET", uri, decision{deny: true})
	}
	checkDecision(t, r, "GET", "/acme/web/x", decision{})
}

func TestGitRulesOnRealisticRequests(t *testing.T) {
	r := mustRouter(t, scope.RulesConfig{Preset: "git"})
	read := func(rule, resource string) decision {
		return decision{rule: rule, scope: "repo:read", resource: resource}
	}
	write := func(rule, resource string) decision {
		return decision{rule: rule, scope: "repo", resource: resource}
	}
	deny := decision{deny: true}
	tests := []struct {
		method, uri string
		want        decision
	}{
		{"GET", "/acme/web.git/info/refs?service=git-upload-pack", read("git-fetch-refs", "acme/web")},
		{"GET", "/acme/web/info/refs?service=git-upload-pack", read("git-no-suffix-fetch-refs", "acme/web")},
		{"HEAD", "/acme/web.git/info/refs?service=git-upload-pack", read("git-fetch-refs", "acme/web")},
		{"get", "/acme/web.git/info/refs?service=git-upload-pack", read("git-fetch-refs", "acme/web")},
		{"POST", "/acme/web.git/git-upload-pack", read("git-fetch", "acme/web")},
		{"POST", "/acme/web/git-upload-pack", read("git-no-suffix-fetch", "acme/web")},
		{"GET", "/acme/web.git/info/refs?service=git-receive-pack", write("git-push-refs", "acme/web")},
		{"POST", "/acme/web.git/git-receive-pack", write("git-push", "acme/web")},
		{"POST", "/acme/web/git-receive-pack", write("git-no-suffix-push", "acme/web")},
		{"POST", "/acme/web.git/git-receive-pack/", write("git-push", "acme/web")},
		{"GET", "https://git.example.com/acme/web.git/info/refs?service=git-upload-pack", read("git-fetch-refs", "acme/web")},
		// Query values are decoded; other parameters do not matter.
		{"GET", "/acme/web.git/info/refs?service=git%2Dupload-pack", read("git-fetch-refs", "acme/web")},
		{"GET", "/acme/web.git/info/refs?x=1&service=git-upload-pack", read("git-fetch-refs", "acme/web")},
		// Path segments are decoded.
		{"GET", "/acme/my%20app.git/info/refs?service=git-upload-pack", read("git-fetch-refs", "acme/my app")},
		{"POST", "/ac%6De/web.git/git-receive-pack", write("git-push", "acme/web")},
		// Missing, unknown or ambiguous service: the stronger scope.
		{"GET", "/acme/web.git/info/refs", write("git-other-refs", "acme/web")},
		{"GET", "/acme/web.git/info/refs?service=git-upload-pack&service=git-receive-pack", write("git-other-refs", "acme/web")},
		{"GET", "/acme/web.git/info/refs?service=git-upload-pack;service=git-receive-pack", write("git-other-refs", "acme/web")},
		{"GET", "/acme/web.git/info/refs?service=%zz", write("git-other-refs", "acme/web")},
		// Not Git, or the wrong method: the default.
		{"PUT", "/acme/web.git/git-receive-pack", deny},
		{"GET", "/acme/web.git/git-receive-pack", deny},
		{"GET", "/acme/web.git", deny},
		{"GET", "/acme/web.git/info/refs/extra?service=git-upload-pack", deny},
		{"GET", "/", deny},
		// Paths an upstream could read differently are always denied.
		{"POST", "/acme/web.git/../../other/app.git/git-receive-pack", deny},
		{"POST", "/acme/%2e%2e/other.git/git-receive-pack", deny},
		{"POST", "/acme/./web.git/git-receive-pack", deny},
		{"POST", "/acme%2Fweb/app.git/git-receive-pack", deny},
		{"POST", "//acme/web.git/git-receive-pack", deny},
		{"POST", "/acme//web.git/git-receive-pack", deny},
		{"POST", "/acme/web.git/git-receive-pack%00", deny},
		{"POST", "/acme/w%zzeb.git/git-receive-pack", deny},
		{"POST", `/acme/web.git/..\..\other/app.git/git-receive-pack`, deny},
		{"POST", "/acme/web.git/..%5c..%5cother/app.git/git-receive-pack", deny},
		{"POST", "acme/web.git/git-receive-pack", deny},
		{"POST", "", deny},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.uri, func(t *testing.T) {
			checkDecision(t, r, tt.method, tt.uri, tt.want)
		})
	}
}

func TestNonCanonicalPathsAreDeniedEvenWhenTheDefaultIsAuthenticated(t *testing.T) {
	r := mustRouter(t, scope.RulesConfig{Preset: "git", Default: scope.DefaultAuthenticated})
	checkDecision(t, r, "POST", "/acme/x/../web.git/git-receive-pack", decision{deny: true})
	checkDecision(t, r, "POST", "/acme//web.git/git-receive-pack", decision{deny: true})
	checkDecision(t, r, "GET", "/anything/else", decision{})
}

func TestCustomRules(t *testing.T) {
	r := mustRouter(t, scope.RulesConfig{
		Preset: "git",
		Rules: []scope.Rule{
			{Name: "health", Methods: []string{"get"}, Path: "/healthz", Public: true},
			{Name: "deploy", Methods: []string{"POST"}, Path: "/api/v1/services/{name}/deploy", Scope: "service", Resource: "{name}"},
			{Name: "services", Path: "/api/v1/services/", Scope: "service"},
			{Name: "artifacts", Methods: []string{"GET", "PUT"}, Path: "/jobs/{job}/artifacts/{file...}", Scope: "job", Resource: "ci/{job}"},
			{Name: "ssh keys", Path: "/api/v1/keys/{id}", Scope: "admin:ssh_key"},
			{Name: "shadowed", Path: "/healthz", Scope: "admin:org"},
			{Name: "api", Path: "/api/{rest...}", Scope: "tokens"},
		},
	})
	tests := []struct {
		method, uri string
		want        decision
	}{
		{"GET", "/healthz", decision{rule: "health", public: true}},
		{"HEAD", "/healthz", decision{rule: "health", public: true}},
		{"POST", "/healthz", decision{rule: "shadowed", scope: "admin:org"}},
		{"POST", "/api/v1/services/billing/deploy", decision{rule: "deploy", scope: "service", resource: "billing"}},
		{"GET", "/api/v1/services/billing/deploy", decision{rule: "api", scope: "tokens"}},
		{"GET", "/api/v1/services", decision{rule: "services", scope: "service"}},
		{"DELETE", "/api/v1/services/", decision{rule: "services", scope: "service"}},
		{"PUT", "/jobs/nightly/artifacts/logs/run.txt", decision{rule: "artifacts", scope: "job", resource: "ci/nightly"}},
		{"GET", "/jobs/nightly/artifacts", decision{rule: "artifacts", scope: "job", resource: "ci/nightly"}},
		{"DELETE", "/jobs/nightly/artifacts/x", decision{deny: true}},
		{"PATCH", "/api/v1/keys/42", decision{rule: "ssh keys", scope: "admin:ssh_key"}},
		{"GET", "/api", decision{rule: "api", scope: "tokens"}},
		{"GET", "/apis", decision{deny: true}},
		{"POST", "/acme/web.git/git-receive-pack", decision{rule: "git-push", scope: "repo", resource: "acme/web"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.uri, func(t *testing.T) {
			checkDecision(t, r, tt.method, tt.uri, tt.want)
		})
	}
}

func TestDecisionRuleIsNormalized(t *testing.T) {
	r := mustRouter(t, scope.RulesConfig{Rules: []scope.Rule{{Name: "x", Methods: []string{" post"}, Path: "/x", Scope: "job"}}})
	d := r.Decide("POST", "/x")
	if d.Rule == nil || len(d.Rule.Methods) != 1 || d.Rule.Methods[0] != "POST" {
		t.Fatalf("Decision.Rule = %+v, want upper-cased methods", d.Rule)
	}
}

func TestDecisionAllowsWithEffectiveSet(t *testing.T) {
	r := mustRouter(t, scope.RulesConfig{Preset: "git"})
	ci := mustSet(t, "repo:read=acme/*")
	pull := r.Decide("POST", "/acme/web.git/git-upload-pack")
	push := r.Decide("POST", "/acme/web.git/git-receive-pack")
	other := r.Decide("POST", "/evil/web.git/git-upload-pack")
	if !ci.Allows(pull.Scope, pull.Resource) || ci.Allows(push.Scope, push.Resource) || ci.Allows(other.Scope, other.Resource) {
		t.Fatal("a read-only CI token for acme/* is checked wrongly")
	}
}

func TestNewRouterRejectsBadConfig(t *testing.T) {
	rule := func(mod func(*scope.Rule)) scope.RulesConfig {
		r := scope.Rule{Name: "r", Methods: []string{"GET"}, Path: "/{owner}/{repo}", Scope: "repo", Resource: "{owner}/{repo}"}
		mod(&r)
		return scope.RulesConfig{Rules: []scope.Rule{{Name: "ok", Path: "/ok", Public: true}, r}}
	}
	tests := []struct {
		name string
		cfg  scope.RulesConfig
		want []string
	}{
		{"unknown scope", rule(func(r *scope.Rule) { r.Scope = "rep" }), []string{`rule 2 (r): unknown scope "rep"; known scopes: *, repo,`}},
		{"unnamed rule", rule(func(r *scope.Rule) { r.Name, r.Scope = "", "rep" }), []string{`rule 2: unknown scope "rep"`}},
		{"missing scope", rule(func(r *scope.Rule) { r.Scope, r.Resource = "", "" }), []string{"rule 2 (r): scope is missing", "public: true"}},
		{"public with scope", rule(func(r *scope.Rule) { r.Public = true }), []string{"public rule needs no scope"}},
		{"bad method", rule(func(r *scope.Rule) { r.Methods = []string{"GE T"} }), []string{`method "GE T" is not an HTTP method`}},
		{"empty method", rule(func(r *scope.Rule) { r.Methods = []string{""} }), []string{`method "" is not an HTTP method`}},
		{"relative path", rule(func(r *scope.Rule) { r.Path = "{owner}/{repo}" }), []string{`must start with "/"`}},
		{"empty segment", rule(func(r *scope.Rule) { r.Path = "/{owner}//{repo}" }), []string{"empty segment"}},
		{"dot-dot segment", rule(func(r *scope.Rule) { r.Path = "/{owner}/../{repo}" }), []string{`".." segment`}},
		{"path parameter", rule(func(r *scope.Rule) { r.Path = "/{owner}/x;v=1/{repo}" }), []string{`segment "x;v=1" holds ";"`}},
		{"backslash", rule(func(r *scope.Rule) { r.Path = `/{owner}/a\b/{repo}` }), []string{"or a backslash"}},
		{"parameter prefix", rule(func(r *scope.Rule) { r.Path = "/{owner}/v{repo}" }), []string{`segment "v{repo}" must start with its parameter`}},
		{"two parameters", rule(func(r *scope.Rule) { r.Path = "/{owner}{repo}" }), []string{"must hold one parameter"}},
		{"unclosed parameter", rule(func(r *scope.Rule) { r.Path = "/{owner/{repo}" }), []string{"must hold one parameter"}},
		{"stray brace", rule(func(r *scope.Rule) { r.Path = "/owner}/{repo}" }), []string{"must start with its parameter"}},
		{"bad parameter name", rule(func(r *scope.Rule) { r.Path = "/{owner}/{re-po}" }), []string{`parameter name "re-po"`}},
		{"duplicate parameter", rule(func(r *scope.Rule) { r.Path = "/{repo}/{repo}" }), []string{"uses parameter {repo} twice"}},
		{"rest not last", rule(func(r *scope.Rule) { r.Path = "/{owner...}/{repo}" }), []string{"{owner...} must be the whole last segment"}},
		{"rest with suffix", rule(func(r *scope.Rule) { r.Path = "/{owner}/{repo...}.git" }), []string{"must be the whole last segment"}},
		{"resource names unknown parameter", rule(func(r *scope.Rule) { r.Resource = "{owner}/{name}" }), []string{"names {name}, which the path does not capture; path parameters: owner, repo"}},
		{"resource without parameters", rule(func(r *scope.Rule) { r.Path, r.Resource = "/x", "{name}" }), []string{"the path captures none"}},
		{"resource unclosed", rule(func(r *scope.Rule) { r.Resource = "{owner}/{repo" }), []string{`"{" without "}"`}},
		{"resource stray brace", rule(func(r *scope.Rule) { r.Resource = "owner}" }), []string{`"}" without "{"`}},
		{"resource on plain scope", rule(func(r *scope.Rule) { r.Scope = "tokens" }), []string{`scope "tokens" cannot be narrowed`}},
		{"empty query key", rule(func(r *scope.Rule) { r.Query = map[string]string{"": "x"} }), []string{"query has an empty key"}},
		{"unknown default", scope.RulesConfig{Default: "allow"}, []string{`unknown default "allow"`, `"deny" or "authenticated"`}},
		{"unknown preset", scope.RulesConfig{Preset: "gitlab"}, []string{`unknown preset "gitlab"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scope.NewRouter(scope.DefaultCatalog(), tt.cfg)
			if err == nil {
				t.Fatal("NewRouter succeeded, want an error")
			}
			if !errors.Is(err, scope.ErrInvalid) {
				t.Errorf("error is not ErrInvalid: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestGitPresetNeedsTheRepoScopes(t *testing.T) {
	c, err := scope.NewCatalog([]scope.Def{{Name: "deploy"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = scope.NewRouter(c, scope.RulesConfig{Preset: "git"})
	if err == nil || !strings.Contains(err.Error(), `preset git, rule 1 (git-fetch-refs): unknown scope "repo:read"`) {
		t.Fatalf("error = %v", err)
	}
}
