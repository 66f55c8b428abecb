package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// exchange trades a PAT for a JWT with audience "inventory", as a client
// of the service does.
func exchange(t *testing.T, latchkey, pat string) string {
	t.Helper()
	resp, err := http.PostForm(latchkey+"/oauth2/token", url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {pat},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"audience":           {"inventory"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("exchange: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

func get(t *testing.T, u, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func checkService(t *testing.T, svc, latchkey string, s *servertest.Server) {
	t.Helper()
	pat := s.CreateToken(t, s.AdminSession(t), map[string]any{"name": "demo", "scopes": []string{"repo:read=acme/*"}})
	jwt := exchange(t, latchkey, pat.Secret)
	tests := []struct {
		path, bearer string
		status       int
		body         string
	}{
		{"/whoami", jwt, 200, `"user":"admin"`},
		{"/repos/acme/web", jwt, 200, `"can_push":false`},
		{"/repos/other/web", jwt, 403, "insufficient"},
		{"/whoami", "", 401, "Authorization: Bearer"},
		{"/whoami", pat.Secret, 401, "exchange your token"},
	}
	for _, tt := range tests {
		if status, body := get(t, svc+tt.path, tt.bearer); status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s: %d %s; want %d containing %q", tt.path, status, body, tt.status, tt.body)
		}
	}
}

func TestServiceAcceptsExchangedJWTs(t *testing.T) {
	s := servertest.Start(t, "--signing-key-secret", "example-test-secret-0123456789")
	svc := httptest.NewServer(newHandler(s.URL))
	defer svc.Close()
	checkService(t, svc.URL, s.URL, s)
}

// TestBuiltServiceWorksAsTheREADMESays builds and runs the example the way
// its README tells a new user to.
func TestBuiltServiceWorksAsTheREADMESays(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "protected-service")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := servertest.Start(t, "--signing-key-secret", "example-test-secret-0123456789")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "LATCHKEY_URL="+s.URL, "ADDR="+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not start listening within 10s")
		}
	}
	checkService(t, "http://"+addr, s.URL, s)
}
