package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// identityRules let any authenticated caller through, except /status,
// which is public.
const identityRules = `
routes:
  default: authenticated
  rules:
    - name: status-page
      path: /status
      public: true
`

// forgedIdentity is what a client might send to pass for someone else: every
// identity header, under its own and a CGI-style spelling.
var forgedIdentity = http.Header{
	"X-Latchkey-User": {"mallory"}, "X-Latchkey-User-Id": {"u_mallory"}, "X-Latchkey-Token-Id": {"t_mallory"},
	"X-Latchkey-Token-Kind": {"adm"}, "X-Latchkey-Scopes": {"*"}, "Latchkey-Token-Expiration": {"2099-01-01T00:00:00Z"},
	"X_latchkey_user": {"mallory"}, "X_latchkey_scopes": {"*"},
}

// verifyAnswer asks /auth/verify, nginx style, about GET uri with the
// extra request headers h.
func verifyAnswer(t *testing.T, s *servertest.Server, uri, secret string, h http.Header) *http.Response {
	t.Helper()
	req := http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {uri}}
	if secret != "" {
		req.Set("Authorization", bearer(secret))
	}
	for k, vs := range h {
		req[k] = vs
	}
	resp, body := send(t, http.MethodGet, s.URL+"/auth/verify", req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d (%q), want 200", uri, resp.StatusCode, body)
	}
	return resp
}

// checkHeaders fails unless the answer carries exactly the headers of want,
// each once with exactly its value, besides those net/http adds and the
// request id.
func checkHeaders(t *testing.T, resp *http.Response, want map[string]string) {
	t.Helper()
	for k, vs := range resp.Header {
		switch k {
		case "Date", "Content-Length":
			continue
		case "X-Request-Id":
			if len(vs) != 1 || vs[0] == "" {
				t.Errorf("X-Request-Id = %q, want one id", vs)
			}
			continue
		}
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("unexpected header %s: %q", k, vs)
		case len(vs) != 1 || vs[0] != w:
			t.Errorf("%s = %q, want exactly %q", k, vs, w)
		}
	}
	for k, w := range want {
		if _, ok := resp.Header[k]; !ok {
			t.Errorf("%s missing, want %q", k, w)
		}
	}
}

// expiryOf reads an RFC 3339 time of a token's JSON and formats it as the
// expiration header does.
func expiryOf(t *testing.T, tok servertest.CreatedToken, field string, plus time.Duration) string {
	t.Helper()
	s, _ := tok.Token[field].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("token %s %q: %v", field, s, err)
	}
	return at.Add(plus).UTC().Format(time.RFC3339)
}

func TestVerifyIdentityHeadersHaveExactValuesAndFollowChanges(t *testing.T) {
	s := servertest.Start(t, trustLoopback, "--allow-no-expiry", "--config", writeConfig(t, identityRules))
	f := newFixture(t, s)
	expiring := f.token(t, "ci", "repo:read=acme/*", "job")
	forever := s.CreateToken(t, f.alice, map[string]any{"name": "forever", "scopes": []string{"repo"}, "no_expiry": true})
	if forever.Token["expires_at"] != nil {
		t.Fatalf("forever token expires at %v, want never", forever.Token["expires_at"])
	}
	identity := func(tok servertest.CreatedToken, scopes string) map[string]string {
		return map[string]string{
			"Cache-Control":   "no-store",
			"X-Latchkey-User": "alice", "X-Latchkey-User-Id": f.aliceID, "X-Latchkey-Token-Id": tok.ID(),
			"X-Latchkey-Token-Kind": "pat", "X-Latchkey-Scopes": scopes,
		}
	}
	withExpiry := func(m map[string]string, exp string) map[string]string {
		m["Latchkey-Token-Expiration"] = exp
		return m
	}
	wantExpiring := withExpiry(identity(expiring, "job repo:read=acme/*"), expiryOf(t, expiring, "expires_at", 0))
	wantForever := identity(forever, "repo")

	t.Run("expiring token", func(t *testing.T) {
		for range 2 { // the second answer comes from the cache
			checkHeaders(t, verifyAnswer(t, s, "/v1/anything", expiring.Secret, nil), wantExpiring)
		}
	})
	t.Run("token without expiry", func(t *testing.T) {
		for range 2 {
			checkHeaders(t, verifyAnswer(t, s, "/v1/anything", forever.Secret, nil), wantForever)
		}
	})
	t.Run("forged identity headers never reach the answer", func(t *testing.T) {
		checkHeaders(t, verifyAnswer(t, s, "/v1/anything", expiring.Secret, forgedIdentity), wantExpiring)
		checkHeaders(t, verifyAnswer(t, s, "/v1/anything", forever.Secret, forgedIdentity), wantForever)
		// A public route answers with no identity at all.
		checkHeaders(t, verifyAnswer(t, s, "/status", "", forgedIdentity),
			map[string]string{"Cache-Control": "no-store"})
	})
	t.Run("scopes changed", func(t *testing.T) {
		s.JSON(t, http.MethodPatch, "/api/v1/tokens/"+expiring.ID(), f.alice,
			map[string]any{"scopes": []string{"job", "service=web"}}, http.StatusOK, nil)
		wantExpiring = withExpiry(identity(expiring, "job service=web"), wantExpiring["Latchkey-Token-Expiration"])
		checkHeaders(t, verifyAnswer(t, s, "/v1/anything", expiring.Secret, nil), wantExpiring)
	})
	t.Run("policy caps lifetimes", func(t *testing.T) {
		s.JSON(t, http.MethodPut, "/api/v1/policy", f.admin, map[string]any{"max_lifetime": "48h"}, http.StatusOK, nil)
		checkHeaders(t, verifyAnswer(t, s, "/v1/anything", expiring.Secret, nil),
			withExpiry(wantExpiring, expiryOf(t, expiring, "created_at", 48*time.Hour)))
		checkHeaders(t, verifyAnswer(t, s, "/v1/anything", forever.Secret, nil),
			withExpiry(wantForever, expiryOf(t, forever, "created_at", 48*time.Hour)))
	})
}

