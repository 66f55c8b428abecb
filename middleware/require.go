package middleware

import (
	"net/http"
	"strings"
)

// RequireScope returns middleware that lets a request through only if its
// principal holds scope (on some resource at least; see Principal.Allows).
// Put it inside the handler New returns. Without a principal it answers
// 401, without the scope 403 insufficient_scope, both as problem+json.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return require(scope, func(p *Principal, _ *http.Request) (string, bool) { return "", p.Allows(scope, "") })
}

// RequireResource is RequireScope for a per-resource route: resource names
// what the request touches (say r.PathValue("repo")), and the principal
// must hold scope on it: "repo:read=acme/*" passes for "acme/web" only. If
// resource returns "", only a grant of scope on every resource passes.
func RequireResource(scope string, resource func(*http.Request) string) func(http.Handler) http.Handler {
	return require(scope, func(p *Principal, r *http.Request) (string, bool) {
		res := resource(r)
		if res == "" {
			return "every resource", p.parsed().allowsEvery(scope)
		}
		return res, p.Allows(scope, res)
	})
}

func require(scope string, allowed func(*Principal, *http.Request) (string, bool)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				challenge(w, "latchkey", http.StatusUnauthorized, "", "authentication required: send a Latchkey token: Authorization: Bearer <token>")
				return
			}
			if on, ok := allowed(p, r); !ok {
				realm := p.realm
				if realm == "" {
					realm = "latchkey"
				}
				challenge(w, realm, http.StatusForbidden, "insufficient_scope", insufficient(p, scope, on), "scope", scope)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// insufficient says what was missing and what the credential holds.
func insufficient(p *Principal, scope, on string) string {
	need := scope
	if on != "" {
		need += " on " + on
	}
	held := strings.Join(p.Scopes, " ")
	if held == "" {
		held = "none"
	}
	return "insufficient scope: this needs " + need + ", and the credential holds " + held +
		"; use a token whose scopes include it"
}
