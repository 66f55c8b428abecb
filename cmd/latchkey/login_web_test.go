package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// chromium starts a headless Chromium, or skips (fails under CI) without one.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("LATCHKEY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		testenv.Missing(t, "needs Chromium at %s (apt-get install -y chromium, or set LATCHKEY_CHROMIUM)", path)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(path), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()))
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return ctx
}

var codeLine = regexp.MustCompile(`open (\S+)\nand enter the code ([A-Z]{4}-[A-Z]{4})`)

// TestLoginWebIsApprovedInChromium runs `latchkey login --web` while a
// Chromium session signs in to the console and approves the code the CLI
// printed; the CLI then stores a session context.
func TestLoginWebIsApprovedInChromium(t *testing.T) {
	browser := chromium(t)
	s := servertest.Start(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())

	errR, errW := io.Pipe()
	var stdout bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run([]string{"login", s.URL, "--web", "--context", "dev"}, strings.NewReader(""), &stdout, errW)
		errW.Close()
	}()
	// Read what the CLI tells the person, then keep draining.
	var seen strings.Builder
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(errR)
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if m := codeLine.FindStringSubmatch(seen.String()); m != nil && len(found) == 0 {
				found <- m
			}
		}
	}()
	var m []string
	select {
	case m = <-found:
	case <-time.After(time.Minute):
		t.Fatalf("the CLI printed no verification address and code")
	}
	if m[1] != s.URL+"/device" {
		t.Fatalf("verification URI %s, want %s/device", m[1], s.URL)
	}

	// A person signs in to the console, enters the code, sees where the
	// request came from, and approves it.
	err := chromedp.Do(browser,
		chromedp.Navigate(s.URL+"/device"), // not signed in: goes to /login and comes back
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), servertest.AdminUser),
		chromedp.SendKeys(chromedp.CSS("#password"), servertest.AdminPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#user_code")),
		chromedp.SendKeys(chromedp.CSS("#user_code"), strings.ToLower(m[2])),
		chromedp.Click(chromedp.CSS("#device-continue")),
		chromedp.WaitVisible(chromedp.CSS("#device-request")),
		chromedp.Click(chromedp.CSS("#device-approve")),
		chromedp.WaitVisible(chromedp.CSS("#device-done")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("latchkey login --web exited %d; stderr:\n%s", code, seen.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("latchkey login --web did not finish after the approval")
	}
	if !strings.Contains(stdout.String(), `Logged in to `+s.URL+` as admin (context "dev", session`) {
		t.Fatalf("stdout: %q", stdout.String())
	}
	cfg, err := os.ReadFile(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "latchkey", "config.json"))
	if err != nil || !strings.Contains(string(cfg), `"lk_ses_`) {
		t.Fatalf("config has no session: %v %s", err, cfg)
	}
}
