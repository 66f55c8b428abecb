package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// RejectUndecodableQuery refuses, before routing, a request whose query
// string is not valid percent-encoding (`?cursor=%%%garbage`): Go's own
// parsing drops such pairs silently, so a mistyped cursor would quietly give
// the first page. Every path answers 400: problem+json, or RFC 6749 §5.2
// JSON on the OAuth endpoints.
func RejectUndecodableQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			next.ServeHTTP(w, r)
			return
		}
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			detail := "the query string cannot be decoded (" + err.Error() + "): percent-encode its values, for example % as %25"
			if strings.HasPrefix(r.URL.Path, "/oauth2/") {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": detail})
				return
			}
			writeProblem(w, http.StatusBadRequest, detail)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RejectDotSegments refuses, before routing, an API path with a "." or
// ".." segment. net/http's mux would answer it with a redirect to the
// cleaned path that keeps the method: DELETE /api/v1/sessions/. became
// DELETE /api/v1/sessions, which ends every other session, for any client
// that follows redirects (curl -L, most HTTP libraries). An id is never
// "." or "..", so such a path is a mistake: 400, problem+json.
func RejectDotSegments(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/api/") && hasDotSegment(p) {
			writeProblem(w, http.StatusBadRequest, "the path has a \".\" or \"..\" segment, which names no resource: use the id or name itself")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hasDotSegment reports whether the path p (which starts with "/") has a
// "." or ".." segment, without allocating: it runs on every API request.
func hasDotSegment(p string) bool {
	return strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
}

// refuseRepeatedQuery is the API's one rule for a query parameter given more
// than once (?user_id=a&user_id=b): huma reads the first value silently, and
// a proxy or WAF that reads the last would see another request than the one
// answered (HTTP parameter pollution). A repeated parameter that the
// operation declares single-valued is refused with a 400 naming it, before
// any handler runs; an array-valued one keeps working. The operation's
// parameters are huma's registry, so a new operation is covered as it is
// registered.
func (a *API) refuseRepeatedQuery(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	u := ctx.URL()
	if op == nil || u.RawQuery == "" {
		next(ctx)
		return
	}
	q := u.Query() // decodable: RejectUndecodableQuery ran before routing
	for _, p := range op.Parameters {
		if p == nil || p.In != "query" || (p.Schema != nil && p.Schema.Type == huma.TypeArray) {
			continue
		}
		if n := len(q[p.Name]); n > 1 {
			msg := "query parameter " + p.Name + " was given " + strconv.Itoa(n) + " times; give it once"
			_ = huma.WriteErr(a, ctx, http.StatusBadRequest, msg, &huma.ErrorDetail{Message: msg, Location: "query." + p.Name})
			return
		}
	}
	next(ctx)
}
