package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchkey/latchkey/internal/servertest"
)

// The sweep an independent accessibility suite runs over the console, on
// the furnished console of a11y_test.go: where you are in the menu, times
// readable without hovering, reflow at 320 CSS pixels and at tablet and
// laptop widths, both colour schemes, axe-core at every impact level, page
// structure and titles, forms sent back with errors, and the confirmation
// dialog by keyboard alone.

// sweepStart is where the crawls begin: the menu reaches the rest.
func sweepStart(bot string) []string {
	return []string{"/tokens", "/admin/users", "/tokens/new?user=" + bot, "/admin/sso", "/device", "/cli-auth", "/no-such-page", "/tokens/no-such-token"}
}

// WAI-ARIA 1.2, aria-current: "page" marks the link to the page shown and
// nothing else; on a page below a menu entry (a token, a user), that entry
// says it contains the page (aria-current="true") and still looks chosen.
func TestBrowserMenuMarksOnlyTheShownPageAsCurrent(t *testing.T) {
	s, bot := furnishedConsole(t)
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	const check = `(() => {
		const out = [], here = location.pathname;
		const links = [...document.querySelectorAll(".sidenav a")];
		const plain = links.find(a => !a.hasAttribute("aria-current"));
		links.forEach(a => {
			const cur = a.getAttribute("aria-current"), path = new URL(a.href).pathname;
			if (cur === "page" && path !== here) out.push(a.textContent.trim() + " says aria-current=page on " + here);
			if (cur && cur !== "page" && cur !== "true" && cur !== "location") out.push(a.textContent.trim() + ": aria-current=" + cur);
			if (path === here && cur !== "page") out.push(a.textContent.trim() + " links to the page shown without aria-current=page");
			if (cur && plain && getComputedStyle(a).backgroundColor === getComputedStyle(plain).backgroundColor) out.push(a.textContent.trim() + " is current but looks like the others");
		});
		const sub = {"/tokens/": "/tokens", "/admin/users/": "/admin/users"};
		for (const [prefix, entry] of Object.entries(sub)) {
			if (!here.startsWith(prefix) || document.title.startsWith("Not found")) continue;
			const a = links.find(a => new URL(a.href).pathname === entry);
			if (!a || !["true", "location"].includes(a.getAttribute("aria-current"))) out.push(here + ": the menu entry " + entry + " does not say the page is in its section");
		}
		return out;
	})()`
	reportPages(t, "menu links that say the wrong thing about where you are (WAI-ARIA aria-current)", b.lookAtEveryPage(sweepStart(bot), check))
}

// WCAG 1.3.1, 1.4.13: every time shown ("in 3 days") shows its date and
// time too, as text next to it, not only in a tooltip that keyboard, touch
// and many screen-reader users never get.
func TestBrowserEveryTimeShowsItsDateWithoutHovering(t *testing.T) {
	s, bot := furnishedConsole(t)
	for _, vp := range []struct {
		name string
		vp   viewport
	}{{"desktop", desktop}, {"phone", phone}} {
		t.Run(vp.name, func(t *testing.T) {
			b := openChromium(t, s.URL, vp.vp)
			b.login(servertest.AdminUser, servertest.AdminPassword)
			const check = `(() => {
				const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
				const pad = n => String(n).padStart(2, "0");
				const out = [];
				document.querySelectorAll("time[datetime]").forEach(el => {
					const r = el.getBoundingClientRect();
					if (r.width === 0 && r.height === 0) return;
					const d = new Date(el.getAttribute("datetime"));
					const abs = months[d.getUTCMonth()] + " " + d.getUTCDate() + ", " + d.getUTCFullYear() + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
					const box = el.closest("td, dd, li, p, div");
					if (!box.innerText.includes(abs)) out.push(JSON.stringify(el.innerText) + " does not show " + abs + (el.title ? " (only in its tooltip)" : ""));
				});
				return out;
			})()`
			reportPages(t, "times whose date is hidden (WCAG 1.3.1, 1.4.13)", b.lookAtEveryPage(sweepStart(bot), check))
		})
	}
}