func TestVerifyIdentityHeadersFollowTheOwnersRole(t *testing.T) {
	s := servertest.Start(t, trustLoopback, "--config", writeConfig(t, identityRules))
	admin := s.AdminSession(t)
	carolID := s.CreateUser(t, admin, "carol", "carol-password-42", "admin", "person")
	carol := s.Login(t, "carol", "carol-password-42")
	tok := s.CreateToken(t, carol, map[string]any{"name": "ops", "scopes": []string{"admin:org", "repo:read"}, "expires_in": "720h"})
	kind, _ := tok.Token["kind"].(string)
	want := func(scopes string) map[string]string {
		return map[string]string{
			"Cache-Control":   "no-store",
			"X-Latchkey-User": "carol", "X-Latchkey-User-Id": carolID, "X-Latchkey-Token-Id": tok.ID(),
			"X-Latchkey-Token-Kind": kind, "X-Latchkey-Scopes": scopes,
			"Latchkey-Token-Expiration": expiryOf(t, tok, "expires_at", 0),
		}
	}
	checkHeaders(t, verifyAnswer(t, s, "/v1/anything", tok.Secret, forgedIdentity), want("admin:org repo:read"))
	s.JSON(t, http.MethodPatch, "/api/v1/users/"+carolID, admin, map[string]any{"role": "member"}, http.StatusOK, nil)
	checkHeaders(t, verifyAnswer(t, s, "/v1/anything", tok.Secret, forgedIdentity), want("repo:read"))
}

// TestVerifyAnswersWithABodyForbidSniffing checks X-Content-Type-Options on
// every forward-auth answer that has a body: Traefik passes a denial's body
// and headers on to the client. The 200 has no body and no such header.
func TestVerifyAnswersWithABodyForbidSniffing(t *testing.T) {
	s := servertest.Start(t, trustLoopback, "--config", writeConfig(t, identityRules))
	f := newFixture(t, s)
	tok := f.token(t, "ci", "repo:read=acme/*")
	ask := func(secret, uri string, extra http.Header) (*http.Response, string) {
		h := http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {uri}}
		if secret != "" {
			h.Set("Authorization", bearer(secret))
		}
		for k, vs := range extra {
			h[k] = vs
		}
		return send(t, http.MethodGet, s.URL+"/auth/verify", h)
	}
	json := http.Header{"Accept": {"application/json"}}
	for _, c := range []struct {
		name   string
		secret string
		uri    string
		accept http.Header
		status int
	}{
		{"no credential", "", "/v1/anything", nil, http.StatusUnauthorized},
		{"unknown token", "lk_pat_unknown", "/v1/anything", json, http.StatusUnauthorized},
		{"path no rule allows", tok.Secret, "/v1/%zz", nil, http.StatusForbidden},
		{"original method disagrees", tok.Secret, "/v1/anything", http.Header{"X-Original-Method": {"POST"}, "X-Forwarded-Method": {"GET"}}, http.StatusBadRequest},
		{"allowed", tok.Secret, "/v1/anything", nil, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := ask(c.secret, c.uri, c.accept)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, c.status)
			}
			got := resp.Header.Values("X-Content-Type-Options")
			switch {
			case body != "" && (len(got) != 1 || got[0] != "nosniff"):
				t.Errorf("answer with body %q: X-Content-Type-Options = %q, want nosniff", body, got)
			case body == "" && c.status != http.StatusOK:
				t.Errorf("denial %d has no body", c.status)
			case c.status == http.StatusOK && (body != "" || len(got) != 0):
				t.Errorf("200: body %q, X-Content-Type-Options %q; want neither", body, got)
			}
		})
	}
}
