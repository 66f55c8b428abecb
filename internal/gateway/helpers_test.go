package gateway_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

// fixture is a running server with a member, alice, and tokens of hers.
type fixture struct {
	s       *servertest.Server
	admin   string // the first owner's session
	alice   string // alice's session
	aliceID string
}

const alicePassword = "alice-password-42"

func newFixture(t *testing.T, s *servertest.Server) *fixture {
	t.Helper()
	f := &fixture{s: s, admin: s.AdminSession(t)}
	f.aliceID = s.CreateUser(t, f.admin, "alice", alicePassword, "member", "person")
	f.alice = s.Login(t, "alice", alicePassword)
	return f
}

// token creates a 30-day token of alice's.
func (f *fixture) token(t *testing.T, name string, scopes ...string) servertest.CreatedToken {
	t.Helper()
	return f.s.CreateToken(t, f.alice, map[string]any{"name": name, "scopes": scopes, "expires_in": "720h"})
}

func (f *fixture) revoke(t *testing.T, tok servertest.CreatedToken) {
	t.Helper()
	if status, body, _ := f.s.Do(t, http.MethodDelete, "/api/v1/tokens/"+tok.ID(), f.alice, nil); status != http.StatusNoContent {
		t.Fatalf("revoke: status %d: %s", status, body)
	}
}

// suspendedOwnersToken returns a repo token whose owner, bob, is then suspended.
func (f *fixture) suspendedOwnersToken(t *testing.T) string {
	t.Helper()
	id := f.s.CreateUser(t, f.admin, "bob", "bob-password-42", "member", "person")
	bob := f.s.Login(t, "bob", "bob-password-42")
	tok := f.s.CreateToken(t, bob, map[string]any{"name": "bob-git", "scopes": []string{"repo"}})
	f.s.JSON(t, http.MethodPatch, "/api/v1/users/"+id, f.admin, map[string]any{"suspended": true}, http.StatusOK, nil)
	return tok.Secret
}

// writeConfig writes a --config file and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// send makes a request and returns the response with its body read.
func send(t *testing.T, method, url string, h http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func bearer(secret string) string { return "Bearer " + secret }

// trustLoopback makes the test server believe forwarding headers from
// loopback, where the tests (and the proxies they run) connect from.
const trustLoopback = "--trusted-proxies=127.0.0.1/32"

// forgedToken is a well-formed, checksum-valid token no server issued.
func forgedToken(t *testing.T, _ int) string {
	t.Helper()
	raw, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
