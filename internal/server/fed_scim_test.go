package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAFedTokenCannotProvisionThroughSCIM: SCIM is how an identity
// provider creates, reactivates and deletes people with a lasting admin
// access token. A CI job's 10-minute fed token, even one whose trust policy
// grants scim, must not reactivate a suspended person or create accounts:
// each would outlive the run.
func TestAFedTokenCannotProvisionThroughSCIM(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "idp-bot", "", "admin", "service")
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, map[string]any{
		"name": "idp", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/idp"},
		"service_account": "idp-bot", "scopes": []string{"scim"}, "max_lifetime": "10m",
	}, http.StatusCreated, nil)
	_, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/idp", "refs/heads/main", "", "latchkey")), nil)
	fed, _ := out["access_token"].(string)
	if !strings.HasPrefix(fed, "lk_fed_") {
		t.Fatalf("exchange: %v", out)
	}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/scim/v2/Users", ""},
		{http.MethodPost, "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"mallory@corp.example","active":true}`},
	} {
		req, err := http.NewRequest(c.method, s.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+fed)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s with a fed token holding scim: %d; want 403", c.method, c.path, resp.StatusCode)
		}
	}
}
