package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestOpenAPIDocumentNamesEveryEndpointTheServerAnswers(t *testing.T) {
	s := servertest.Start(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/openapi.json", "", nil, http.StatusOK, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	for path, methods := range map[string][]string{
		"/api/v1/auth/login": {"post"}, "/api/v1/auth/logout": {"post"}, "/api/v1/me": {"get"},
		"/api/v1/tokens": {"get", "post"}, "/api/v1/tokens/{id}": {"get", "patch", "delete"},
		"/api/v1/tokens/{id}/regenerate": {"post"}, "/api/v1/users": {"get", "post"},
		"/api/v1/users/{id}": {"get", "patch", "delete"}, "/api/v1/policy": {"get", "put"},
		"/api/v1/scopes": {"get"}, "/api/v1/audit": {"get"}, "/api/v1/audit/export": {"get"}, "/api/v1/leaks": {"post"},
		"/oauth2/introspect": {"post"}, "/oauth2/token": {"post"}, "/oauth2/revoke": {"post"}, "/auth/verify": {"get"},
		"/.well-known/jwks.json": {"get"}, "/.well-known/oauth-authorization-server": {"get"},
		"/healthz": {"get"}, "/readyz": {"get"}, "/metrics": {"get"},
	} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("OpenAPI document lacks %s %s", m, path)
			}
		}
	}
	// Documented and served: the OAuth endpoints still answer as themselves.
	if status, _, _ := s.Do(t, http.MethodPost, "/oauth2/introspect", "", nil); status != http.StatusUnauthorized {
		t.Errorf("POST /oauth2/introspect without a credential = %d, want 401", status)
	}
	var ok json.RawMessage
	s.JSON(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", nil, http.StatusOK, &ok)
}
