package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAJSONBodyNamingAFieldTwiceIsRefused: Go's decoder keeps the last of
// two equal keys, while many proxies, WAFs and policy checks in front of
// an API read the first. {"scopes":["repo:read"],"scopes":["*"]} would be
// read as a narrow token by the one and created as a super-admin token by
// the other, so a body naming a field twice is refused with 400 and which
// field it was.
func TestAJSONBodyNamingAFieldTwiceIsRefused(t *testing.T) {
	s := servertest.Start(t)
	owner := bearer(s.AdminSession(t))
	for _, tc := range []struct{ name, path, method, body, field string }{
		{"token scopes", "/api/v1/tokens", http.MethodPost, `{"name":"ci","scopes":["repo:read"],"scopes":["*"]}`, "scopes"},
		{"token name", "/api/v1/tokens", http.MethodPost, `{"name":"a","name":"b","scopes":["repo"]}`, "name"},
		{"nested key", "/api/v1/tokens", http.MethodPost, `{"name":"n","scopes":["repo"],"ip_allowlist":["10.0.0.0/8"],"ip_allowlist":[]}`, "ip_allowlist"},
		{"user role", "/api/v1/users", http.MethodPost, `{"username":"eve","password":"long-password-1","role":"member","role":"owner","kind":"person"}`, "role"},
		// Go matches a key to a field ignoring case (and folding K to the
		// Kelvin sign), so a second spelling of a key is the same field.
		{"token scopes in another case", "/api/v1/tokens", http.MethodPost, `{"name":"ci2","scopes":["repo:read"],"Scopes":["*"]}`, "Scopes"},
		{"token scopes with an escaped letter", "/api/v1/tokens", http.MethodPost, `{"name":"ci3","scopes":["repo:read"],"scope\u0073":["*"]}`, "scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, s, call{Method: tc.method, Path: tc.path, Auth: owner, Body: tc.body})
			p := wantProblem(t, r, http.StatusBadRequest)
			if !strings.Contains(p.text(), `"`+tc.field+`"`) || !strings.Contains(strings.ToLower(p.text()), "twice") {
				t.Errorf("the problem does not say which field was given twice: %s", p.text())
			}
		})
	}
	// One key per object is fine, and the same key in different objects too.
	r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: owner,
		Body: `{"name":"fine","scopes":["repo"],"description":"{\"name\":1,\"name\":2}"}`})
	if r.Status != http.StatusCreated {
		t.Fatalf("a body with every key once was refused: %s", r)
	}
}
