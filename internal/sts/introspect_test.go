package sts_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/sts"
)

func TestIntrospectionOfExchangedJWTs(t *testing.T) {
	eachBackend(t, checkIntrospection)
}

func checkIntrospection(t *testing.T, s *servertest.Server) {
	admin := s.AdminSession(t)
	watcher := patFor(t, s, admin, "watcher", []string{"introspect"})

	t.Run("active with its claims", func(t *testing.T) {
		pat := patFor(t, s, admin, "active", []string{"repo=acme/*", "machine"})
		raw := exchange(t, s, pat.Secret, "scope", "repo:read=acme/*", "audience", "billing-api")["access_token"].(string)
		ans := introspect(t, s, watcher.Secret, raw)
		if ans["active"] != true || ans["scope"] != "repo:read=acme/*" || ans["token_id"] != pat.ID() ||
			ans["username"] != "admin" || ans["kind"] != "jwt" || ans["iss"] != s.URL || ans["jti"] == nil || ans["exp"] == nil {
			t.Fatalf("introspection = %v", ans)
		}
		// RFC 7662 §2.2: a JWT exchanged for billing-api says so, so other
		// services that introspect it can refuse it.
		if aud, _ := ans["aud"].([]any); len(aud) != 1 || aud[0] != "billing-api" || ans["client_id"] != pat.ID() {
			t.Fatalf("aud %v, client_id %v; want [billing-api] and the parent token", ans["aud"], ans["client_id"])
		}
	})
	t.Run("allowlisted tokens are reported with their allowlist", func(t *testing.T) {
		// The caller (127.0.0.1) is outside the allowlist: introspection
		// judges the token, not the calling service's address.
		pat := patFor(t, s, admin, "office", []string{"repo"}, "ip_allowlist", []string{"10.20.30.0/24"})
		ans := introspect(t, s, watcher.Secret, pat.Secret)
		if list, _ := ans["ip_allowlist"].([]any); ans["active"] != true || len(list) != 1 || list[0] != "10.20.30.0/24" {
			t.Fatalf("introspection of an allowlisted PAT = %v", ans)
		}
	})
	t.Run("parent revoked", func(t *testing.T) {
		pat := patFor(t, s, admin, "to-revoke", []string{"repo"})
		raw := exchange(t, s, pat.Secret)["access_token"].(string)
		if ans := introspect(t, s, watcher.Secret, raw); ans["active"] != true {
			t.Fatalf("before revocation: %v", ans)
		}
		s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+pat.ID(), admin, nil, http.StatusNoContent, nil)
		if ans := introspect(t, s, watcher.Secret, raw); ans["active"] != false || len(ans) != 1 {
			t.Fatalf("after the parent PAT was revoked: %v, want only active=false", ans)
		}
	})
	t.Run("parent regenerated", func(t *testing.T) {
		pat := patFor(t, s, admin, "to-regenerate", []string{"repo"})
		raw := exchange(t, s, pat.Secret)["access_token"].(string)
		time.Sleep(1100 * time.Millisecond) // JWT times have whole seconds
		s.JSON(t, http.MethodPost, "/api/v1/tokens/"+pat.ID()+"/regenerate", admin, map[string]any{}, http.StatusOK, nil)
		if ans := introspect(t, s, watcher.Secret, raw); ans["active"] != false {
			t.Fatalf("a JWT from a replaced secret: %v", ans)
		}
	})
	t.Run("owner suspended", func(t *testing.T) {
		id := s.CreateUser(t, admin, "suspendee", "suspendee-pass-1", "member", "person")
		pat := patFor(t, s, s.Login(t, "suspendee", "suspendee-pass-1"), "theirs", []string{"repo"})
		raw := exchange(t, s, pat.Secret)["access_token"].(string)
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+id, admin, map[string]any{"suspended": true}, http.StatusOK, nil)
		if ans := introspect(t, s, watcher.Secret, raw); ans["active"] != false {
			t.Fatalf("owner suspended: %v", ans)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		pat := patFor(t, s, admin, "tamper", []string{"repo:read"})
		raw := exchange(t, s, pat.Secret)["access_token"].(string)
		if ans := introspect(t, s, watcher.Secret, tamper(t, raw, "scope", "*")); ans["active"] != false {
			t.Fatalf("tampered JWT: %v", ans)
		}
	})
	t.Run("another issuer's JWT", func(t *testing.T) {
		other := start(t)
		pat := patFor(t, other, other.AdminSession(t), "elsewhere", []string{"repo"})
		raw := exchange(t, other, pat.Secret)["access_token"].(string)
		if ans := introspect(t, s, watcher.Secret, raw); ans["active"] != false {
			t.Fatalf("foreign JWT: %v", ans)
		}
	})
	t.Run("PATs still introspect as before", func(t *testing.T) {
		if ans := introspect(t, s, watcher.Secret, watcher.Secret); ans["active"] != true || ans["kind"] != "pat" {
			t.Fatalf("PAT: %v", ans)
		}
	})
}

