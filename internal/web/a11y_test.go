package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchkey/latchkey/internal/servertest"
)

// What axe-core does not see: a keyboard user's and a screen-reader user's
// experience of the console, checked in Chromium (WCAG 2.2 AA).

// lookAtEveryPage crawls the console from the menu as the signed-in user
// and calls check on each page, collecting what it reports per page.
func (b *tab) lookAtEveryPage(start []string, check string) map[string][]string {
	b.t.Helper()
	found := map[string][]string{}
	b.crawl(start, 60, func(p string) {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](check))
		if err != nil {
			b.t.Fatalf("check %s: %v", p, err)
		}
		if len(got) > 0 {
			found[p] = got
		}
	})
	return found
}

func reportPages(t *testing.T, what string, found map[string][]string) {
	t.Helper()
	if len(found) == 0 {
		return
	}
	var msg strings.Builder
	for p, issues := range found {
		fmt.Fprintf(&msg, "\n  %s:\n    %s", p, strings.Join(issues, "\n    "))
	}
	t.Errorf("%s on %d pages:%s", what, len(found), msg.String())
}

// contrastJS defines ratio(colour, colour) and backgroundOf(el) for the
// checks below.
const contrastJS = `
const rgb = s => s.match(/[\d.]+/g).map(Number);
const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const ratio = (a, b) => { const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x); return (hi + .05) / (lo + .05); };
const backgroundOf = el => { for (let p = el.parentElement; p; p = p.parentElement) { const c = rgb(getComputedStyle(p).backgroundColor); if (c.length === 3 || c[3] === 1) return c; } return [255, 255, 255]; };
const shown = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
`

// Each check returns what a user would trip over on the page open.
const (
	// WCAG 1.4.11: a text box or list is found by its edge.
	fieldEdgesCheck = `(() => {` + contrastJS + `
		const out = [];
		document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea").forEach(el => {
			if (!shown(el)) return;
			const c = getComputedStyle(el).borderTopColor, r = ratio(rgb(c), backgroundOf(el));
			if (r < 3) out.push("#" + el.id + " edge " + c + " is " + r.toFixed(2) + ":1");
		});
		return out;
	})()`
	// WCAG 2.4.4, 2.4.6: a list of a page's links or buttons (as screen
	// readers offer) never shows two of one name that do different things.
	distinctNamesCheck = `(() => {` + contrastJS + `
		const byName = {};
		document.querySelectorAll("main a[href], main button").forEach(el => {
			if (!shown(el)) return;
			const name = (el.getAttribute("aria-label") || el.textContent).replace(/\s+/g, " ").trim();
			const does = el.tagName === "A" ? el.href : (el.form ? el.form.action + " " + el.value : el.value);
			(byName[name] = byName[name] || new Set()).add(does);
		});
		return Object.entries(byName).filter(([, s]) => s.size > 1).map(([n, s]) => s.size + " controls named " + JSON.stringify(n) + " do different things");
	})()`
	// WCAG 1.3.1: tables have a name and their column headers say so.
	tablesCheck = `(() => {
		const out = [];
		document.querySelectorAll("table").forEach(t => {
			const id = "table" + (t.id ? "#" + t.id : "");
			if (!t.caption && !t.getAttribute("aria-label") && !t.getAttribute("aria-labelledby")) out.push(id + " has no name");
			t.querySelectorAll("thead th").forEach(th => { if (!th.getAttribute("scope")) out.push(id + ": header " + JSON.stringify(th.textContent.trim()) + " has no scope"); });
		});
		return out;
	})()`
	// WCAG 3.3.2: in a form with required fields, the others say
	// "(optional)", and a field the server requires is marked required.
	optionalCheck = `(() => {
		const out = [];
		document.querySelectorAll("main form").forEach(f => {
			const fields = [...f.querySelectorAll("input[type=text], input[type=email], input[type=url], input[type=password], input[type=date], textarea")].filter(el => !el.readOnly && el.offsetParent);
			if (!fields.some(el => el.required)) return;
			fields.forEach(el => {
				const label = el.labels && el.labels[0] ? el.labels[0].textContent : "";
				if (!el.required && !/optional/i.test(label)) out.push("#" + el.id + " (" + label.trim() + ") is neither required nor marked optional");
			});
		});
		return out;
	})()`
)