// colorScheme emulates a light or dark system preference.
func (b *tab) colorScheme(scheme string) {
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

// structureCheck reports what a screen-reader user would find wrong with
// a page's outline: not one h1, a skipped heading level, no main or nav
// landmark, no lang, links named only "here" or "N more", a title that
// does not name the page.
const structureCheck = `(() => {
	const out = [];
	const h1s = [...document.querySelectorAll("h1")].filter(h => h.getClientRects().length);
	if (h1s.length !== 1) out.push(h1s.length + " h1 headings");
	let last = 0;
	document.querySelectorAll("h1, h2, h3, h4, h5, h6").forEach(h => {
		if (h.closest("dialog:not([open])")) return;
		const n = +h.tagName[1];
		if (last && n > last + 1) out.push("heading " + JSON.stringify(h.textContent.trim()) + " is h" + n + " after h" + last);
		last = n;
	});
	if (document.querySelectorAll("main").length !== 1) out.push(document.querySelectorAll("main").length + " main landmarks");
	if (!document.documentElement.lang) out.push("no lang on html");
	document.querySelectorAll("a[href]").forEach(a => {
		const name = (a.getAttribute("aria-label") || a.textContent).replace(/\s+/g, " ").trim();
		if (/^(here|click here|more|read more|link|details|\d+ more)$/i.test(name)) out.push("link named " + JSON.stringify(name) + " makes no sense out of context");
	});
	if (!document.title.endsWith(" · Latchkey")) out.push("title " + JSON.stringify(document.title) + " does not end with the product");
	return out;
})()`

// axeContrast runs only axe-core's colour contrast rule.
const axeContrast = `(async () => {
  const r = await axe.run(document, {runOnly: ["color-contrast"], resultTypes: ["violations"]});
  return r.violations.flatMap(v => v.nodes.slice(0, 5).map(n => v.id + " " + n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " ")));
})()`

// mediumWidths are the tablet and laptop widths between the phone layout
// and the widest content, where a table wider than its box must scroll
// inside it rather than widen the page (WCAG 1.4.10).
var mediumWidths = []int64{768, 960, 1024, 1200}

// widthsCheck reports, for each width, how far the page open in b scrolls
// sideways there, and puts the window back to back.
func (b *tab) widthsCheck(widths []int64, back viewport) []string {
	b.t.Helper()
	var out []string
	for _, w := range widths {
		b.do(chromedp.EmulateViewport(w, 800, chromedp.EmulateScale(1)))
		extra, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
		if err != nil {
			b.t.Fatal(err)
		}
		if extra > 0 {
			out = append(out, fmt.Sprintf("at %d px wide the page scrolls sideways by %d px (WCAG 1.4.10)", w, extra))
		}
	}
	b.do(chromedp.EmulateViewport(back.W, back.H, chromedp.EmulateScale(1)))
	return out
}

// WCAG 1.4.10 at 320 CSS pixels (a 1280 px window zoomed to 400 %) and at
// the medium widths, 1.4.3 in the light and the dark colour scheme, axe-core
// at every impact level, 1.3.1/2.4.6 structure and 2.4.2 titles that tell
// each page and state apart: every page, signed in as the owner and as a
// member with nothing yet, with lists long enough for a second page.
func TestBrowserEveryPageReflowsAt320PixelsInBothColourSchemes(t *testing.T) {
	axe := axeSource(t)
	s, bot := furnishedConsole(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "newbie", "newbie-password-1", "member", "person")
	// A second page of tokens, users and audit events (each token created
	// is an audit event too).
	for i := range 50 {
		s.CreateToken(t, owner, map[string]any{"name": fmt.Sprintf("bulk-%02d", i), "expires_in": "30d"})
	}
	for i := range 100 {
		s.CreateUser(t, owner, fmt.Sprintf("person-%03d", i), "person-password-1", "member", "person")
	}
	titles := map[string]string{}
	small := viewport{W: 320, H: 640}
	b := openChromium(t, s.URL, small)
	found := map[string][]string{}
	state := ""
	check := func(p string) {
		b.fitsWidth()
		found[p] = append(found[p], b.widthsCheck(mediumWidths, small)...)
		found[p] = append(found[p], b.auditEvery(axe)...)
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](structureCheck))
		if err != nil {
			t.Fatal(err)
		}
		found[p] = append(found[p], got...)
		title, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.title`))
		// A page's state that its title must tell apart: which page of a
		// list, the result of a decision, a change waiting to be confirmed.
		here, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname`))
		query, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(q => (q.has("cursor") ? " page 2+" : "") + (q.has("result") ? " result " + q.get("result") : ""))(new URLSearchParams(location.search))`))
		shape, _ := pageShape(here)
		shape += query + state
		if other, ok := titles[title]; ok && other != shape {
			found[p] = append(found[p], fmt.Sprintf("title %q is also the title of %s", title, other))
		}
		titles[title] = shape
		b.colorScheme("dark")
		if !b.eval(`matchMedia("(prefers-color-scheme: dark)").matches`) {
			t.Fatalf("colour scheme emulation not in effect")
		}
		dark, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](axeContrast, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dark {
			found[p] = append(found[p], "dark: "+d)
		}
		b.colorScheme("light")
	}
	for _, p := range []string{"/login", "/no-such-page"} {
		b.open(p)
		check("signed out " + p)
	}
	b.login("newbie", "newbie-password-1")
	for _, p := range []string{"/tokens", "/sessions", "/cli-auth", "/device"} {
		b.open(p)
		check("member " + p)
	}
	b.submit(".whoami form button[type=submit]")
	b.login(servertest.AdminUser, servertest.AdminPassword)
	pages := b.crawl(sweepStart(bot), 60, check)
	// The second page of each long list, whichever link the crawl took.
	for _, p := range []string{"/tokens", "/admin/users", "/admin/audit", "/admin/tokens"} {
		b.open(p)
		next, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(".pager a") || {}).href || ""`))
		if err != nil {
			t.Fatal(err)
		}
		if next == "" {
			found[p] = append(found[p], "no second page: the sweep's data is too short")
			continue
		}
		b.open(strings.TrimPrefix(next, s.URL))
		check("page 2 of " + p)
	}
	// States no link leads to: a session token for the CLI shown once, a
	// device sign-in approved or denied, a policy change waiting for its
	// confirmation.
	b.open("/cli-auth")
	b.submit(`main form button[type=submit].btn-primary`)
	b.see("Session token, to paste")
	check("/cli-auth/issued")
	for _, res := range []string{"approved", "denied"} {
		b.open("/device?result=" + res)
		check("/device?result=" + res)
	}
	b.open("/admin/policy")
	b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("max_lifetime").value = "1d"; document.getElementById("default_lifetime").value = "1d"`))
	b.submit(`main form button[type=submit].btn-primary`)
	b.see("Nothing is saved yet")
	if !b.eval(`document.activeElement.id === "policy-impact"`) {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 80)`))
		found["policy impact"] = append(found["policy impact"], "focus is on "+got+", not on what the change affects (WCAG 2.4.3)")
	}
	state = " (waiting for confirmation)"
	check("policy impact")
	state = ""
	// More expiring tokens than the banner names: its link to the rest.
	for _, n := range []string{"e1", "e2", "e3"} {
		s.CreateToken(t, owner, map[string]any{"name": n, "expires_in": "96h"})
	}
	b.open("/tokens")
	check("/tokens, with more expiring tokens than the banner names")
	t.Logf("checked %d pages", len(pages)+14)
	for p, v := range found {
		if len(v) == 0 {
			delete(found, p)
		}
	}
	reportPages(t, "pages that fail at 320 px, light or dark", found)
}