func TestIntrospectionOfAnExpiredJWTIsInactive(t *testing.T) {
	s := start(t, "--jwt-lifetime", "1s")
	admin := s.AdminSession(t)
	watcher := patFor(t, s, admin, "watcher", []string{"introspect"})
	pat := patFor(t, s, admin, "brief", []string{"repo"})
	out := exchange(t, s, pat.Secret)
	if out["expires_in"].(float64) > 1 {
		t.Fatalf("expires_in %v with --jwt-lifetime 1s", out["expires_in"])
	}
	raw := out["access_token"].(string)
	time.Sleep(2 * time.Second)
	if ans := introspect(t, s, watcher.Secret, raw); ans["active"] != false {
		t.Fatalf("expired JWT: %v", ans)
	}
	if _, _, err := verifyIndependently(raw, fetchJWKS(t, s), s.URL, s.URL); err == nil {
		t.Fatal("golang-jwt accepted an expired JWT")
	}
}

// tamper rewrites one claim of a JWT, keeping its signature.
func tamper(t *testing.T, raw, claim string, value any) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims[claim] = value
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestMetadataNamesTheEndpoints(t *testing.T) {
	s := start(t)
	var m sts.Metadata
	s.JSON(t, http.MethodGet, sts.MetadataPath, "", nil, http.StatusOK, &m)
	if m.Issuer != s.URL || m.TokenEndpoint != s.URL+"/oauth2/token" || m.JWKSURI != s.URL+"/.well-known/jwks.json" ||
		m.IntrospectionEndpoint != s.URL+"/oauth2/introspect" || !slices.Contains(m.GrantTypesSupported, sts.GrantTokenExchange) {
		t.Fatalf("metadata = %+v", m)
	}
	if !slices.Equal(m.ScopeImplies["repo"], []string{"repo:read"}) || !slices.Contains(m.ScopesSupported, "repo:read") {
		t.Fatalf("scopes in metadata: %v %v", m.ScopesSupported, m.ScopeImplies)
	}
	// The JWKS it names is reachable without credentials and holds one key.
	status, body, h := s.Do(t, http.MethodGet, sts.JWKSPath, "", nil)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || len(fetchJWKS(t, s)) != 1 {
		t.Fatalf("JWKS: %d %s", status, body)
	}
}

func TestWithoutASecretExchangeIsDisabledAndSaysHow(t *testing.T) {
	mux := http.NewServeMux()
	(&sts.Disabled{Reason: sts.ErrNoSecret.Error(), Issuer: func() string { return "http://latchkey.test" }, Catalog: scope.DefaultCatalog()}).Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+sts.TokenPath, "application/x-www-form-urlencoded", strings.NewReader("grant_type=x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(out["error_description"], "LATCHKEY_SIGNING_KEY_SECRET") {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
}
