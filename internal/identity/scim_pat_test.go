package identity_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMTakesNoPersonalAccessToken: SCIM's bearer is an admin access
// token (a service account's) holding scim. An owner's own personal token
// holding * or scim is refused with 403 saying what to create instead.
func TestSCIMTakesNoPersonalAccessToken(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	for _, scopes := range [][]string{{"*"}, {"scim"}} {
		pat := s.CreateToken(t, owner, map[string]any{"name": "mine-" + scopes[0], "scopes": scopes}).Secret
		c := scimCall{t, s, pat}
		status, body, _ := c.do(http.MethodGet, "/Users", "")
		if status != http.StatusForbidden {
			t.Fatalf("a personal token holding %v: GET /Users answered %d, want 403", scopes, status)
		}
		if d, _ := body["detail"].(string); !strings.Contains(d, "admin access token") {
			t.Errorf("the refusal %q does not say an admin access token is needed", d)
		}
	}
	c := scimCall{t, s, scimToken(t, s, owner, "scim")}
	if status, _, _ := c.do(http.MethodGet, "/Users", ""); status != http.StatusOK {
		t.Errorf("a service account's admin access token holding scim: GET /Users answered %d, want 200", status)
	}
}
