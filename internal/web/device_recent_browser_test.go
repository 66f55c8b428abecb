package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/web"
)

// TestBrowserDeviceSignInAgainPassesAxeAndComesBack walks, in Chromium on a
// laptop and a phone, the review a session signed in 20 minutes ago sees
// (no Approve, a link to sign in again), the login page that link opens
// for a signed-in person, and the way back to the review, where the code
// typed from the terminal approves. Each step passes axe-core and the
// console's own checks.
func TestBrowserDeviceSignInAgainPassesAxeAndComesBack(t *testing.T) {
	axe := axeSource(t)
	s := servertest.Start(t)
	for _, vp := range []struct {
		name string
		vp   viewport
	}{{"desktop", desktop}, {"phone", phone}} {
		t.Run(vp.name, func(t *testing.T) {
			old := browserSignedInAt(t, s, time.Now().Add(-20*time.Minute)).cookie(web.SessionCookie).Value
			b := openChromium(t, s.URL, vp.vp)
			found := map[string][]string{}
			check := func(step string) {
				t.Helper()
				b.fitsWidth()
				for _, js := range []string{fieldEdgesCheck, distinctNamesCheck, optionalCheck} {
					got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](js))
					if err != nil {
						t.Fatalf("check %s: %v", step, err)
					}
					found[step] = append(found[step], got...)
				}
				found[step] = append(found[step], b.audit(axe)...)
			}
			b.open("/login")
			if !b.eval(`(document.cookie = ` + strconv.Quote(web.SessionCookie+"="+old+"; path=/") + `, true)`) {
				t.Fatal("could not set the old session's cookie")
			}

			code := deviceCode(t, s, "latchkey-cli/test")
			if status := b.open("/device?user_code=" + code); status != 200 {
				t.Fatalf("review with an old sign-in: %d", status)
			}
			b.see("To approve, sign in again")
			if b.eval(`document.querySelector("#device-approve") !== null`) {
				t.Fatal("an old sign-in is offered Approve")
			}
			check("review, sign in again")

			if status := b.submit("#device-sign-in"); status != 200 {
				t.Fatalf("sign in again: %d", status)
			}
			b.see("Sign in again to continue")
			if got := b.value("#username"); got != servertest.AdminUser {
				t.Errorf("the login form for signing in again has user name %q, want %q", got, servertest.AdminUser)
			}
			check("login, sign in again")
			b.typeInto("#password", servertest.AdminPassword)
			if status := b.submit("form button[type=submit]"); status != 200 {
				t.Fatalf("login: %d", status)
			}
			if loc := b.location(); !strings.HasSuffix(loc, "/device?user_code="+code) {
				t.Fatalf("after signing in again the browser is at %s, not back on the review", loc)
			}
			b.typeInto("#user_code", code)
			b.submit("#device-approve")
			b.see("The CLI is signed in")

			for step, v := range found {
				if len(v) > 0 {
					t.Errorf("%s: %s", step, strings.Join(v, "\n    "))
				}
			}
		})
	}
}
