package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestUndecodableQueryStringIsRefusedNotIgnored(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	r := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens?cursor=%%%garbage", Auth: bearer(admin)})
	if r.Status != http.StatusBadRequest || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("GET /api/v1/tokens?cursor=%%%%%%garbage = %s (%s), want a 400 problem", r, r.Header.Get("Content-Type"))
	}
	var p problemBody
	if err := json.Unmarshal(r.Body, &p); err != nil || !strings.Contains(p.Detail, "query string") {
		t.Errorf("problem does not say the query string is at fault: %s", r.Body)
	}
	o := send(t, s, call{Method: http.MethodPost, Path: "/oauth2/token?x=%zz", Body: "grant_type=x", ContentType: "application/x-www-form-urlencoded"})
	var oe struct {
		Error string `json:"error"`
	}
	if o.Status != http.StatusBadRequest || json.Unmarshal(o.Body, &oe) != nil || oe.Error != "invalid_request" {
		t.Errorf("POST /oauth2/token?x=%%zz = %s, want 400 invalid_request", o)
	}
	// A well-formed query still works.
	if ok := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens?limit=5", Auth: bearer(admin)}); ok.Status != http.StatusOK {
		t.Errorf("GET /api/v1/tokens?limit=5 = %s", ok)
	}
}

func TestMeDocumentsNullForTheCredentialNotUsed(t *testing.T) {
	s := servertest.Start(t)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					OneOf []map[string]any `json:"oneOf"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/openapi.json", "", nil, http.StatusOK, &doc)
	for _, prop := range []string{"token", "session"} {
		one := doc.Components.Schemas["MeOutputBody"].Properties[prop].OneOf
		if len(one) != 2 || one[1]["type"] != "null" {
			t.Errorf("MeOutputBody.%s = oneOf %v, want [object, {type: null}]", prop, one)
		}
	}
	// And the live answers (a session: token null; a PAT: session null)
	// match it: servertest's client validates every answer.
	admin := s.AdminSession(t)
	s.JSON(t, http.MethodGet, "/api/v1/me", admin, nil, http.StatusOK, nil)
	tk := s.CreateToken(t, admin, map[string]any{"name": "me-probe", "scopes": []string{"tokens"}})
	s.JSON(t, http.MethodGet, "/api/v1/me", tk.Secret, nil, http.StatusOK, nil)
}