// startWithProvider runs a server whose config names an SSO provider, so
// that the single sign-on page lists it.
func startWithProvider(t *testing.T) *servertest.Server {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`sso:
  providers:
    - id: corp
      name: Corp SSO
      issuer: https://login.corp-identity-provider.example.com/tenants/0f6c3d4e-2b1a-4c5d-9e8f-7a6b5c4d3e2f/v2.0
      client_id: latchkey-console-production-client
      client_secret_file: %s
      scopes: [openid, profile, email, groups]
      roles: {claim: groups, owner: [lk-owners], admin: [lk-admins], member: [engineering]}
`, secret)
	path := filepath.Join(dir, "latchkey.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, "--config", path)
}

// A console with something on every page: tokens expiring this week (the
// banner), a revoked one, another user, a service account with tokens,
// a trust policy, two sessions and audit events naming tokens.
func furnishedConsole(t *testing.T) (*servertest.Server, string) {
	t.Helper()
	s := startWithProvider(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "mia", "mia-password-1", "member", "person")
	bot := s.CreateUser(t, owner, "deploy-bot", "", "member", "service")
	for _, n := range []string{"ci", "backup", "laptop"} {
		s.CreateToken(t, owner, map[string]any{"name": n, "expires_in": "96h", "scopes": []string{"repo:read"}})
	}
	s.CreateToken(t, owner, map[string]any{"name": "bot-1", "expires_in": "30d", "scopes": []string{"repo:read"}, "user_id": bot})
	gone := s.CreateToken(t, owner, map[string]any{"name": "old", "expires_in": "7d"})
	s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+gone.ID(), owner, nil, http.StatusNoContent, nil)
	for _, name := range []string{"web-deploy", "api-deploy"} {
		s.JSON(t, http.MethodPost, "/api/v1/federation/policies", owner, map[string]any{
			"name": name, "issuer": "https://token.actions.githubusercontent.com", "audience": "latchkey",
			"conditions": map[string]string{"repository": "acme/" + name}, "service_account": "deploy-bot", "scopes": []string{"repo:read"},
		}, http.StatusCreated, nil)
	}
	s.Login(t, servertest.AdminUser, servertest.AdminPassword) // a second session
	return s, bot
}

func TestBrowserEveryPageNamesAndOutlinesItsControls(t *testing.T) {
	s, bot := furnishedConsole(t)
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	start := []string{"/tokens", "/admin/users", "/tokens/new?user=" + bot, "/admin/sso"}
	t.Run("fields have an edge of 3:1", func(t *testing.T) {
		b.t = t
		reportPages(t, "text boxes and lists whose edge is too faint to find (WCAG 1.4.11)", b.lookAtEveryPage(start, fieldEdgesCheck))
	})
	t.Run("no two links or buttons share a name but not a target", func(t *testing.T) {
		b.t = t
		reportPages(t, "links or buttons a screen reader's list cannot tell apart (WCAG 2.4.4, 2.4.6)", b.lookAtEveryPage(start, distinctNamesCheck))
	})
	t.Run("tables are named and their headers scoped", func(t *testing.T) {
		b.t = t
		reportPages(t, "tables without a name or with unscoped headers (WCAG 1.3.1)", b.lookAtEveryPage(start, tablesCheck))
	})
	t.Run("optional fields say so", func(t *testing.T) {
		b.t = t
		reportPages(t, "fields neither required nor marked optional (WCAG 3.3.2)", b.lookAtEveryPage(start, optionalCheck))
	})
}

// WCAG 1.4.10: at 320 CSS pixels (a 1280 px window at 400 %) the single
// sign-on page, whose provider table has eleven columns, does not scroll
// sideways; the table scrolls inside its card.
func TestBrowserSingleSignOnPageReflowsAt320Pixels(t *testing.T) {
	s := startWithProvider(t)
	b := openChromium(t, s.URL, viewport{W: 320, H: 640})
	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.open("/admin/sso")
	b.see("Corp SSO")
	b.fitsWidth()
	b.open("/admin/sso")
	b.do(chromedp.EmulateViewport(1280, 800))
	b.fitsWidth()
}

