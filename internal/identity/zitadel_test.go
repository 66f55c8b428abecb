package identity_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// opEnv names the binary of zitadel's example OpenID Provider
// (go install github.com/zitadel/oidc/v3/example/server@v3.52.0; .ci/run does).
const opEnv = "LATCHKEY_OIDC_EXAMPLE_SERVER"

func exampleOP(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(opEnv); p != "" {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("HOME"), "go", "bin")} {
		if p := filepath.Join(dir, "server"); dir != "" && isExec(p) {
			return p
		}
	}
	testenv.Missing(t, "needs zitadel's example OpenID Provider: go install github.com/zitadel/oidc/v3/example/server@v3.52.0 and set %s to the binary (.ci/run does)", opEnv)
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func headless(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("LATCHKEY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if !isExec(path) {
		testenv.Missing(t, "needs Chromium at %s (apt-get install -y chromium, or set LATCHKEY_CHROMIUM)", path)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(path), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()))
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return ctx
}

// TestSSOEndToEndWithZitadelExampleOPInChromium signs in through a real
// OpenID Provider's login page, in Chromium, through the whole redirect
// flow: Latchkey → provider login → consent-free redirect → callback →
// console, and a just-in-time user.
func TestSSOEndToEndWithZitadelExampleOPInChromium(t *testing.T) {
	bin := exampleOP(t)
	browser := headless(t)
	opPort := freePort(t)
	issuer := "http://localhost:" + opPort + "/"

	cfg := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`sso:
  providers:
    - id: zitadel
      name: Zitadel Example
      issuer: %s
      client_id: web
      client_secret: secret
      scopes: [openid, profile, email]
`, issuer)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := servertest.Start(t, "--config", cfg)

	op := exec.Command(bin)
	op.Env = append(os.Environ(), "PORT="+opPort, "REDIRECT_URI="+s.URL+"/auth/sso/zitadel/callback")
	op.Stdout, op.Stderr = nil, nil
	if err := op.Start(); err != nil {
		t.Fatalf("start the example OP: %v", err)
	}
	t.Cleanup(func() { _ = op.Process.Kill(); _ = op.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(issuer + ".well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the example OP did not serve discovery within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	var heading, users string
	err := chromedp.Do(browser,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#sso-zitadel")),
		chromedp.Click(chromedp.CSS("#sso-zitadel")),
		// The provider's own login page.
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "test-user2"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "verysecure"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		// Back in the console, signed in.
		chromedp.WaitVisible(chromedp.CSS(`a[href="/tokens/new"]`)),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if heading, err = chromedp.Run(browser, chromedp.Text(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(heading, "test-user2") {
		t.Fatalf("the console does not show the signed-in user test-user2: %.400s", heading)
	}
	// The admin sees the new user, created just in time, with login type oidc.
	admin := s.AdminSession(t)
	code, body, _ := s.Do(t, http.MethodGet, "/api/v1/users/test-user2", admin, nil)
	users = string(body)
	if code != 200 || !strings.Contains(users, `"role":"member"`) {
		t.Fatalf("JIT user: %d %s", code, users)
	}
	var logins struct {
		Items []struct{ Action string } `json:"items"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/audit?action=sso.login", admin, nil, 200, &logins)
	if len(logins.Items) != 1 {
		t.Fatalf("sso.login events: %+v", logins.Items)
	}
}
