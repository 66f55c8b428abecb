package gateway_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// gitClient runs the real git client in an isolated home, taking the
// password from a credential helper that reads $LK_TOKEN, so tokens are
// never in a URL, an argument or a log.
type gitClient struct {
	t    *testing.T
	home string
}

func newGitClient(t *testing.T) *gitClient {
	t.Helper()
	lookTool(t, "git", "git")
	return &gitClient{t: t, home: t.TempDir()}
}

// credentialHelper answers git's "get" with any user name and $LK_TOKEN.
const credentialHelper = `!f() { test "$1" = get || exit 0; echo username=git-user; echo "password=$LK_TOKEN"; }; f`

// run runs git in dir with token as the password and returns its combined
// output.
func (g *gitClient) run(dir, token string, args ...string) (string, error) {
	g.t.Helper()
	full := append([]string{"-c", "credential.helper=", "-c", "credential.helper=" + credentialHelper,
		"-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + g.home, "LANG=C", "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + filepath.Join(g.home, ".gitconfig"),
		"GIT_TERMINAL_PROMPT=0", "LK_TOKEN=" + token,
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (g *gitClient) must(dir, token string, args ...string) string {
	g.t.Helper()
	out, err := g.run(dir, token, args...)
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// makeRepos creates bare repositories root/acme/web.git and
// root/other/x.git, each with one commit on main.
func (g *gitClient) makeRepos(root string) {
	g.t.Helper()
	for _, name := range []string{"acme/web", "other/x"} {
		bare := filepath.Join(root, name+".git")
		g.must("", "", "init", "-q", "--bare", bare)
		work := g.t.TempDir()
		g.must(work, "", "init", "-q")
		if err := os.WriteFile(filepath.Join(work, "README"), []byte(name+"\n"), 0o644); err != nil {
			g.t.Fatal(err)
		}
		g.must(work, "", "add", "README")
		g.must(work, "", "commit", "-q", "-m", "initial")
		g.must(work, "", "push", "-q", bare, "main")
	}
}

// gitBackend serves root with git http-backend over CGI, with REMOTE_USER
// taken from X-Latchkey-User, as a Git server behind Latchkey would. Like
// nginx in front of fcgiwrap, it spools chunked request bodies (git sends
// large pushes chunked) to a file first, since CGI needs CONTENT_LENGTH;
// chunked counts the requests that came so.
func gitBackend(t *testing.T, root string, chunked *atomic.Int64) http.Handler {
	t.Helper()
	backend := gitHTTPBackendPath(t)
	spool := t.TempDir()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
			chunked.Add(1)
			f, err := os.CreateTemp(spool, "body")
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer os.Remove(f.Name())
			defer f.Close()
			n, err := io.Copy(f, r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			_, _ = f.Seek(0, io.SeekStart)
			r.Body, r.ContentLength, r.TransferEncoding = f, n, nil
		}
		h := &cgi.Handler{Path: backend, Root: "/", Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
		if u := r.Header.Get("X-Latchkey-User"); u != "" {
			h.Env = append(h.Env, "REMOTE_USER="+u)
		}
		h.ServeHTTP(w, r)
	})
}

func gitHTTPBackendPath(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		testenv.Missing(t, "git --exec-path: %v (install the Debian package git)", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "git-http-backend not found at %s: install the Debian package git", p)
	}
	return p
}

// probe asks base for a Git ref advertisement with token as the Basic
// password and returns the status, to pin what git only paraphrases.
func probe(t *testing.T, base, repo, service, token string) int {
	t.Helper()
	resp, _ := send(t, http.MethodGet, base+"/"+repo+".git/info/refs?service="+service,
		http.Header{"Authorization": {basic("git-user", token)}})
	return resp.StatusCode
}

// checkGitAccess runs every Git check of the gateway against base, which
// serves root through Latchkey s. explains says whether Latchkey's reasons
// reach the git user as "remote: ..." lines.
func checkGitAccess(t *testing.T, s *servertest.Server, base, root string, explains bool) {
	f := newFixture(t, s)
	g := newGitClient(t)
	read := f.token(t, "git-read", "repo:read")
	write := f.token(t, "git-write", "repo")
	acme := f.token(t, "acme-only", "repo:read=acme/*")
	clone := filepath.Join(t.TempDir(), "web")
	bare := filepath.Join(root, "acme/web.git")

	t.Run("clone with a repo:read token works", func(t *testing.T) {
		g.must("", read.Secret, "clone", "-q", base+"/acme/web.git", clone)
		if b, err := os.ReadFile(filepath.Join(clone, "README")); err != nil || string(b) != "acme/web\n" {
			t.Fatalf("cloned README %q, %v", b, err)
		}
	})
	if _, err := os.Stat(clone); err != nil {
		t.Fatal("nothing to push from without a clone")
	}
	if err := os.WriteFile(filepath.Join(clone, "CHANGE"), []byte("change\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must(clone, "", "add", "CHANGE")
	g.must(clone, "", "commit", "-q", "-m", "change")
	head := g.must(clone, "", "rev-parse", "HEAD")

	t.Run("push with a repo:read token is refused with 403", func(t *testing.T) {
		out, err := g.run(clone, read.Secret, "push", "origin", "main")
		if err == nil || !strings.Contains(out, "403") {
			t.Errorf("push: err %v, output %q; want a failure citing 403", err, out)
		}
		if why := "remote: this token does not hold the repo scope on acme/web"; explains && !strings.Contains(out, why) {
			t.Errorf("push output %q does not explain %q", out, why)
		}
		if got := g.must(bare, "", "rev-parse", "main"); got == head {
			t.Errorf("the refused push reached the repository")
		}
		if st := probe(t, base, "acme/web", "git-receive-pack", read.Secret); st != 403 {
			t.Errorf("receive-pack advertisement with repo:read: status %d, want 403", st)
		}
	})
	t.Run("push with a repo token works", func(t *testing.T) {
		g.must(clone, write.Secret, "push", "-q", "origin", "main")
		if got := g.must(bare, "", "rev-parse", "main"); got != head {
			t.Errorf("repository main is %s after the push, want %s", got, head)
		}
	})
	t.Run("a token narrowed to acme/* clones acme/web but not other/x", func(t *testing.T) {
		g.must("", acme.Secret, "clone", "-q", base+"/acme/web.git", filepath.Join(t.TempDir(), "web"))
		out, err := g.run("", acme.Secret, "clone", "-q", base+"/other/x.git", filepath.Join(t.TempDir(), "x"))
		if err == nil || !strings.Contains(out, "403") {
			t.Errorf("clone other/x: err %v, output %q; want a failure citing 403", err, out)
		}
	})
	checkGitRefusals(t, f, g, base, read, explains)
}

// checkGitRefusals checks that clones with a wrong password, a suspended
// owner's token and a revoked token fail with 401.
func checkGitRefusals(t *testing.T, f *fixture, g *gitClient, base string, read servertest.CreatedToken, explains bool) {
	refused := func(t *testing.T, token, why string) {
		t.Helper()
		out, err := g.run("", token, "clone", "-q", base+"/acme/web.git", filepath.Join(t.TempDir(), "web"))
		if err == nil || !strings.Contains(out, "Authentication failed") {
			t.Errorf("clone: err %v, output %q; want git's \"Authentication failed\"", err, out)
		}
		if explains && !strings.Contains(out, "remote: "+why) {
			t.Errorf("clone output %q does not explain %q", out, why)
		}
		if st := probe(t, base, "acme/web", "git-upload-pack", token); st != 401 {
			t.Errorf("upload-pack advertisement: status %d, want 401", st)
		}
	}
	t.Run("a wrong password fails", func(t *testing.T) { refused(t, "not-a-latchkey-token", "token does not start with") })
	t.Run("a suspended owner's token fails", func(t *testing.T) {
		refused(t, f.suspendedOwnersToken(t), "the token's owner is suspended")
	})
	t.Run("after revoke, clone fails with 401", func(t *testing.T) {
		f.revoke(t, read)
		refused(t, read.Secret, "token has been revoked")
	})
}

func TestGitOverNginxWithForwardAuth(t *testing.T) {
	backend := gitHTTPBackendPath(t)
	sock := startFcgiwrap(t)
	root := t.TempDir()
	newGitClient(t).makeRepos(root)
	s := servertest.Start(t, trustLoopback, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"))
	port := freePort(t)
	startNginx(t, port, map[string]string{"git.conf": renderTemplate(t, "nginx/git.conf", [][2]string{
		{"listen 8000;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
		{"unix:/run/fcgiwrap.socket", "unix:" + sock},
		{"/usr/lib/git-core/git-http-backend", backend},
		{"/srv/git", root},
		{"http://127.0.0.1:8080", s.URL},
	})})
	checkGitAccess(t, s, fmt.Sprintf("http://127.0.0.1:%d", port), root, true)
}

func TestGitThroughReverseProxyMode(t *testing.T) {
	gitHTTPBackendPath(t)
	root := t.TempDir()
	newGitClient(t).makeRepos(root)
	up := httptest.NewServer(gitBackend(t, root, new(atomic.Int64)))
	t.Cleanup(up.Close)
	s := servertest.Start(t, "--upstream", up.URL)
	checkGitAccess(t, s, s.URL, root, true)
}

func TestLargePushThroughReverseProxyArrivesIntact(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 50 MB; skipped with -short")
	}
	gitHTTPBackendPath(t)
	g := newGitClient(t)
	root := t.TempDir()
	g.makeRepos(root)
	var chunked atomic.Int64
	up := httptest.NewServer(gitBackend(t, root, &chunked))
	t.Cleanup(up.Close)
	s := servertest.Start(t, "--upstream", up.URL)
	write := newFixture(t, s).token(t, "big-push", "repo")

	clone := filepath.Join(t.TempDir(), "web")
	g.must("", write.Secret, "clone", "-q", s.URL+"/acme/web.git", clone)
	const size = 50 << 20
	big := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{1, 2, 3}) // random, so git cannot compress it away
	_, _ = rng.Read(big)
	if err := os.WriteFile(filepath.Join(clone, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	g.must(clone, "", "add", "big.bin")
	g.must(clone, "", "commit", "-q", "-m", "50 MB of random data")
	g.must(clone, write.Secret, "push", "-q", "origin", "main")
	if chunked.Load() == 0 {
		t.Errorf("the push did not reach the upstream as a streamed (chunked) body; it should, as git sends it")
	}

	bare := filepath.Join(root, "acme/web.git")
	for _, rev := range []string{"main", "main:big.bin"} {
		local := g.must(clone, "", "rev-parse", strings.Replace(rev, "main", "HEAD", 1))
		if remote := g.must(bare, "", "rev-parse", rev); remote != local {
			t.Errorf("%s is %s in the repository, want %s", rev, remote, local)
		}
	}
	if got := g.must(bare, "", "cat-file", "-s", "main:big.bin"); got != fmt.Sprint(size) {
		t.Errorf("pushed blob has %s bytes, want %d", got, size)
	}
	if out, err := g.run(bare, "", "fsck", "--no-dangling"); err != nil {
		t.Errorf("git fsck of the repository: %v\n%s", err, out)
	}
}
