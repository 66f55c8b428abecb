package identity_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

// scimFrom sends a SCIM GET /Users with bearer as the client at ip behind
// the trusted proxy (the test, on loopback, plays the proxy).
func scimFrom(t *testing.T, s *servertest.Server, ip, path, bearer string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestSCIMAnswersAnAddressOutOfFailedAttempts429: once an address has used
// up its budget of failed authentications, a SCIM token from it is not
// judged, so the answer is 429 with Retry-After in SCIM's error shape (a
// 401 would tell the identity provider its token is bad, and some stop
// provisioning on it), and nothing is logged as an error.
func TestSCIMAnswersAnAddressOutOfFailedAttempts429(t *testing.T) {
	s, log := servertest.StartLogged(t, "--trusted-proxies=127.0.0.1/32")
	admin := s.AdminSession(t)
	robot := s.CreateUser(t, admin, "scim-robot", "", "admin", "service")
	// Tokens never used yet: a token whose verification is cached still
	// works from a blocked address, and so would one that got through while
	// the budget refilled on a loaded machine (then the next one is tried).
	var goods []string
	for i := range 5 {
		goods = append(goods, s.CreateToken(t, admin, map[string]any{"name": "idp-" + strconv.Itoa(i), "user_id": robot, "scopes": []string{"scim"}, "no_expiry": true}).Secret)
	}
	const attacker = "203.0.113.44"
	blocked := func() bool {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+unknownSCIMToken(t))
		req.Header.Set("X-Forwarded-For", attacker)
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusTooManyRequests
	}
	for n, good := range goods {
		// Fail from the address until the API says it is blocked.
		for i := 0; ; i++ {
			if i == 200 {
				t.Fatalf("200 failed SCIM authentications from %s, and the address is not blocked", attacker)
			}
			if code, _, body := scimFrom(t, s, attacker, "/scim/v2/Users", unknownSCIMToken(t)); code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
				t.Fatalf("an unknown token: %d, want 401 or 429: %s", code, body)
			}
			if blocked() {
				break
			}
		}
		code, h, body := scimFrom(t, s, attacker, "/scim/v2/Users", good)
		if code == http.StatusOK {
			t.Logf("token %d got through: the budget refilled meanwhile; trying the next", n)
			continue
		}
		if code != http.StatusTooManyRequests {
			t.Fatalf("a valid SCIM token from a blocked address: %d, want 429: %s", code, body)
		}
		if ct := h.Get("Content-Type"); ct != "application/scim+json" {
			t.Errorf("Content-Type %q, want application/scim+json", ct)
		}
		retry, err := strconv.Atoi(h.Get("Retry-After"))
		if err != nil || retry < 1 {
			t.Errorf("Retry-After %q, want whole seconds", h.Get("Retry-After"))
		}
		var e struct {
			Schemas []string `json:"schemas"`
			Status  string   `json:"status"`
			Detail  string   `json:"detail"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("429 body is not JSON: %s", body)
		}
		if len(e.Schemas) != 1 || e.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || e.Status != "429" ||
			!strings.Contains(e.Detail, "too many failed") || !strings.Contains(e.Detail, "address") ||
			!strings.Contains(e.Detail, h.Get("Retry-After")+" second") {
			t.Errorf("429 body: %s, want a SCIM error saying too many failed attempts from the address and when to try again", body)
		}
		if strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("WWW-Authenticate %q: the token was not judged", h.Get("WWW-Authenticate"))
		}
		// A bad token from the blocked address is answered alike.
		if code, h, body := scimFrom(t, s, attacker, "/scim/v2/Groups", unknownSCIMToken(t)); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Errorf("an unknown token from a blocked address: %d Retry-After %q, want 429: %s", code, h.Get("Retry-After"), body)
		}
		// The same token from another address works.
		if code, _, body := scimFrom(t, s, "198.51.100.44", "/scim/v2/Users", good); code != http.StatusOK {
			t.Errorf("the token from another address: %d, want 200: %s", code, body)
		}
		if strings.Contains(log.String(), "level=ERROR") {
			t.Errorf("a rate-limited SCIM request was logged as an error:\n%s", log.String())
		}
		return
	}
	t.Fatalf("each of %d valid SCIM tokens got through from a blocked address", len(goods))
}

func unknownSCIMToken(t *testing.T) string {
	t.Helper()
	raw, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
