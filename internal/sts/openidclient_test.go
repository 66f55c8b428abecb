package sts_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestOpenIDClientDiscoversExchangesAndIntrospects runs
// testdata/openid-client/interop.mjs: openid-client v6 (npm), a standard
// OAuth client, against a real server, with client_secret_basic and a
// client_id that needs RFC 6749 §2.3.1 form-encoding.
func TestOpenIDClientDiscoversExchangesAndIntrospects(t *testing.T) {
	node := testenv.LookPath(t, "node", "the Debian package nodejs")
	modules := openIDClientModules(t)
	s := servertest.Start(t, "--signing-key-secret", "openid-client-test-secret-0123456789")
	admin := s.AdminSession(t)
	caller := s.CreateToken(t, admin, map[string]any{"name": "resource_server", "scopes": []string{"introspect", "repo"}})
	subject := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo:read"}})

	cmd := exec.Command(node, "testdata/openid-client/interop.mjs")
	cmd.Env = append(os.Environ(), "LK_URL="+s.URL, "LK_CLIENT_ID=resource_server", "LK_CLIENT_SECRET="+caller.Secret,
		"LK_SUBJECT="+subject.Secret, "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("interop.mjs: %v\n%s%s", err, out, stderr)
	}
	var got struct {
		Discovered      map[string]string `json:"discovered"`
		Exchanged       map[string]any    `json:"exchanged"`
		IntrospectedJWT map[string]any    `json:"introspected_jwt"`
		IntrospectedPAT map[string]any    `json:"introspected_pat"`
		Junk            map[string]any    `json:"introspected_junk"`
		BadGrant        map[string]any    `json:"bad_grant"`
		BadClient       map[string]any    `json:"bad_client"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("interop output %s: %v", out, err)
	}
	if got.Discovered["issuer"] != s.URL || got.Discovered["introspection_endpoint"] != s.URL+"/oauth2/introspect" {
		t.Errorf("discovered %v", got.Discovered)
	}
	if got.Exchanged["has_token"] != true || got.Exchanged["scope"] != "repo:read" {
		t.Errorf("exchanged %v", got.Exchanged)
	}
	if aud, _ := got.IntrospectedJWT["aud"].([]any); got.IntrospectedJWT["active"] != true || len(aud) != 1 || aud[0] != "billing-api" ||
		got.IntrospectedJWT["iss"] != s.URL || got.IntrospectedJWT["client_id"] != subject.ID() {
		t.Errorf("introspected JWT %v", got.IntrospectedJWT)
	}
	if got.IntrospectedPAT["active"] != true || got.IntrospectedPAT["scope"] != "repo:read" {
		t.Errorf("introspected PAT %v", got.IntrospectedPAT)
	}
	if got.Junk["active"] != false {
		t.Errorf("introspected junk %v", got.Junk)
	}
	if got.BadGrant["error"] != "invalid_grant" || got.BadGrant["error_description"] == nil {
		t.Errorf("a refused subject token: %v, want invalid_grant with a description", got.BadGrant)
	}
	if got.BadClient["error"] != "invalid_client" || got.BadClient["error_description"] == nil || got.BadClient["challenge_error"] != "invalid_client" {
		t.Errorf("a refused client secret: %v, want invalid_client with a description", got.BadClient)
	}
}

// openIDClientModules is the node_modules directory holding openid-client:
// $LATCHKEY_NPM_CACHE (CI installs it there, see .ci/run), else
// ~/.cache/latchkey-ci/npm.
func openIDClientModules(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LATCHKEY_NPM_CACHE")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "latchkey-ci", "npm")
	}
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "openid-client", "package.json")); err != nil {
		testenv.Missing(t, "openid-client is not installed in %s: npm install --prefix %s openid-client@6", modules, dir)
	}
	return modules
}