// WCAG 2.1.2, 2.4.3: the confirmation dialog, opened and answered by
// keyboard alone, keeps Tab inside it, closes on Escape, and gives focus
// back to the button that opened it; the skip link leads to the content.
func TestBrowserConfirmDialogAndSkipLinkWorkByKeyboard(t *testing.T) {
	s := servertest.Start(t)
	tok := s.CreateToken(t, s.AdminSession(t), map[string]any{"name": "ci", "expires_in": "720h"})
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.open("/tokens/" + tok.ID())

	b.do(chromedp.KeyEvent("\t"))
	if !b.eval(`document.activeElement.classList.contains("skip-link") && getComputedStyle(document.activeElement).left !== "-9999px"`) {
		t.Error("the first Tab does not show the skip link")
	}
	b.do(chromedp.KeyEvent(kb.Enter))
	b.do(chromedp.KeyEvent("\t"))
	if !b.eval(`document.getElementById("main").contains(document.activeElement)`) {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 90)`))
		t.Errorf("after the skip link, Tab goes to %s, not into the content", got)
	}

	b.do(chromedp.Focus(chromedp.CSS("#revoke")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog[open]")))
	for i := range 6 {
		if !b.eval(`document.getElementById("confirm-dialog").contains(document.activeElement)`) {
			got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 90)`))
			t.Fatalf("after %d Tabs focus left the open dialog for %s", i, got)
		}
		if i%2 == 0 {
			b.do(chromedp.KeyEvent("\t"))
		} else {
			b.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
			b.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
			b.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
		}
	}
	b.do(chromedp.KeyEvent(kb.Escape))
	if b.eval(`document.getElementById("confirm-dialog").open`) {
		t.Fatal("Escape does not close the dialog")
	}
	if !b.eval(`document.activeElement.id === "revoke"`) {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 90)`))
		t.Errorf("after Escape focus is on %s, not on the Revoke button", got)
	}
	if !strings.Contains(b.text("main"), "Revoke") || b.eval(`location.search.includes("msg=")`) {
		t.Error("Escape revoked the token")
	}
}

// formErrorsCheck is what a keyboard or screen-reader user meets on a form
// sent back with mistakes: the title says Error first, focus is on the
// error summary, the summary links to the message of every field in error,
// each such field is aria-invalid and described by its message.
const formErrorsCheck = `(() => {
	const out = [];
	if (!document.title.startsWith("Error: ")) out.push("title " + JSON.stringify(document.title) + " does not begin with Error:");
	const summary = document.getElementById("form-error");
	if (!summary) return out.concat(["no error summary"]);
	if (document.activeElement !== summary) out.push("focus is on " + document.activeElement.outerHTML.slice(0, 80) + ", not the error summary");
	document.querySelectorAll("main .field-error").forEach(msg => {
		const field = document.querySelector("[aria-describedby~='" + msg.id + "']");
		if (!msg.id || !field) { out.push("message " + JSON.stringify(msg.textContent) + " describes no field"); return; }
		if (field.tagName !== "FIELDSET" && field.getAttribute("aria-invalid") !== "true") out.push("#" + field.id + " is described by an error but not aria-invalid");
		if (!summary.querySelector("a[href$='#" + msg.id + "']")) out.push("the summary does not link to " + JSON.stringify(msg.textContent));
	});
	document.querySelectorAll("main [aria-invalid=true]").forEach(el => {
		const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
		if (!ids.some(id => { const m = document.getElementById(id); return m && m.classList.contains("field-error") && m.textContent.trim(); }))
			out.push("#" + el.id + " is aria-invalid without a message in its aria-describedby");
	});
	summary.querySelectorAll("a[href*='#']").forEach(a => { if (!document.getElementById(a.hash.slice(1))) out.push("the summary links to missing " + a.hash); });
	if (!summary.textContent.trim()) out.push("the summary is empty");
	return out;
})()`

// fieldInErrorCheck (%q: the field's id, then what was typed into it)
// reports what keeps one field in error from being found and fixed: not
// aria-invalid, not described by its message, its message not linked from
// the error summary, what was typed thrown away.
const fieldInErrorCheck = `((id, typed) => {
	const out = [], el = document.getElementById(id);
	if (!el) return ["no #" + id + " on the page sent back"];
	if (el.getAttribute("aria-invalid") !== "true") out.push("#" + id + " is not aria-invalid");
	const msg = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean).map(i => document.getElementById(i)).find(m => m && m.classList.contains("field-error"));
	if (!msg) out.push("#" + id + " is not described by its error message");
	else if (!document.querySelector("#form-error a[href$='#" + msg.id + "']")) out.push("the error summary does not link to #" + id + "'s message");
	if (el.value !== typed) out.push("#" + id + " shows " + JSON.stringify(el.value) + ", not what was sent: " + JSON.stringify(typed));
	return out;
})(%q, %q)`

// WCAG 3.3.1, 3.3.3, 2.4.3: every form of the console, sent with mistakes
// (and audited by axe-core at every impact level in that state).
func TestBrowserEveryFormSentWithMistakesLeadsToItsErrors(t *testing.T) {
	axe := axeSource(t)
	s, bot := furnishedConsole(t)
	tok := s.CreateToken(t, s.AdminSession(t), map[string]any{"name": "edit-me", "expires_in": "720h"})
	b := openChromium(t, s.URL, desktop)
	found := map[string][]string{}
	// send opens path, runs prepare (which spoils the form) and presses
	// button; the page that comes back must show errors, and mark each
	// field of want ({id, what was typed}) as in error, keeping its value.
	send := func(name, path, prepare, button string, want ...[2]string) {
		t.Helper()
		b.open(path)
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("[required]").forEach(e => e.removeAttribute("required")); ` + prepare))
		if b.eval(fmt.Sprintf(`(f => !f.noValidate && !f.checkValidity())(document.querySelector(%q).form)`, button)) {
			// The browser would stop it with a bubble of its own, unlike
			// every other form, which the server answers with its summary.
			found[name] = append(found[name], "the form has no novalidate: the browser's bubble, not the error summary, answers it")
			return
		}
		if status := b.submit(button); status < 400 {
			found[name] = append(found[name], fmt.Sprintf("sent with mistakes, the form answers %d", status))
			return
		}
		b.do(chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](formErrorsCheck))
		if err != nil {
			t.Fatal(err)
		}
		found[name] = append(found[name], got...)
		for _, w := range want {
			got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](fmt.Sprintf(fieldInErrorCheck, w[0], w[1])))
			if err != nil {
				t.Fatal(err)
			}
			found[name] = append(found[name], got...)
		}
		found[name] = append(found[name], b.auditEvery(axe)...)
		b.fitsWidth()
	}
	send("login, wrong password", "/login", `document.getElementById("username").value = "admin"; document.getElementById("password").value = "wrong"`, "form button[type=submit]")
	send("login, empty", "/login", ``, "form button[type=submit]")
	b.login(servertest.AdminUser, servertest.AdminPassword)
	send("new token, empty", "/tokens/new", `document.querySelector("input[value=specific]") && document.querySelector("input[value=specific]").click()`, "form button[type=submit].btn-primary")
	send("new token, custom date missing", "/tokens/new", `document.getElementById("name").value = "x"; document.getElementById("expiration").value = "custom"; document.getElementById("expiration").dispatchEvent(new Event("change")); document.getElementById("ip_allowlist").value = "not an address"`, "form button[type=submit].btn-primary")
	send("new token for a service account, empty", "/tokens/new?user="+bot, ``, "form button[type=submit].btn-primary")
	send("edit token", "/tokens/"+tok.ID()+"/edit", `document.getElementById("ip_allowlist").value = "not an address"`, "form button[type=submit].btn-primary")
	send("new user, empty", "/admin/users", ``, "main form button[type=submit].btn-primary")
	send("new service account, empty", "/admin/service-accounts", ``, "main form button[type=submit].btn-primary")
	send("policy, nonsense", "/admin/policy", `document.querySelectorAll("main form input[type=text]").forEach(e => e.value = "nonsense")`, "main form button[type=submit].btn-primary")
	send("federation, empty", "/admin/federation", ``, "main form button[type=submit].btn-primary")
	send("single sign-on link, empty", "/admin/sso", ``, "main form button[type=submit].btn-primary")
	send("device, empty", "/device", ``, "#device-continue")
	admin := servertest.AdminUser // a user's page is found by name too
	send("user's email, not an address", "/admin/users/"+admin, `document.getElementById("email").value = "not-an-email"`,
		"main form[action$='/email'] button[type=submit]", [2]string{"email", "not-an-email"})
	send("the last owner's role", "/admin/users/"+admin, `document.getElementById("role").value = "member"`,
		"main form[action$='/role'] button[type=submit]", [2]string{"role", "member"})
	send("single sign-on link, no such provider", "/admin/sso", `document.getElementById("link-user").value = "mia"; document.getElementById("link-provider").value = "nope"; document.getElementById("link-subject").value = "s-1"`,
		"main form button[type=submit].btn-primary", [2]string{"link-provider", "nope"})
	send("single sign-on link, no such user", "/admin/sso", `document.getElementById("link-user").value = "ghost"; document.getElementById("link-provider").value = "corp"; document.getElementById("link-subject").value = "s-1"`,
		"main form button[type=submit].btn-primary", [2]string{"link-user", "ghost"})
	for p, v := range found {
		if len(v) == 0 {
			delete(found, p)
		}
	}
	reportPages(t, "forms sent back with mistakes that do not lead to them", found)
}

