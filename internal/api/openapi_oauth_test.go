package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestOpenAPIDocumentsRateLimitAnswers: a client generated from the
// document must know that login (POST /api/v1/auth/login) and the OAuth
// endpoints may answer 429 with Retry-After, and in which shape.
func TestOpenAPIDocumentsRateLimitAnswers(t *testing.T) {
	s := servertest.Start(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Description string                     `json:"description"`
				Headers     map[string]json.RawMessage `json:"headers"`
				Content     map[string]json.RawMessage `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/openapi.json", "", nil, http.StatusOK, &doc)
	for _, c := range []struct{ path, contentType string }{
		{"/api/v1/auth/login", "application/problem+json"},
		{"/oauth2/token", "application/json"},
		{"/oauth2/introspect", "application/json"},
		{"/oauth2/device_authorization", "application/json"},
	} {
		r, ok := doc.Paths[c.path]["post"].Responses["429"]
		if !ok {
			t.Errorf("POST %s: no 429 answer in the OpenAPI document", c.path)
			continue
		}
		if _, ok := r.Headers["Retry-After"]; !ok {
			t.Errorf("POST %s: the 429 answer lists no Retry-After header", c.path)
		}
		if _, ok := r.Content[c.contentType]; !ok {
			t.Errorf("POST %s: the 429 answer is not %s: %v", c.path, c.contentType, r.Content)
		}
		if strings.Contains(r.Description, "slow_down") {
			t.Errorf("POST %s: the 429 answer says slow_down, the device-polling error: %s", c.path, r.Description)
		}
	}
}
