package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
)

func runFedCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestLoginFederatedInGitHubActionsAndWithATokenFile plays a GitHub
// Actions job: the runtime's token endpoint mints an OIDC token for the
// audience asked, login --federated exchanges it, and whoami works with no
// secret configured. A Kubernetes-style token file works the same way.
func TestLoginFederatedInGitHubActionsAndWithATokenFile(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{envURL, envToken, envContext, envIDToken, envGitHubRequestURL, envGitHubRequestToken} {
		t.Setenv(k, "")
	}
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "deployer", "", "member", "service")
	t.Setenv(envToken, admin)
	t.Setenv(envURL, s.URL)
	if code, out, errOut := runFedCLI(t, "federation", "create", "web-deploy", "--preset", "github-actions", "--issuer", is.URL,
		"--condition", "repository=acme/web", "--condition", "ref=refs/heads/main",
		"--service-account", "deployer", "--scope", "repo:read"); code != 0 {
		t.Fatalf("federation create: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ := runFedCLI(t, "federation", "list")
	if code != 0 || !strings.Contains(out, "web-deploy") || !strings.Contains(out, "ref=refs/heads/main repository=acme/web") {
		t.Fatalf("federation list: exit %d\n%s", code, out)
	}
	t.Setenv(envToken, "")
	t.Setenv(envURL, "")

	var asked []string
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer runtime-secret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		aud := r.URL.Query().Get("audience")
		asked = append(asked, aud)
		_ = json.NewEncoder(w).Encode(map[string]string{"value": is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", aud))})
	}))
	t.Cleanup(gh.Close)
	t.Setenv(envGitHubRequestURL, gh.URL+"/token?api-version=2.0")
	t.Setenv(envGitHubRequestToken, "runtime-secret")

	if code, out, errOut := runFedCLI(t, "login", s.URL, "--federated"); code != 0 {
		t.Fatalf("login --federated: exit %d\n%s%s", code, out, errOut)
	}
	if len(asked) != 1 || asked[0] != "latchkey" {
		t.Errorf("audiences asked of GitHub = %v; want [latchkey]", asked)
	}
	code, out, _ = runFedCLI(t, "whoami")
	if code != 0 || !strings.Contains(out, "deployer") {
		t.Fatalf("whoami after login --federated: exit %d\n%s", code, out)
	}
	// Another audience than the policy's is refused with the reason.
	code, _, errOut := runFedCLI(t, "login", s.URL, "--federated", "--audience", "sts.amazonaws.com")
	if code != 2 || !strings.Contains(errOut, "audience") {
		t.Errorf("login with the wrong audience: exit %d %s; want 2 naming the audience", code, errOut)
	}

	t.Setenv(envGitHubRequestURL, "")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runFedCLI(t, "login", s.URL, "--federated", "--token-file", file, "--context", "k8s"); code != 0 {
		t.Fatalf("login --federated --token-file: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runFedCLI(t, "login", s.URL, "--federated")
	if code != 1 || !strings.Contains(errOut, "id-token: write") {
		t.Errorf("login --federated outside CI: exit %d %s; want 1 saying how to get a token", code, errOut)
	}
}