// WCAG 2.1.1, 2.1.2, 2.4.3, 2.4.7: on the pages with the most controls,
// Tab reaches every control in the order the page shows them, never gets
// stuck, and each stop shows a solid focus ring.
func TestBrowserTabWalksEveryPageInOrderWithFocusShown(t *testing.T) {
	s, _ := furnishedConsole(t)
	tok := s.CreateToken(t, s.AdminSession(t), map[string]any{"name": "walk", "expires_in": "720h"})
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	const mark = `(() => {
		const all = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]")]
			.filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length && getComputedStyle(e).visibility !== "hidden" && !e.closest("dialog:not([open]), [hidden], [inert]"));
		const radios = new Set();
		window.__stops = all.filter(e => { if (e.type !== "radio") return true; if (radios.has(e.name)) return false; radios.add(e.name); return true; });
		// Start from the top, as a page opened by keyboard does, whatever
		// autofocus chose.
		const skip = document.querySelector(".skip-link");
		skip.focus();
		window.__seen = [window.__stops.indexOf(skip)];
		return window.__stops.length - 1;
	})()`
	const step = `(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return "body";
		const cs = getComputedStyle(el);
		const i = window.__stops.indexOf(el) >= 0 ? window.__stops.indexOf(el) : window.__stops.findIndex(s => s.type === "radio" && s.name === el.name);
		const last = window.__seen.length ? window.__seen[window.__seen.length - 1] : -1;
		window.__seen.push(i);
		const what = el.outerHTML.slice(0, 80);
		if (i < 0) return "unexpected stop " + what;
		if (i === last && el.type === "date") { window.__seen.pop(); return "again"; } // day, month, year
		if (i <= last) return "order: " + what + " (stop " + i + ") comes after stop " + last;
		if (cs.outlineStyle === "none" || parseFloat(cs.outlineWidth) < 2) return "no focus ring on " + what;
		return "";
	})()`
	found := map[string][]string{}
	for _, p := range []string{"/tokens", "/tokens/" + tok.ID(), "/tokens/new", "/sessions", "/admin/users", "/admin/service-accounts", "/admin/tokens", "/admin/policy", "/admin/federation", "/admin/audit", "/admin/sso", "/cli-auth", "/device"} {
		b.open(p)
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](mark))
		if err != nil {
			t.Fatal(err)
		}
		reached := 0
		for range n + 10 {
			b.do(chromedp.KeyEvent("\t"))
			msg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](step))
			if err != nil {
				t.Fatal(err)
			}
			if msg == "body" {
				break
			}
			if msg == "again" {
				continue
			}
			if msg != "" {
				found[p] = append(found[p], msg)
				break
			}
			reached++
		}
		if reached < n && len(found[p]) == 0 {
			found[p] = append(found[p], fmt.Sprintf("Tab reached %d of %d controls", reached, n))
		}
	}
	reportPages(t, "pages a keyboard cannot walk", found)
}
