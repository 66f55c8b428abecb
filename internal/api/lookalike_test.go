package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestTokenNamesThatLookAlikeAreOneName: "café" typed with a combining
// accent (e + U+0301) and with the precomposed é are the same name to
// anyone reading the token list; the second is refused as a duplicate
// instead of standing beside the first, and the name is stored in its
// composed (NFC) form whichever way it was typed.
func TestTokenNamesThatLookAlikeAreOneName(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		first := s.CreateToken(t, admin, map[string]any{"name": "cafe\u0301", "scopes": []string{"repo:read"}, "expires_in": "1d"})
		if got, _ := first.Token["name"].(string); got != "caf\u00e9" {
			t.Errorf("the name typed with a combining accent is stored as %q, want the composed %q", got, "caf\u00e9")
		}
		r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: bearer(admin),
			Body: map[string]any{"name": "caf\u00e9", "scopes": []string{"repo:read"}, "expires_in": "1d"}})
		if r.Status != http.StatusConflict {
			t.Errorf("a second token named café (precomposed) beside café (combining): %s; want 409", r)
		}
	})
}

// TestTokenNamesCannotHoldLineSeparators: U+2028 and U+2029 end a line in
// JavaScript, many editors and some mail clients; a name holding one could
// forge a second line ("Bcc: …", "State: revoked") wherever it is shown.
func TestTokenNamesCannotHoldLineSeparators(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	for _, sep := range []string{"\u2028", "\u2029"} {
		r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: bearer(admin),
			Body: map[string]any{"name": "deploy" + sep + "Bcc: a@example.org", "scopes": []string{"repo:read"}, "expires_in": "1d"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "line") {
			t.Errorf("a name holding U+%04X: %s; want 422 saying names are one line", []rune(sep)[0], r)
		}
	}
}

// TestTwoAuthorizationHeadersAreRefused: a request carrying two
// Authorization headers is ambiguous (which one is the caller?). Latchkey
// read the first, while an upstream behind forward-auth or a framework may
// read the other: a session of one person and a token of another in one
// request. It is refused, never judged on one of them.
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	pat := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo:read"}, "expires_in": "1d"})
	for _, path := range []string{"/api/v1/me", "/auth/verify/acme/web.git/info/refs?service=git-upload-pack"} {
		req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Add("Authorization", "Bearer "+pat.Secret)
		req.Header.Add("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with two Authorization headers: %d; want 401", path, resp.StatusCode)
		}
		one := send(t, s, call{Method: http.MethodGet, Path: path, Auth: bearer(pat.Secret)})
		if one.Status != http.StatusOK {
			t.Errorf("GET %s with one Authorization header: %s; want 200", path, one)
		}
	}
}
