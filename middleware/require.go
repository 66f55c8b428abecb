package middleware

import "net/http"

// RequireScope returns middleware that lets a request through only if its
// principal holds scope (on some resource at least; see Principal.Allows).
// Put it inside the handler New returns. Without a principal it answers
// 401, without the scope 403 insufficient_scope, both as problem+json.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return require(scope, func(p *Principal, _ *http.Request) bool { return p.Allows(scope, "") })
}

// RequireResource is RequireScope for a per-resource route: resource names
// what the request touches (say r.PathValue("repo")), and the principal
// must hold scope on it: "repo:read=acme/*" passes for "acme/web" only. If
// resource returns "", only a grant of scope on every resource passes.
func RequireResource(scope string, resource func(*http.Request) string) func(http.Handler) http.Handler {
	return require(scope, func(p *Principal, r *http.Request) bool {
		res := resource(r)
		if res == "" {
			return p.parsed().allowsEvery(scope)
		}
		return p.Allows(scope, res)
	})
}

func require(scope string, allowed func(*Principal, *http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				challenge(w, "latchkey", http.StatusUnauthorized, "", "authentication required: send a Latchkey token: Authorization: Bearer <token>")
				return
			}
			if !allowed(p, r) {
				challenge(w, "latchkey", http.StatusForbidden, "insufficient_scope",
					"the credential does not allow "+scope+" here; exchange or create a token with the "+scope+" scope on this resource",
					"scope", scope)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
