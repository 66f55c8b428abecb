package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// Requests that a proxy forwards unchanged but that an upstream framework
// executes as another request than the one Latchkey judged: the method a
// method-override header or parameter names, and the path without its
// ";" path parameters. Each test drives the real nginx (deploy/nginx/api.conf),
// the real Caddy (deploy/caddy/Caddyfile) and reverse-proxy mode, all in
// front of one upstream that reads requests the way these frameworks do.

// frameworkUpstream executes requests as Java servlet containers (Tomcat,
// Jetty) and the frameworks with method override (Express's method-override,
// gorilla's HTTPMethodOverrideHandler, Symfony and Laravel) read them: a POST
// carrying X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override or a
// _method query parameter runs as that method, and each path segment loses
// its ";" parameters ("/a;x/b" is "/a/b"), before or after decoding. It
// answers with the request it executed.
func frameworkUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodPost {
			for _, h := range []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"} {
				if v := r.Header.Get(h); v != "" {
					method = strings.ToUpper(v)
				}
			}
			if v := r.URL.Query().Get("_method"); v != "" {
				method = strings.ToUpper(v)
			}
		}
		segs := strings.Split(r.URL.Path, "/")
		for i, s := range segs {
			segs[i], _, _ = strings.Cut(s, ";")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(executed{Method: method, Path: strings.Join(segs, "/"), User: r.Header.Get("X-Latchkey-User")})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type executed struct{ Method, Path, User string }

// apiFronts starts Latchkey with the API rules of deploy/nginx in both
// roles, and nginx and Caddy asking it, all in front of upstream. It
// returns the server and each front's base URL by name.
func apiFronts(t *testing.T, upstream string) (*servertest.Server, map[string]string) {
	t.Helper()
	s := servertest.Start(t, trustLoopback, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"), "--upstream", upstream)
	nginx, caddy := freePort(t), freePort(t)
	startNginx(t, nginx, map[string]string{"api.conf": renderTemplate(t, "nginx/api.conf", [][2]string{
		{"listen 8001;", fmt.Sprintf("listen 127.0.0.1:%d;", nginx)},
		{"http://127.0.0.1:9000", upstream},
		{"http://127.0.0.1:8080", s.URL},
	})})
	startCaddy(t, caddy, s.URL, upstream)
	return s, map[string]string{
		"nginx":              fmt.Sprintf("http://127.0.0.1:%d", nginx),
		"caddy":              fmt.Sprintf("http://127.0.0.1:%d", caddy),
		"reverse-proxy mode": s.URL,
	}
}

// attempt sends one request through a front and returns the status and,
// when the upstream answered, what it executed.
func attempt(t *testing.T, method, url string, h http.Header) (int, *executed, string) {
	t.Helper()
	resp, body := send(t, method, url, h)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return resp.StatusCode, nil, body
	}
	var e executed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("upstream answer %q: %v", body, err)
	}
	return resp.StatusCode, &e, body
}

// TestMethodOverrideCannotRunAMethodLatchkeyDidNotJudge: deploy/nginx's
// rules let a service=web token POST /v1/services/web/deploy and nothing
// else; a POST that asks the upstream to run as DELETE must not reach it
// as a DELETE.
func TestMethodOverrideCannotRunAMethodLatchkeyDidNotJudge(t *testing.T) {
	s, fronts := apiFronts(t, frameworkUpstream(t).URL)
	web := newFixture(t, s).token(t, "deploy-web", "service=web")
	const deploy = "/v1/services/web/deploy"
	for name, base := range fronts {
		t.Run(name, func(t *testing.T) {
			auth := func(h http.Header) http.Header { h.Set("Authorization", bearer(web.Secret)); return h }
			if st, e, body := attempt(t, http.MethodPost, base+deploy, auth(http.Header{})); e == nil || e.Method != http.MethodPost {
				t.Fatalf("plain deploy: status %d %s; want the upstream to run POST", st, body)
			}
			for _, tc := range []struct {
				label string
				uri   string
				h     http.Header
			}{
				{"X-HTTP-Method-Override", deploy, http.Header{"X-Http-Method-Override": {"DELETE"}}},
				{"X-HTTP-Method", deploy, http.Header{"X-Http-Method": {"DELETE"}}},
				{"X-Method-Override, lower case", deploy, http.Header{"X-Method-Override": {"delete"}}},
				{"_method query parameter", deploy + "?_method=DELETE", http.Header{}},
				{"_method query parameter, encoded", deploy + "?%5Fmethod=DELETE", http.Header{}},
			} {
				st, e, body := attempt(t, http.MethodPost, base+tc.uri, auth(tc.h))
				if e != nil && e.Method != http.MethodPost {
					t.Errorf("%s: the upstream ran %s %s for a token that may only POST there (status %d)", tc.label, e.Method, e.Path, st)
				}
				if st != http.StatusBadRequest || !strings.Contains(body, "method") {
					t.Errorf("%s: status %d %q; want 400 saying the request names two methods", tc.label, st, body)
				}
			}
			// An override that names the method the request has is no
			// confusion, and passes.
			if st, e, body := attempt(t, http.MethodPost, base+deploy, auth(http.Header{"X-Http-Method-Override": {"post"}})); e == nil || e.Method != http.MethodPost {
				t.Errorf("override naming the request's own method: status %d %s; want it to pass", st, body)
			}
		})
	}
}

