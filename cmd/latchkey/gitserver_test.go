package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func gitPath() (string, error) { return exec.LookPath("git") }

// startGitServer serves a bare repository, repo.git, with one commit, over
// Git's smart HTTP protocol (git http-backend), behind the check a
// forward-auth proxy makes: each request's Authorization header must be
// accepted by the Latchkey server at latchkeyURL, or the answer is a 401
// Basic challenge, which makes git ask its credential helpers. It returns
// the repository's URL.
func startGitServer(env *testscript.Env, latchkeyURL string) (string, error) {
	git, err := gitPath()
	if err != nil {
		return "", err
	}
	root, err := os.MkdirTemp("", "latchkey-git-")
	if err != nil {
		return "", err
	}
	env.Defer(func() { os.RemoveAll(root) })
	if err := makeRepo(git, root); err != nil {
		return "", err
	}
	backend := &cgi.Handler{Path: git, Args: []string{"http-backend"}, Dir: root,
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	check := &http.Client{Timeout: 10 * time.Second}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accepted(check, latchkeyURL, r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	env.Defer(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + l.Addr().String() + "/repo.git", nil
}

// accepted asks Latchkey whether the credential is valid, as forward-auth
// does.
func accepted(c *http.Client, latchkeyURL, authz string) bool {
	if authz == "" {
		return false
	}
	req, err := http.NewRequest(http.MethodGet, latchkeyURL+"/api/v1/me", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", authz)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func makeRepo(git, root string) error {
	src := filepath.Join(root, "src")
	steps := [][]string{
		{"init", "-q", "-b", "main", src},
		{"-C", src, "add", "README"},
		{"-C", src, "-c", "user.name=Latchkey Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "first"},
		{"clone", "-q", "--bare", src, filepath.Join(root, "repo.git")},
	}
	for i, args := range steps {
		if i == 1 {
			if err := os.WriteFile(filepath.Join(src, "README"), []byte("hello from a protected repository\n"), 0o644); err != nil {
				return err
			}
		}
		cmd := exec.Command(git, args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+root)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v: %s", args, err, out)
		}
	}
	return nil
}
