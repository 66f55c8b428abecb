package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/middleware"
)

// TestIntrospectionNeverResendsATokenToAnotherServer: an introspection
// endpoint that answers 307 (a misconfigured proxy in front of it, or one
// that is not Latchkey at all) must not make the middleware POST the
// caller's raw token, or its own introspect credential, to the host the
// redirect names. Go's client resends a 307's body to any host.
func TestIntrospectionNeverResendsATokenToAnotherServer(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "token=") || r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"active":true,"sub":"u1","username":"mallory","scope":"*","kind":"pat"}`)
	}))
	defer other.Close()
	latchkey := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer latchkey.Close()

	tok, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	h := middleware.New(middleware.Options{Issuer: latchkey.URL, IntrospectionURL: latchkey.URL + "/oauth2/introspect",
		IntrospectionToken: watcher})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/things", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if n := leaked.Load(); n != 0 {
		t.Errorf("the token was sent to %s, the host the redirect named (%d requests)", other.URL, n)
	}
	if rec.Code == http.StatusNoContent {
		t.Errorf("the request was let in on the other server's answer: %d", rec.Code)
	}
}

// TestMiddlewareAcceptsAFederatedTokenThroughIntrospection: a CI job's
// lk_fed_ token (workload identity federation) is usable everywhere a token
// is; a service behind the middleware must take it as it takes a PAT, and
// still refuse a login session.
func TestMiddlewareAcceptsAFederatedTokenThroughIntrospection(t *testing.T) {
	s := servertest.Start(t, "--signing-key-secret", "middleware-test-secret-0123456789")
	is := oidctest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "deployer", "", "admin", "service")
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, map[string]any{
		"name": "web-deploy", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/web"},
		"service_account": "deployer", "scopes": []string{"repo"}, "max_lifetime": "10m",
	}, http.StatusCreated, nil)
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey"))},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"},
	}
	resp, err := s.Client.Post(s.URL+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if !strings.HasPrefix(out.AccessToken, "lk_fed_") {
		t.Fatalf("exchange: %d, no lk_fed_ token", resp.StatusCode)
	}
	watcher := s.CreateToken(t, admin, map[string]any{"name": "watcher", "scopes": []string{"introspect"}})
	h := middleware.New(middleware.Options{Issuer: s.URL, IntrospectionURL: s.URL + "/oauth2/introspect",
		IntrospectionToken: watcher.Secret})(middleware.RequireScope("repo:read")(echo))
	if a := call(t, h, "GET", "/", "Bearer "+out.AccessToken); a.status != 200 || !contains(a.body, "deployer") {
		t.Fatalf("the federated token was refused: %+v", a)
	}
	if a := call(t, h, "GET", "/", "Bearer "+admin); a.status != 401 {
		t.Fatalf("a login session was accepted: %+v", a)
	}
}