// WCAG 2.4.11: moving back up a long page with Shift+Tab, what takes focus
// is scrolled clear of the sticky top bar, not left underneath it.
func TestBrowserFocusIsNeverHiddenUnderTheTopBar(t *testing.T) {
	s, _ := furnishedConsole(t)
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	const hidden = `(() => {
		const el = document.activeElement;
		if (!el || el === document.body || el.classList.contains("skip-link") || el.closest(".topbar")) return "";
		const r = el.getBoundingClientRect(), bar = document.querySelector(".topbar").getBoundingClientRect().bottom;
		return r.top < bar - 1 ? el.outerHTML.slice(0, 90) + " is at " + Math.round(r.top) + "px, under the top bar (to " + Math.round(bar) + "px)" : "";
	})()`
	for _, p := range []string{"/admin/federation", "/admin/policy", "/tokens/new"} {
		b.open(p)
		b.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("main a[href], main button, main input:not([type=hidden]), main select, main textarea")].filter(e => e.offsetParent).pop().focus()`))
		for range 30 {
			b.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
			msg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](hidden))
			if err != nil {
				t.Fatal(err)
			}
			if msg != "" {
				t.Errorf("%s, Shift+Tab: %s", p, msg)
				break
			}
		}
	}
}

// forcedColors turns on the emulation of Windows high-contrast modes.
func (b *tab) forcedColors() {
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "forced-colors", Value: "active"}}})
		return err
	}))
}

// WCAG 2.4.7, 1.4.11: every field, list, checkbox and radio shows where
// focus is with a solid outline, also in forced colours (Windows high
// contrast), which drops box-shadows: without one, a keyboard user there
// loses track of focus in every form.
func TestBrowserFormControlsShowFocusInForcedColors(t *testing.T) {
	s := servertest.Start(t)
	for _, forced := range []bool{false, true} {
		t.Run(fmt.Sprintf("forced colours %v", forced), func(t *testing.T) {
			b := openChromium(t, s.URL, desktop)
			if forced {
				b.forcedColors()
			}
			b.login(servertest.AdminUser, servertest.AdminPassword)
			judge := `(() => {
				const el = document.activeElement;
				if (!el || !el.matches("input, select, textarea")) return "";
				if (` + fmt.Sprint(forced) + ` !== matchMedia("(forced-colors: active)").matches) return "forced colours emulation not in effect";
				const cs = getComputedStyle(el);
				return cs.outlineStyle === "none" || parseFloat(cs.outlineWidth) < 2 ? el.outerHTML.slice(0, 90) + ": no outline (" + cs.outlineStyle + " " + cs.outlineWidth + ")" : "";
			})()`
			fields := 0
			for _, p := range []string{"/admin/policy", "/tokens/new"} {
				b.open(p)
				for range 25 {
					b.do(chromedp.KeyEvent("\t"))
					msg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](judge))
					if err != nil {
						t.Fatal(err)
					}
					if msg != "" {
						t.Errorf("%s: %s", p, msg)
					}
					if b.eval(`document.activeElement.matches("input, select, textarea")`) {
						fields++
					}
				}
			}
			if fields < 10 {
				t.Errorf("Tab reached only %d fields; the check saw too little", fields)
			}
		})
	}
}

// WCAG 3.2.2: arrowing through the expiration list (which changes a closed
// list's choice as it goes) past "Custom date" keeps focus on the list, so
// "No expiration" can be reached; the date box appears as the next stop.
func TestBrowserArrowingThroughExpirationKeepsFocusOnTheList(t *testing.T) {
	s := servertest.Start(t)
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.open("/tokens/new")
	b.do(chromedp.Focus(chromedp.CSS("#expiration")))
	sawCustom := false
	for range 8 {
		b.do(chromedp.KeyEvent(kb.ArrowDown))
		if b.eval(`document.getElementById("expiration").value === "custom"`) {
			sawCustom = true
			if !b.eval(`!document.getElementById("custom-date").hidden`) {
				t.Error("choosing Custom date does not show the date box")
			}
		}
		if !b.eval(`document.activeElement.id === "expiration"`) {
			got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 90)`))
			t.Fatalf("after arrowing to %q, focus left the list for %s", b.value("#expiration"), got)
		}
	}
	if !sawCustom {
		t.Fatal("arrowing down never chose Custom date")
	}
	if !b.eval(`document.getElementById("expiration").value === "never"`) {
		t.Errorf("arrowing down ends on %q, not No expiration", b.value("#expiration"))
	}
	b.do(chromedp.SetValue(chromedp.CSS("#expiration"), "custom"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("expiration").dispatchEvent(new Event("change"))`),
		chromedp.Focus(chromedp.CSS("#expiration")), chromedp.KeyEvent("\t"))
	if !b.eval(`document.activeElement.id === "expires_on"`) {
		t.Error("Tab from the list with Custom date chosen does not reach the date box")
	}
}

// heardJS records, from the start of every page, what a screen reader
// announces: text that appears in a live region (role=status or alert,
// aria-live) once the page has been parsed, and differs from what that
// region said before. Content a region holds on arrival is not announced.
const heardJS = `window.__heard = [];
let parsed = false;
new MutationObserver(muts => {
	if (!parsed) return;
	for (const m of muts) {
		const node = m.target.nodeType === 1 ? m.target : m.target.parentElement;
		const region = node && node.closest("[role=status], [role=alert], [aria-live]:not([aria-live=off])");
		if (!region) continue;
		const text = region.textContent.replace(/\s+/g, " ").trim();
		if (text && text !== region.__said) window.__heard.push(text);
		region.__said = text;
	}
}).observe(document, {subtree: true, childList: true, characterData: true});
document.addEventListener("DOMContentLoaded", () => {
	parsed = true;
	document.querySelectorAll("[role=status], [role=alert], [aria-live]").forEach(r => r.__said = r.textContent.replace(/\s+/g, " ").trim());
});`

func (b *tab) listenLikeAScreenReader() {
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: heardJS})
		return err
	}))
}

func (b *tab) heard() []string {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`window.__heard || []`))
	if err != nil {
		b.t.Fatal(err)
	}
	return got
}

// WCAG 4.1.3: the notice after an action ("The token was revoked…") is
// announced once, without taking focus; rendered into a live region with
// the page, it would be silent.
func TestBrowserNoticeAfterAnActionIsAnnouncedOnce(t *testing.T) {
	s := servertest.Start(t)
	tok := s.CreateToken(t, s.AdminSession(t), map[string]any{"name": "ci", "expires_in": "720h"})
	b := openChromium(t, s.URL, desktop)
	b.listenLikeAScreenReader()
	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.open("/tokens/" + tok.ID())
	b.confirmDialog("#revoke", "Revoke ci?")
	const notice = "The token was revoked. Every request that uses it is now refused."
	b.see(notice)
	b.do(chromedp.Sleep(1e9))
	b.do(chromedp.Sleep(5e8))
	heard := b.heard()
	n := 0
	for _, h := range heard {
		if strings.Contains(h, notice) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the notice is announced %d times, want once; heard %q", n, heard)
	}
	if !b.eval(`document.activeElement === document.body || document.activeElement === document.getElementById("main")`) {
		t.Error("the notice took focus")
	}
}

// WCAG 4.1.3: copying a second time is announced again, not met with
// silence because the live region already says "Copied".
func TestBrowserEveryCopyIsAnnounced(t *testing.T) {
	s := servertest.Start(t)
	b := openChromium(t, s.URL, desktop)
	b.listenLikeAScreenReader()
	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.open("/cli-auth")
	for range 2 {
		b.do(chromedp.Click(chromedp.CSS(`button[data-copy="#cli-command"]`)), chromedp.Sleep(4e8))
	}
	n := 0
	for _, h := range b.heard() {
		if strings.Contains(h, "Copied to the clipboard") || strings.Contains(h, "Press Ctrl+C") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("two copies are announced %d times; heard %q", n, b.heard())
	}
}
