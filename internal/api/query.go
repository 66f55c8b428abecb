package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
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
