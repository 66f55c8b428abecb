package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

// from sends a request as the client at ip behind the trusted proxy (the
// test, on loopback, plays the proxy).
func from(t *testing.T, s *servertest.Server, ip, method, path string, h http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func unknownToken(t *testing.T) string {
	t.Helper()
	raw, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestFailedAuthenticationIsLimitedOnEverySurface floods each surface with
// checksum-valid unknown tokens from one client address and checks the
// answer becomes 429 with Retry-After in the surface's error shape, while a
// valid credential from another address keeps working.
func TestFailedAuthenticationIsLimitedOnEverySurface(t *testing.T) {
	s := servertest.Start(t, "--trusted-proxies=127.0.0.1/32", "--signing-key-secret", "edge-test-secret-0123456789abcdef")
	admin := s.AdminSession(t)
	good := s.CreateToken(t, admin, map[string]any{"name": "good", "scopes": []string{"introspect", "repo", "tokens"}})
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	exchangeBody := func(subject string) string {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}.Encode()
	}
	surfaces := []struct {
		name        string
		contentType string // of the 429
		try         func(ip, secret string) (*http.Response, string)
	}{
		{"API", "application/problem+json", func(ip, secret string) (*http.Response, string) {
			return from(t, s, ip, "GET", "/api/v1/me", http.Header{"Authorization": {"Bearer " + secret}}, "")
		}},
		{"forward-auth", "text/plain", func(ip, secret string) (*http.Response, string) {
			return from(t, s, ip, "GET", "/auth/verify/acme/web.git/info/refs?service=git-upload-pack", http.Header{"Authorization": {"Bearer " + secret}}, "")
		}},
		{"introspection caller", "application/json", func(ip, secret string) (*http.Response, string) {
			h := form.Clone()
			h.Set("Authorization", "Bearer "+secret)
			return from(t, s, ip, "POST", "/oauth2/introspect", h, "token="+good.Secret)
		}},
		{"token exchange", "application/json", func(ip, secret string) (*http.Response, string) {
			return from(t, s, ip, "POST", "/oauth2/token", form, exchangeBody(secret))
		}},
		{"console", "text/html", func(ip, secret string) (*http.Response, string) {
			return from(t, s, ip, "GET", "/tokens", http.Header{"Cookie": {"latchkey_session=" + secret}}, "")
		}},
	}
	for i, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			attacker := "203.0.113." + string(rune('1'+i))
			var resp *http.Response
			var body string
			for range 25 {
				resp, body = sf.try(attacker, unknownToken(t))
			}
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), sf.contentType) ||
				!strings.Contains(body, "too many failed") {
				t.Fatalf("after 25 failures: %d %q Retry-After %q: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), body)
			}
			if sf.name == "console" {
				return // the console takes session cookies, checked below
			}
			if resp, body := sf.try("198.51.100.7", good.Secret); resp.StatusCode != 200 {
				t.Errorf("a valid token from another address: %d %.300s", resp.StatusCode, body)
			}
		})
	}
	t.Run("leak reports full of non-secrets", func(t *testing.T) {
		var resp *http.Response
		var body string
		for range 25 {
			b, _ := json.Marshal([]map[string]string{{"token": unknownToken(t), "type": "latchkey"}})
			resp, body = from(t, s, "203.0.113.99", "POST", "/api/v1/leaks", http.Header{"Content-Type": {"application/json"}}, string(b))
		}
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("after 25 empty leak reports: %d %.200s", resp.StatusCode, body)
		}
	})
	t.Run("a stranger's failed logins do not lock the owner out", func(t *testing.T) {
		login := func(ip, password string) int {
			b, _ := json.Marshal(map[string]string{"username": servertest.AdminUser, "password": password})
			resp, _ := from(t, s, ip, "POST", "/api/v1/auth/login", http.Header{"Content-Type": {"application/json"}}, string(b))
			return resp.StatusCode
		}
		// The budget refills with time, and a loaded machine may hash slowly,
		// so flood until refused rather than counting to exactly the budget.
		last := 0
		for i := 0; i < 200 && last != 429; i++ {
			last = login("203.0.113.200", "wrong-password")
		}
		if last != 429 {
			t.Errorf("200 failed logins from one address: last %d, want 429", last)
		}
		if st := login("198.51.100.8", servertest.AdminPassword); st != 200 {
			t.Errorf("the owner's correct login from another address: %d, want 200", st)
		}
	})
}

// TestAuditLogRecordsTheClientAddressOnlyFromTrustedProxies logs in with a
// forged X-Forwarded-For directly (ignored) and through the trusted proxy.
func TestAuditLogRecordsTheClientAddressOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name, trusted, want string
	}{
		{"behind a trusted proxy", "127.0.0.1/32", "198.51.100.7"},
		{"sent by the client itself", "10.0.0.0/8", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := servertest.Start(t, "--trusted-proxies="+tc.trusted)
			b, _ := json.Marshal(map[string]string{"username": "nobody", "password": "wrong-password"})
			from(t, s, "198.51.100.7", "POST", "/api/v1/auth/login", http.Header{"Content-Type": {"application/json"}}, string(b))
			var page struct {
				Items []struct {
					Action string `json:"action"`
					IP     string `json:"ip"`
				} `json:"items"`
			}
			s.JSON(t, http.MethodGet, "/api/v1/audit", s.AdminSession(t), nil, http.StatusOK, &page)
			found := false
			for _, e := range page.Items {
				if e.Action == "auth.login_failed" {
					found = true
					if e.IP != tc.want {
						t.Errorf("audit IP %q, want %q", e.IP, tc.want)
					}
				}
			}
			if !found {
				t.Fatalf("no auth.login_failed event: %+v", page.Items)
			}
		})
	}
}
