package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// A proxy or WAF in front of Latchkey that reads the last of a repeated
// query parameter must not see another request than the one Latchkey acts
// on (HTTP parameter pollution): a repeated single-valued parameter is
// refused, naming it, never answered for its first value.
func TestRepeatedQueryParameterIsRefusedNotAnsweredForTheFirst(t *testing.T) {
	s := servertest.Start(t)
	w := newWorld(t, s)
	own := createToken(t, s, w.Admin, map[string]any{"name": "ada-ci", "scopes": []string{"repo"}})
	createToken(t, s, w.Member, map[string]any{"name": "mia-ci", "scopes": []string{"repo"}})
	for _, c := range []struct {
		auth, path, param string
	}{
		// What the WAF reads (the last) is the admin's own tokens; the
		// first asks for another user's.
		{w.Admin, "/api/v1/tokens?user_id=" + w.MemberID + "&user_id=" + own.Token.UserID, "user_id"},
		{w.Owner, "/api/v1/audit?action=user.&action=token.create", "action"},
		{w.Owner, "/api/v1/tokens?all=true&state=revoked&state=active", "state"},
		{w.Owner, "/api/v1/sessions?user_id=" + w.MemberID + "&user_id=" + w.AdminID, "user_id"},
		{w.Owner, "/api/v1/users?limit=1&limit=500", "limit"},
	} {
		r := send(t, s, call{Method: http.MethodGet, Path: c.path, Auth: c.auth})
		if r.Status != http.StatusBadRequest {
			t.Errorf("GET %s = %s, want 400 naming %s", c.path, r, c.param)
			continue
		}
		p := wantProblem(t, r, http.StatusBadRequest)
		if want := "query parameter " + c.param + " was given 2 times; give it once"; !strings.Contains(p.Detail, want) {
			t.Errorf("GET %s: detail %q, want it to say %q", c.path, p.Detail, want)
		}
	}
	// Given once, each still works.
	for _, path := range []string{"/api/v1/tokens?user_id=" + w.MemberID, "/api/v1/audit?action=user.", "/api/v1/users?limit=1"} {
		if r := send(t, s, call{Method: http.MethodGet, Path: path, Auth: w.Owner}); r.Status != http.StatusOK {
			t.Errorf("GET %s = %s, want 200", path, r)
		}
	}
}

// TestEveryGETOperationRefusesEveryRepeatedQueryParameter walks the
// OpenAPI document: every query parameter of every GET operation under
// /api/v1, given twice, is refused with a 400 naming it; an array-valued
// one (none today) is the exception the rule keeps.
func TestEveryGETOperationRefusesEveryRepeatedQueryParameter(t *testing.T) {
	s := servertest.Start(t)
	owner := bearer(s.AdminSession(t))
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				In     string `json:"in"`
				Schema struct {
					Type   string   `json:"type"`
					Format string   `json:"format"`
					Enum   []string `json:"enum"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/openapi.json", "", nil, http.StatusOK, &doc)
	checked := 0
	for path, ops := range doc.Paths {
		get, ok := ops["get"]
		if !ok || !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		concrete := path
		for _, p := range get.Parameters {
			if p.In == "path" {
				concrete = strings.ReplaceAll(concrete, "{"+p.Name+"}", "x")
			}
		}
		for _, p := range get.Parameters {
			if p.In != "query" {
				continue
			}
			a, b := "a", "b" // two values of the parameter's type
			switch {
			case p.Schema.Type == "integer":
				a, b = "1", "2"
			case p.Schema.Type == "boolean":
				a, b = "true", "false"
			case p.Schema.Format == "date-time":
				a, b = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"
			case len(p.Schema.Enum) > 1:
				a, b = p.Schema.Enum[0], p.Schema.Enum[1]
			}
			target := concrete + "?" + url.Values{p.Name: {a, b}}.Encode()
			r := send(t, s, call{Method: http.MethodGet, Path: target, Auth: owner})
			if p.Schema.Type == "array" {
				if r.Status == http.StatusBadRequest {
					t.Errorf("GET %s: the array parameter %s is refused when repeated: %s", target, p.Name, r)
				}
				continue
			}
			checked++
			want := fmt.Sprintf("query parameter %s was given 2 times; give it once", p.Name)
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), want) {
				t.Errorf("GET %s = %s, want 400 saying %q", target, r, want)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d query parameters found in the OpenAPI document; the walk is not reading it", checked)
	}
}
