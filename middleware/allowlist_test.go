package middleware_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/middleware"
)

// TestMiddlewareEnforcesTheAllowlistIntrospectionReports: Latchkey cannot
// see the address a token is used from at a resource server, so
// introspection reports the token's allowlist and the middleware checks it
// against its own client's address (and a forged X-Forwarded-For does not
// change that address).
func TestMiddlewareEnforcesTheAllowlistIntrospectionReports(t *testing.T) {
	s := servertest.Start(t, "--signing-key-secret", "middleware-test-secret-0123456789")
	admin := s.AdminSession(t)
	watcher := s.CreateToken(t, admin, map[string]any{"name": "watcher", "scopes": []string{"introspect"}})
	office := s.CreateToken(t, admin, map[string]any{"name": "office", "scopes": []string{"repo:read"}, "ip_allowlist": []string{"10.20.30.40/32"}})
	mw := func(clientIP func(*http.Request) string) http.Handler {
		return middleware.New(middleware.Options{
			Issuer: s.URL, IntrospectionURL: s.URL + "/oauth2/introspect", IntrospectionToken: watcher.Secret, ClientIP: clientIP,
		})(middleware.RequireScope("repo:read")(echo))
	}
	a := call(t, mw(nil), "GET", "/", "Bearer "+office.Secret)
	if a.status != 401 || !contains(a.body, "may not be used from your address") {
		t.Fatalf("allowlisted token from 127.0.0.1: %+v, want 401", a)
	}
	inOffice := func(*http.Request) string { return "10.20.30.40" }
	if a := call(t, mw(inOffice), "GET", "/", "Bearer "+office.Secret); a.status != 200 {
		t.Fatalf("allowlisted token from inside its allowlist: %+v, want 200", a)
	}
}
