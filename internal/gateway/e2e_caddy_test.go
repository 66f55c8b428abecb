package gateway_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// startCaddy runs the real Caddy with deploy/caddy/Caddyfile, listening on
// port and protecting upstream with Latchkey at latchkeyURL.
func startCaddy(t *testing.T, port int, latchkeyURL, upstream string) {
	t.Helper()
	bin := lookTool(t, "caddy", "caddy")
	conf := renderTemplate(t, "caddy/Caddyfile", [][2]string{
		{":8000 {", fmt.Sprintf("http://127.0.0.1:%d {", port)},
		{"forward_auth 127.0.0.1:8080", "forward_auth " + strings.TrimPrefix(latchkeyURL, "http://")},
		{"reverse_proxy 127.0.0.1:3000", "reverse_proxy " + strings.TrimPrefix(upstream, "http://")},
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start caddy: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("caddy output:\n%s", out)
		}
	})
	waitForPort(t, port, "caddy", out)
}

func TestGitOverCaddyWithForwardAuth(t *testing.T) {
	root := t.TempDir()
	newGitClient(t).makeRepos(root)
	var chunked atomic.Int64
	up := httptest.NewServer(gitBackend(t, root, &chunked))
	t.Cleanup(up.Close)
	s := servertest.Start(t, trustLoopback)
	port := freePort(t)
	startCaddy(t, port, s.URL, up.URL)
	checkGitAccess(t, s, fmt.Sprintf("http://127.0.0.1:%d", port), root, true)
}

// TestCaddyForwardAuthResistsForgedHeaders sends the attacks of the
// request-edge issue through the real Caddy.
func TestCaddyForwardAuthResistsForgedHeaders(t *testing.T) {
	var seen atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Clone())
		fmt.Fprintf(w, "%s %s user=%s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Latchkey-User"))
	}))
	t.Cleanup(up.Close)
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	read := f.token(t, "read", "repo:read")
	office := s.CreateToken(t, f.alice, map[string]any{"name": "office", "scopes": []string{"repo"}, "ip_allowlist": []string{"10.20.30.40/32"}})
	port := freePort(t)
	startCaddy(t, port, s.URL, up.URL)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	resp, body := send(t, http.MethodPost, base+"/acme/web.git/git-receive-pack", http.Header{
		"Authorization": {basic("x", read.Secret)}, "X-Original-Uri": {"/acme/web.git/git-upload-pack"}, "X-Original-Method": {"POST"},
	})
	if resp.StatusCode == 200 {
		t.Errorf("a repo:read token pushed by forging X-Original-URI: %s", body)
	}
	resp, body = send(t, http.MethodPost, base+"/acme/web.git/git-receive-pack", http.Header{
		"X-Latchkey-User": {"admin"}, "X-Forwarded-Uri": {"/status"},
	})
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") || !strings.Contains(body, "authentication required") {
		t.Errorf("no credential: status %d %q %q, want 401 with a Basic challenge and the reason", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	resp, body = send(t, http.MethodGet, base+"/acme/web.git/info/refs?service=git-upload-pack", http.Header{
		"Authorization": {basic("x", read.Secret)}, "X-Latchkey-User": {"admin"}, "X-Latchkey-Scopes": {"*"},
	})
	h, _ := seen.Load().(http.Header)
	if resp.StatusCode != 200 || h.Get("X-Latchkey-User") != "alice" || h.Get("X-Latchkey-Scopes") != "repo:read" || h.Get("Authorization") != "" {
		t.Errorf("allowed request: status %d %q; upstream saw user %q scopes %q authorization %q",
			resp.StatusCode, body, h.Get("X-Latchkey-User"), h.Get("X-Latchkey-Scopes"), h.Get("Authorization"))
	}
	for _, forged := range []http.Header{
		{"X-Forwarded-For": {"10.20.30.40"}}, {"Forwarded": {"for=10.20.30.40"}}, {"X-Real-Ip": {"10.20.30.40"}},
	} {
		forged.Set("Authorization", bearer(office.Secret))
		resp, body = send(t, http.MethodGet, base+"/acme/web.git/info/refs?service=git-upload-pack", forged)
		if resp.StatusCode == 200 {
			t.Errorf("a token allowlisted to 10.20.30.40 was accepted from 127.0.0.1 by forging %v: %s", forged, body)
		}
	}
}

// TestAPIOverCaddyGivesTheUpstreamOnlyLatchkeysIdentity runs the API
// rules of deploy/nginx behind the real Caddy with deploy/caddy/Caddyfile:
// the upstream sees Latchkey's identity and no header a client sent under
// any spelling a CGI, WSGI or Rack upstream reads as an identity header
// (X_Latchkey_User is HTTP_X_LATCHKEY_USER too), and a public route's
// answer carries no identity at all (Debian's Caddy 2.6 wrote the copied
// headers' placeholders there as literal text).
func TestAPIOverCaddyGivesTheUpstreamOnlyLatchkeysIdentity(t *testing.T) {
	api, _ := echoUpstream(t, "api")
	s := servertest.Start(t, trustLoopback, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"))
	port := freePort(t)
	startCaddy(t, port, s.URL, api.URL)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	f := newFixture(t, s)
	web := f.token(t, "deploy-web", "service=web")
	forged := func(h http.Header) http.Header {
		h.Set("X_Latchkey_User", "ceo")
		h.Set("X-Latchkey_Scopes", "*")
		h.Set("x_latchkey-token-id", "forged")
		h.Set("X-Latchkey-User-Id", "forged")
		return h
	}
	// identity is what the upstream saw under any spelling of an identity
	// header, normalized as CGI does.
	identity := func(body string) map[string][]string {
		out := map[string][]string{}
		for k, vs := range decodeEcho(t, body).Header {
			if n := strings.ReplaceAll(strings.ToLower(k), "_", "-"); strings.HasPrefix(n, "x-latchkey-") {
				out[n] = append(out[n], vs...)
			}
		}
		return out
	}

	resp, body := send(t, http.MethodPost, base+"/v1/services/web/deploy", forged(http.Header{"Authorization": {bearer(web.Secret)}}))
	if resp.StatusCode != 200 {
		t.Fatalf("deploy web: status %d: %s", resp.StatusCode, body)
	}
	want := map[string][]string{
		"x-latchkey-user": {"alice"}, "x-latchkey-user-id": {f.aliceID}, "x-latchkey-token-id": {web.ID()},
		"x-latchkey-token-kind": {"pat"}, "x-latchkey-scopes": {"service=web"},
	}
	if got := identity(body); !reflect.DeepEqual(got, want) {
		t.Errorf("the upstream saw identity %v; want only Latchkey's %v", got, want)
	}
	resp, body = send(t, http.MethodGet, base+"/v1/health", forged(http.Header{}))
	if got := identity(body); resp.StatusCode != 200 || len(got) != 0 {
		t.Errorf("public route: status %d, the upstream saw identity %v; want 200 and none", resp.StatusCode, got)
	}
}
