package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestDeviceAuthorizationRefusesRepeatedParameters: RFC 6749 §3.1 says a
// parameter is sent once. A scope hidden behind an empty first value
// ("scope=&scope=repo") must be refused, not silently dropped by reading
// only the first, and two client_ids are not one.
func TestDeviceAuthorizationRefusesRepeatedParameters(t *testing.T) {
	s := servertest.Start(t)
	for _, body := range []string{
		"client_id=latchkey-cli&scope=&scope=repo",
		"client_id=latchkey-cli&client_id=other",
	} {
		resp, err := s.Client.Post(s.URL+"/oauth2/device_authorization", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		decodeJSON(resp, &out)
		if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_request" || out["device_code"] != nil {
			t.Errorf("POST %s: %d %v; want 400 invalid_request", body, resp.StatusCode, out)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s: headers %v", body, resp.Header)
		}
	}
}

// Media types are compared without regard to case (RFC 9110 §8.3.1), and
// Go's ParseForm reads "Application/X-WWW-Form-Urlencoded" as a form: so
// must every /oauth2 endpoint, rather than answer that the body is not a
// form.
func TestOAuthEndpointsReadFormsWhateverTheMediaTypesCase(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	pat := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo", "introspect"}, "expires_in": "24h"})
	for _, ct := range []string{"Application/X-WWW-Form-Urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED; Charset=UTF-8"} {
		call := func(path, bearer string, form url.Values) map[string]any {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			resp, err := s.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]any
			decodeJSON(resp, &out)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s as %q: %d %v; want 200", path, ct, resp.StatusCode, out)
			}
			return out
		}
		if out := call("/oauth2/device_authorization", "", url.Values{"client_id": {"latchkey-cli"}}); out["device_code"] == nil {
			t.Errorf("device authorization as %q gave no device_code: %v", ct, out)
		}
		if out := call("/oauth2/token", "", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"subject_token": {pat.Secret}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}); out["access_token"] == nil {
			t.Errorf("token exchange as %q gave no access_token: %v", ct, out)
		}
		if out := call("/oauth2/introspect", pat.Secret, url.Values{"token": {pat.Secret}}); out["active"] != true {
			t.Errorf("introspection as %q: %v; want active", ct, out)
		}
	}
}

// DELETE /api/v1/sessions/. was redirected (307, method kept) to DELETE
// /api/v1/sessions, which ends every other session: a client that follows
// redirects turned a mistyped id into a logout of every device.
func TestAPIPathsWithDotSegmentsAreRefusedNotRedirected(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	other := s.AdminSession(t)
	for _, path := range []string{"/api/v1/sessions/.", "/api/v1/sessions/..", "/api/v1/tokens/./x", "/api/v1/sessions/%2e"} {
		req, err := http.NewRequest(http.MethodDelete, s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = path // as sent, not cleaned by the client
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("DELETE %s: %d %s (Location %q); want 400 problem+json", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Location"))
		}
	}
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", other, nil); st != http.StatusOK {
		t.Errorf("the other session answers %d after the refused deletes; want 200", st)
	}
}