// TestPathParametersCannotNameAnotherResource: a token narrowed to the
// staging services (service=*-staging) must not deploy prod by sending
// /v1/services/prod;-staging/deploy, which Latchkey would judge as the
// service "prod;-staging" and a servlet container runs as prod's.
func TestPathParametersCannotNameAnotherResource(t *testing.T) {
	s, fronts := apiFronts(t, frameworkUpstream(t).URL)
	staging := newFixture(t, s).token(t, "deploy-staging", "service=*-staging")
	h := http.Header{"Authorization": {bearer(staging.Secret)}}
	for name, base := range fronts {
		t.Run(name, func(t *testing.T) {
			if st, e, body := attempt(t, http.MethodPost, base+"/v1/services/web-staging/deploy", h); e == nil || e.Path != "/v1/services/web-staging/deploy" {
				t.Fatalf("deploy web-staging: status %d %s; want it to pass", st, body)
			}
			for _, uri := range []string{
				"/v1/services/prod;-staging/deploy",
				"/v1/services/prod;x=-staging/deploy",
				"/v1/services/prod%3B-staging/deploy",
				"/v1/services/prod%3b-staging/deploy",
			} {
				st, e, body := attempt(t, http.MethodPost, base+uri, h)
				if e != nil {
					t.Errorf("POST %s: the upstream ran %s %s for a token narrowed to *-staging", uri, e.Method, e.Path)
				}
				if st != http.StatusForbidden {
					t.Errorf("POST %s: status %d %q; want 403", uri, st, body)
				}
			}
		})
	}
}

// TestGitHooksSeeOnlyLatchkeysIdentityOverNginx pushes through
// deploy/nginx/git.conf with forged identity headers: git http-backend, and
// the hooks it runs, get every client header as an HTTP_* variable, so
// HTTP_X_LATCHKEY_USER must be Latchkey's answer, never the client's.
func TestGitHooksSeeOnlyLatchkeysIdentityOverNginx(t *testing.T) {
	backend := gitHTTPBackendPath(t)
	sock := startFcgiwrap(t)
	root := t.TempDir()
	g := newGitClient(t)
	g.makeRepos(root)
	envFile := filepath.Join(t.TempDir(), "hook.env")
	hook := "#!/bin/sh\nenv > " + envFile + "\ncat >/dev/null\n"
	if err := os.WriteFile(filepath.Join(root, "acme/web.git/hooks/pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	s := servertest.Start(t, trustLoopback, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"))
	port := freePort(t)
	startNginx(t, port, map[string]string{"git.conf": renderTemplate(t, "nginx/git.conf", [][2]string{
		{"listen 8000;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
		{"unix:/run/fcgiwrap.socket", "unix:" + sock},
		{"/usr/lib/git-core/git-http-backend", backend},
		{"/srv/git", root},
		{"http://127.0.0.1:8080", s.URL},
	})})
	f := newFixture(t, s)
	write := f.token(t, "git-write", "repo=acme/web")
	clone := filepath.Join(t.TempDir(), "web")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	g.must("", write.Secret, "clone", "-q", base+"/acme/web.git", clone)
	if err := os.WriteFile(filepath.Join(clone, "CHANGE"), []byte("change\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must(clone, "", "add", "CHANGE")
	g.must(clone, "", "commit", "-q", "-m", "change")
	g.must(clone, write.Secret, "-c", "http.extraHeader=X-Latchkey-User: ceo", "-c", "http.extraHeader=X-Latchkey-Scopes: *",
		"-c", "http.extraHeader=X-Latchkey-Token-Kind: adm", "push", "-q", "origin", "main")

	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("the pre-receive hook did not run: %v", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	for k, want := range map[string]string{
		"REMOTE_USER": "alice", "HTTP_X_LATCHKEY_USER": "alice", "HTTP_X_LATCHKEY_USER_ID": f.aliceID,
		"HTTP_X_LATCHKEY_TOKEN_ID": write.ID(), "HTTP_X_LATCHKEY_TOKEN_KIND": "pat",
		"HTTP_X_LATCHKEY_SCOPES": "repo=acme/web", "HTTP_AUTHORIZATION": "",
	} {
		if got := env[k]; got != want {
			t.Errorf("the hook saw %s=%q, want %q", k, got, want)
		}
	}
}
