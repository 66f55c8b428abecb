package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/middleware"
)

// These tests run a real Latchkey server on loopback.

func exchangeAt(t *testing.T, s *servertest.Server, subject string, extra ...string) string {
	t.Helper()
	f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Add(extra[i], extra[i+1])
	}
	resp, err := http.PostForm(s.URL+"/oauth2/token", f)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("exchange: %d %v", resp.StatusCode, out)
	}
	return out["access_token"].(string)
}

func TestMiddlewareAcceptsJWTsExchangedByLatchkey(t *testing.T) {
	s := servertest.Start(t, "--signing-key-secret", "middleware-test-secret-0123456789")
	admin := s.AdminSession(t)
	pat := s.CreateToken(t, admin, map[string]any{"name": "svc", "scopes": []string{"repo=acme/*"}})
	mux := http.NewServeMux()
	mux.Handle("GET /repos/{owner}/{name}", middleware.RequireResource("repo:read", func(r *http.Request) string {
		return r.PathValue("owner") + "/" + r.PathValue("name")
	})(echo))
	h := middleware.New(middleware.Options{Issuer: s.URL, Audience: "inventory"})(mux)

	raw := exchangeAt(t, s, pat.Secret, "audience", "inventory")
	a := call(t, h, "GET", "/repos/acme/web", "Bearer "+raw)
	if a.status != 200 {
		t.Fatalf("exchanged JWT: %+v", a)
	}
	var p middleware.Principal
	_ = json.Unmarshal([]byte(a.body), &p)
	if p.Username != servertest.AdminUser || p.TokenID != pat.ID() || p.Kind != "pat" || strings.Join(p.Scopes, " ") != "repo=acme/*" ||
		!p.Exchanged || time.Until(p.ExpiresAt) > 15*time.Minute || contains(a.body, raw) || a.rawLen != strconv.Itoa(len(raw)) {
		t.Fatalf("principal = %+v", p)
	}
	if a := call(t, h, "GET", "/repos/other/web", "Bearer "+raw); a.status != 403 {
		t.Fatalf("other repository: %+v", a)
	}
	if a := call(t, h, "GET", "/repos/acme/web", "Bearer "+exchangeAt(t, s, pat.Secret, "audience", "billing")); a.status != 401 {
		t.Fatalf("JWT for another audience: %+v", a)
	}
	if a := call(t, h, "GET", "/repos/acme/web", "Bearer "+pat.Secret); a.status != 401 || !contains(a.body, "latchkey tokens exchange --audience inventory") {
		t.Fatalf("raw PAT without introspection: %+v", a)
	}
}

// countingTransport counts requests to the introspection endpoint.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/introspect") {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestMiddlewareAcceptsPATsThroughIntrospectionWithAShortCache(t *testing.T) {
	s := servertest.Start(t, "--signing-key-secret", "middleware-test-secret-0123456789")
	admin := s.AdminSession(t)
	watcher := s.CreateToken(t, admin, map[string]any{"name": "watcher", "scopes": []string{"introspect"}})
	pat := s.CreateToken(t, admin, map[string]any{"name": "script", "scopes": []string{"repo:read"}})
	tr := &countingTransport{}
	c := &clock{t: time.Now()}
	h := middleware.New(middleware.Options{
		Issuer: s.URL, Audience: "inventory", IntrospectionURL: s.URL + "/oauth2/introspect",
		IntrospectionToken: watcher.Secret, CacheTTL: 10 * time.Second, HTTPClient: &http.Client{Transport: tr}, Now: c.now,
	})(middleware.RequireScope("repo:read")(echo))

	for range 3 {
		a := call(t, h, "GET", "/", "Bearer "+pat.Secret)
		if a.status != 200 || !contains(a.body, `"token_id":"`+pat.ID()+`"`) {
			t.Fatalf("PAT: %+v", a)
		}
	}
	if n := tr.n.Load(); n != 1 {
		t.Fatalf("%d introspection calls for 3 requests, want 1 (cached)", n)
	}
	s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+pat.ID(), admin, nil, http.StatusNoContent, nil)
	if a := call(t, h, "GET", "/", "Bearer "+pat.Secret); a.status != 200 {
		t.Fatalf("within the cache TTL a revoked token is still served from cache: %+v", a)
	}
	c.advance(11 * time.Second)
	if a := call(t, h, "GET", "/", "Bearer "+pat.Secret); a.status != 401 || !contains(a.challenge, "invalid_token") {
		t.Fatalf("revoked PAT after the cache TTL: %+v", a)
	}
	// Sessions are not service credentials, even though introspection knows them.
	if a := call(t, h, "GET", "/", "Bearer "+admin); a.status != 401 {
		t.Fatalf("session token: %+v", a)
	}
	// Exchanged JWTs still go the offline way.
	other := s.CreateToken(t, admin, map[string]any{"name": "other", "scopes": []string{"repo"}})
	before := tr.n.Load()
	if a := call(t, h, "GET", "/", "Bearer "+exchangeAt(t, s, other.Secret, "audience", "inventory")); a.status != 200 || tr.n.Load() != before {
		t.Fatalf("JWT with introspection configured: %+v (introspection calls %d → %d)", a, before, tr.n.Load())
	}
}

func TestMiddlewareSays503WhenIntrospectionRefusesItsOwnCredential(t *testing.T) {
	s := servertest.Start(t, "--signing-key-secret", "middleware-test-secret-0123456789")
	admin := s.AdminSession(t)
	noScope := s.CreateToken(t, admin, map[string]any{"name": "weak", "scopes": []string{"repo"}})
	h := middleware.New(middleware.Options{Issuer: s.URL, IntrospectionURL: s.URL + "/oauth2/introspect",
		IntrospectionToken: noScope.Secret})(echo)
	if a := call(t, h, "GET", "/", "Bearer "+noScope.Secret); a.status != 503 {
		t.Fatalf("%+v", a)
	}
}
