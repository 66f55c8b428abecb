package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
)

// TestGitCloneThroughNginxWithAFederatedToken: a CI job's OIDC token
// becomes a fed token that git uses as its password through nginx's
// auth_request, limited to the repositories its policy grants.
func TestGitCloneThroughNginxWithAFederatedToken(t *testing.T) {
	backend := gitHTTPBackendPath(t)
	sock := startFcgiwrap(t)
	g := newGitClient(t)
	root := t.TempDir()
	g.makeRepos(root)
	s := servertest.Start(t, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"), trustLoopback)
	port := freePort(t)
	startNginx(t, port, map[string]string{"git.conf": renderTemplate(t, "nginx/git.conf", [][2]string{
		{"listen 8000;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
		{"unix:/run/fcgiwrap.socket", "unix:" + sock},
		{"/usr/lib/git-core/git-http-backend", backend},
		{"/srv/git", root},
		{"http://127.0.0.1:8080", s.URL},
	})})

	is := oidctest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "ci-reader", "", "member", "service")
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, map[string]any{
		"name": "web-ci", "issuer": is.URL, "audience": "latchkey",
		"conditions":      map[string]string{"repository": "acme/web", "ref": "refs/heads/main"},
		"service_account": "ci-reader", "scopes": []string{"repo:read=acme/*"},
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
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(out.AccessToken, "lk_fed_") {
		t.Fatalf("exchange: %d %+v", resp.StatusCode, out)
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	g.must("", out.AccessToken, "clone", "-q", base+"/acme/web.git", filepath.Join(t.TempDir(), "web"))
	if o, err := g.run("", out.AccessToken, "clone", "-q", base+"/other/x.git", filepath.Join(t.TempDir(), "x")); err == nil {
		t.Errorf("the fed token cloned other/x, outside its policy's repo:read=acme/*:\n%s", o)
	}
	if o, err := g.run("", "lk_fed_"+strings.Repeat("A", 36), "clone", "-q", base+"/acme/web.git", filepath.Join(t.TempDir(), "forged")); err == nil {
		t.Errorf("a forged fed token cloned:\n%s", o)
	}
}
