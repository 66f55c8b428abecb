package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/testenv"
)

// Browser tests drive Debian's Chromium. LATCHKEY_CHROMIUM names another
// binary; LATCHKEY_UPDATE_SCREENSHOTS=1 saves screenshots of the main pages
// to docs/screenshots/.
const (
	defaultChromium = "/usr/bin/chromium"
	screenshotsEnv  = "LATCHKEY_UPDATE_SCREENSHOTS"
	screenshotsDir  = "../../docs/screenshots"
)

// viewport sizes of the checks: a laptop and a phone.
type viewport struct {
	W, H   int64
	Mobile bool
}

var (
	desktop = viewport{W: 1280, H: 800}
	phone   = viewport{W: 390, H: 844, Mobile: true}
)

// tab is one Chromium tab on a test server.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// openChromium starts a headless Chromium with a fresh profile, or skips
// the test with a clear message when there is none.
func openChromium(t *testing.T, base string, vp viewport) *tab {
	t.Helper()
	path := os.Getenv("LATCHKEY_CHROMIUM")
	if path == "" {
		path = defaultChromium
	}
	if _, err := os.Stat(path); err != nil {
		testenv.Missing(t, "browser test skipped: no Chromium at %s (install it with `apt-get install -y chromium`, or set LATCHKEY_CHROMIUM)", path)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(vp.W), int(vp.H)),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 5*time.Minute) // generous: CI runs other packages beside Chromium
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	b := &tab{t: t, ctx: ctx, base: base}
	emulate := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if vp.Mobile {
		emulate = append(emulate, chromedp.EmulateMobile)
	}
	b.do(chromedp.EmulateViewport(vp.W, vp.H, emulate...))
	return b
}

// do runs actions and fails the test on error.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open navigates to a console path and returns the HTTP status.
func (b *tab) open(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// submit clicks sel, waits for the page it leads to and returns its status.
func (b *tab) submit(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}

// typeInto replaces the value of a field by typing.
func (b *tab) typeInto(sel, text string) {
	b.t.Helper()
	// chromedp's Clear and SetValue("") fail on empty fields; clear in the page.
	clear := fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Evaluate[chromedp.Void](clear), chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *tab) value(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// eval runs JavaScript and returns its boolean result.
func (b *tab) eval(js string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// see fails unless the page's visible text contains every want.
func (b *tab) see(wants ...string) {
	b.t.Helper()
	body := b.text("body")
	for _, w := range wants {
		if !strings.Contains(body, w) {
			b.t.Fatalf("page %s does not show %q; it shows:\n%s", b.location(), w, body)
		}
	}
}

func (b *tab) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

// login signs in through the login form.
func (b *tab) login(user, password string) {
	b.t.Helper()
	b.open("/login")
	b.typeInto("#username", user)
	b.typeInto("#password", password)
	if status := b.submit("form button[type=submit]"); status != 200 {
		b.t.Fatalf("login as %s: status %d", user, status)
	}
	b.see("Access tokens")
}

// fitsWidth fails when the page scrolls sideways at the current width.
func (b *tab) fitsWidth() {
	b.t.Helper()
	if !b.eval(`document.documentElement.scrollWidth <= window.innerWidth`) {
		w, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		b.t.Errorf("%s is %dpx wide, wider than the window: it scrolls sideways", b.location(), w)
	}
}

// shot saves a screenshot of the viewport as docs/screenshots/name.png when
// LATCHKEY_UPDATE_SCREENSHOTS=1.
func (b *tab) shot(name string) {
	b.t.Helper()
	if os.Getenv(screenshotsEnv) != "1" {
		return
	}
	b.do(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()`))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotsDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotsDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
