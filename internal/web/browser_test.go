package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
)

// waitUntil reloads the page until js is true.
func (b *tab) waitUntil(path, js string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b.open(path)
		if b.eval(js) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: never true: %s\n%s", path, js, b.text("main"))
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// confirmDialog clicks sel, which opens the confirmation dialog, checks its
// question, confirms, and returns the status of the page that follows.
func (b *tab) confirmDialog(sel, question string) int64 {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog[open]")))
	if got := b.text("#confirm-title"); got != question {
		b.t.Fatalf("dialog asks %q, want %q", got, question)
	}
	return b.submit("#confirm-ok")
}

// createTokenInBrowser fills the "New token" form as a new user would and
// returns the secret the page shows once.
func createTokenInBrowser(t *testing.T, b *tab) string {
	b.submit(`a[href="/tokens/new"]`)
	b.see("New token", "Expiration", "Permissions")
	if b.eval(`!document.getElementById("custom-date").hidden`) {
		t.Error("the custom date picker shows though a preset is chosen")
	}
	b.do(chromedp.SetValue(chromedp.CSS("#expiration"), "custom"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("expiration").dispatchEvent(new Event("change"))`))
	if !b.eval(`!document.getElementById("custom-date").hidden`) {
		t.Error("choosing a custom date does not show the date picker")
	}
	b.do(chromedp.SetValue(chromedp.CSS("#expiration"), "30d"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("expiration").dispatchEvent(new Event("change"))`))
	b.typeInto("#name", "deploy")
	b.typeInto("#description", "pushes releases")
	b.do(chromedp.Click(chromedp.CSS(`input[name=access][value=specific]`)))
	if b.eval(`document.getElementById("scope-repo-resources").offsetParent !== null`) {
		t.Error("the pattern box of an unticked scope shows")
	}
	b.do(chromedp.Click(chromedp.CSS("#scope-repo")))
	b.typeInto("#scope-repo-resources", "acme/*")
	b.do(chromedp.Click(chromedp.CSS("#scope-tokens")))
	b.shot("new-token")
	if status := b.submit(`form button[type=submit].btn-primary`); status != 200 {
		t.Fatalf("create token: status %d", status)
	}
	b.see("Token created", "Copy your token now. It will not be shown again.")
	secret := b.value("#secret")
	if !strings.HasPrefix(secret, "lk_pat_") {
		t.Fatalf("the page shows %.7s…, not a personal access token", secret)
	}
	b.do(chromedp.Click(chromedp.CSS("#copy-secret")))
	b.do(chromedp.Poll[chromedp.Void](`document.querySelector(".copy-status").textContent.length > 0`))
	b.shot("token-created")

	return secret
}

func TestBrowserTokenLifecycle(t *testing.T) {
	s := servertest.Start(t)
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)

	secret := createTokenInBrowser(t, b)

	// The secret works against the API, and its use appears on its page.
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("token from the page: API status %d, want 200", got)
	}
	b.submit(`a.btn[href^="/tokens/"]`)
	tokenPath := strings.TrimPrefix(b.location(), s.URL)
	b.waitUntil(tokenPath, `document.getElementById("last-used").textContent.includes("from 127.0.0.1")`)
	if !b.eval(`document.querySelectorAll("svg.usage-chart rect.bar").length === 30 && document.querySelector("figure.chart figcaption").textContent.includes("1 request")`) {
		t.Errorf("the usage chart does not show 30 days with today's request:\n%s", b.text("main"))
	}
	if strings.Contains(b.text("body"), secret) {
		t.Fatal("the token page shows the secret again")
	}

	// Regenerate: the old secret stops, the new one works.
	b.submit(`a[href$="/regenerate"]`)
	b.see("Regenerate deploy", "Keep the old secret working for")
	if status := b.submit(`form button[type=submit].btn-primary`); status != 200 {
		t.Fatalf("regenerate: status %d", status)
	}
	b.see("Token regenerated", "stopped working just now")
	fresh := b.value("#secret")
	if fresh == secret {
		t.Fatal("regenerate showed the old secret")
	}
	if got := apiStatus(t, s, secret); got != http.StatusUnauthorized {
		t.Errorf("old secret after regenerate: %d, want 401", got)
	}
	if got := apiStatus(t, s, fresh); got != http.StatusOK {
		t.Errorf("new secret after regenerate: %d, want 200", got)
	}

	// Revoke through the confirmation dialog; cancelling first changes nothing.
	b.open(tokenPath)
	b.do(chromedp.Click(chromedp.CSS("#revoke")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog[open]")))
	b.do(chromedp.KeyEvent("\x1b"), chromedp.WaitNotVisible(chromedp.CSS("#confirm-dialog")))
	if got := apiStatus(t, s, fresh); got != http.StatusOK {
		t.Fatalf("cancelling the dialog revoked the token: %d", got)
	}
	if status := b.confirmDialog("#revoke", "Revoke deploy?"); status != 200 {
		t.Fatalf("revoke: status %d", status)
	}
	b.see("The token was revoked", "Revoked")
	if got := apiStatus(t, s, fresh); got != http.StatusUnauthorized {
		t.Errorf("revoked token: API status %d, want 401", got)
	}
}

func TestBrowserExpiryBannerAndForgedPosts(t *testing.T) {
	s := servertest.Start(t)
	session := s.AdminSession(t)
	s.CreateToken(t, session, map[string]any{"name": "nightly-backup", "expires_in": "96h", "scopes": []string{"job"}})
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)

	banner := b.text(".banner")
	if !strings.Contains(banner, "nightly-backup") || !strings.Contains(banner, "expires in 4 days") {
		t.Fatalf("banner does not name the expiring token: %q", banner)
	}
	b.open("/admin/policy")
	b.see("nightly-backup")

	// A same-origin post with a made-up CSRF token is refused.
	b.open("/tokens")
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post"; f.action = "/tokens/new";
		for (const [k, v] of [["csrf_token", "forged"], ["name", "forged-token"], ["expiration", "7d"]]) {
			const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit();
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden {
		t.Fatalf("forged same-origin post: status %d, want 403", resp.Status)
	}
	b.see("403", "Not allowed", "security token")

	// A page on another site that posts to the console is refused too.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="post" action="%s/tokens/new"><input name="name" value="evil-token"><input name="expiration" value="7d"></form><button id="go" onclick="document.getElementById('f').submit()">go</button>`, s.URL)
	}))
	defer evil.Close()
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	b.do(chromedp.Navigate(evilURL))
	resp, err = chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS("#go")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden && !strings.HasSuffix(resp.URL, "/login") {
		t.Errorf("cross-site post: status %d at %s, want 403 or the login page", resp.Status, resp.URL)
	}
	b.open("/tokens")
	if body := b.text("main"); strings.Contains(body, "forged-token") || strings.Contains(body, "evil-token") {
		t.Fatalf("a forged post created a token:\n%s", body)
	}
}

func TestBrowserAdminFlows(t *testing.T) {
	s := servertest.Start(t)
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	adminManagesUsers(t, s, b)
	adminCreatesServiceAccountToken(t, s, b)
	adminFiltersAndRevokesTokens(t, s, b)
	adminSetsPolicy(t, b)
	adminReadsAuditLog(t, b)
}

// adminManagesUsers adds a user, changes the role and suspends through the
// dialog.
func adminManagesUsers(t *testing.T, s *servertest.Server, b *tab) {
	b.submit(`nav a[href="/admin/users"]`)
	b.typeInto("#new-username", "mia")
	b.typeInto("#new-password", "short")
	if status := b.submit(`form[action="/admin/users"] button`); status != http.StatusUnprocessableEntity {
		t.Fatalf("short password: status %d, want 422", status)
	}
	b.see("password must be at least 8 characters")
	if got := b.value("#new-username"); got != "mia" {
		t.Errorf("the form forgot the user name: %q", got)
	}
	b.typeInto("#new-password", "mia-password-1")
	b.submit(`form[action="/admin/users"] button`)
	b.see("The user was created", "mia")
	miaSession := s.Login(t, "mia", "mia-password-1")
	b.submit(`#user-mia a[href^="/admin/users/"]`)
	b.do(chromedp.SetValue(chromedp.CSS(`#role`), "admin"))
	b.submit(`form[action$="/role"] button`)
	b.see("The role was changed")
	if b.value(`#role`) != "admin" {
		t.Error("mia's role is not admin after the change")
	}
	if status := b.confirmDialog(`form[action$="/suspend"] button`, "Suspend mia?"); status != 200 {
		t.Fatalf("suspend: status %d", status)
	}
	b.see("The user was suspended")
	if got := apiStatus(t, s, miaSession); got != http.StatusUnauthorized {
		t.Errorf("suspended user's session: %d, want 401", got)
	}
	b.submit(`form[action$="/suspend"] button`)
	b.see("The user was restored")
	b.open("/admin/users")
	if strings.Contains(b.text("#user-mia"), "Suspended") {
		t.Error("mia is still shown as suspended")
	}
	b.shot("admin-users")
}

// adminCreatesServiceAccountToken adds a service account and gives it an
// admin access token.
func adminCreatesServiceAccountToken(t *testing.T, s *servertest.Server, b *tab) {
	b.submit(`nav a[href="/admin/service-accounts"]`)
	b.typeInto("#sa-username", "deploy-bot")
	b.submit(`form[action="/admin/service-accounts"] button`)
	b.see("The service account was created", "deploy-bot")
	b.submit(`a[href^="/tokens/new?user="]`)
	b.see("admin access token")
	b.typeInto("#name", "preview-envs")
	b.do(chromedp.Click(chromedp.CSS(`input[name=access][value=specific]`)), chromedp.Click(chromedp.CSS("#scope-service")), chromedp.Click(chromedp.CSS("#scope-job")))
	b.submit(`form button[type=submit].btn-primary`)
	adm := b.value("#secret")
	if !strings.HasPrefix(adm, "lk_adm_") {
		t.Fatalf("service account token %.7s… is not an admin access token", adm)
	}
	if got := apiStatus(t, s, adm); got != http.StatusOK {
		t.Fatalf("admin access token: API status %d", got)
	}
	b.open("/admin/service-accounts")
	b.see("preview-envs")
	b.shot("admin-service-accounts")
}

// adminFiltersAndRevokesTokens filters every token by user, then revokes
// one through the dialog and comes back to the same filter.
func adminFiltersAndRevokesTokens(t *testing.T, s *servertest.Server, b *tab) {
	s.CreateToken(t, s.Login(t, "mia", "mia-password-1"), map[string]any{"name": "mia-laptop", "scopes": []string{"repo"}})
	b.open("/admin/tokens")
	b.see("mia-laptop", "preview-envs")
	b.shot("admin-tokens")
	b.typeInto("#f-user", "mia")
	b.submit(`form.filters button[type=submit]`)
	if body := b.text("tbody"); !strings.Contains(body, "mia-laptop") || strings.Contains(body, "preview-envs") {
		t.Fatalf("user filter shows the wrong tokens:\n%s", body)
	}
	if status := b.confirmDialog(`tbody form[action$="/revoke"] button`, "Revoke mia-laptop?"); status != 200 {
		t.Fatalf("admin revoke: status %d", status)
	}
	b.see("The token was revoked")
	if b.value("#f-user") != "mia" {
		t.Error("revoking lost the filters")
	}
}

// adminSetsPolicy sees a bad value refused next to its field, then saves a
// good policy that the token form follows at once.
func adminSetsPolicy(t *testing.T, b *tab) {
	b.submit(`nav a[href="/admin/policy"]`)
	b.typeInto("#max_lifetime", "a month")
	if status := b.submit(`form[action="/admin/policy"] button[type=submit]`); status != http.StatusUnprocessableEntity {
		t.Fatalf("bad max lifetime: status %d, want 422", status)
	}
	if !strings.Contains(b.text("#max_lifetime-error"), "not a duration") || b.value("#max_lifetime") != "a month" {
		t.Fatalf("error not shown next to the field, or the input was lost")
	}
	b.typeInto("#max_lifetime", "90d")
	b.typeInto("#default_lifetime", "30d")
	b.submit(`form[action="/admin/policy"] button[type=submit]`)
	// A change that shortens existing tokens is shown first and saved
	// only when sent again.
	if strings.Contains(b.text("body"), "Nothing is saved yet") {
		b.submit(`form[action="/admin/policy"] button[type=submit]`)
	}
	b.see("The token policy was saved")
	b.shot("admin-policy")
	b.open("/tokens/new")
	if b.eval(`[...document.querySelectorAll("#expiration option")].some(o => o.value === "180d" || o.value === "never")`) {
		t.Error("the new maximum lifetime is not applied to the token form")
	}
}

// adminReadsAuditLog reads and filters the audit log.
func adminReadsAuditLog(t *testing.T, b *tab) {
	b.open("/admin/audit")
	b.see("Policy changed", "User suspended", "Token revoked", "max_lifetime", "none → 90d")
	b.shot("admin-audit")
	b.do(chromedp.SetValue(chromedp.CSS("#a-action"), "user."))
	b.submit(`form.filters button[type=submit]`)
	if body := b.text("tbody"); !strings.Contains(body, "User suspended") || strings.Contains(body, "Policy changed") {
		t.Fatalf("action filter shows the wrong events:\n%s", body)
	}
}

func TestBrowserPhoneWidth(t *testing.T) {
	s := servertest.Start(t)
	session := s.AdminSession(t)
	tok := s.CreateToken(t, session, map[string]any{"name": "ci-deploy", "description": "GitHub Actions release job", "scopes": []string{"repo=acme/*", "job"}, "expires_in": "720h"})
	s.CreateToken(t, session, map[string]any{"name": "laptop-git", "scopes": []string{"repo:read"}, "expires_in": "120h"})
	apiStatus(t, s, tok.Secret)
	b := openChromium(t, s.URL, phone)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.see("laptop-git", "expires in 5 days") // 120 h: countdowns round to the nearest day
	for _, path := range []string{"/tokens", "/tokens/new", "/tokens/" + tok.ID(), "/cli-auth", "/admin/users", "/admin/tokens", "/admin/policy", "/admin/audit"} {
		if status := b.open(path); status != 200 {
			t.Errorf("%s at phone width: status %d", path, status)
		}
		b.fitsWidth()
	}
	b.open("/tokens")
	if !b.eval(`getComputedStyle(document.querySelector(".table.responsive thead")).display === "none"`) {
		t.Error("tables are not laid out as cards on a phone")
	}
	b.shot("tokens-phone")
	// Keyboard: the skip link is the first stop and leads to the content.
	b.do(chromedp.KeyEvent("\t"))
	if !b.eval(`document.activeElement.classList.contains("skip-link")`) {
		t.Error("the first Tab does not reach the skip link")
	}
}

func TestBrowserShowsEveryTokenStateAndUsageHistory(t *testing.T) {
	s := servertest.Start(t)
	session := s.AdminSession(t)
	ctx := context.Background()
	ci := s.CreateToken(t, session, map[string]any{"name": "ci-deploy", "description": "GitHub Actions release pipeline",
		"scopes": []string{"repo=acme/*", "job"}, "expires_in": "90d"})
	s.CreateToken(t, session, map[string]any{"name": "laptop-git", "description": "git over HTTPS on my laptop",
		"scopes": []string{"repo:read"}, "expires_in": "5d"})
	old := s.CreateToken(t, session, map[string]any{"name": "old-metrics", "scopes": []string{"service"}, "expires_in": "30d"})
	gone := s.CreateToken(t, session, map[string]any{"name": "leaked-demo", "scopes": []string{"repo"}, "expires_in": "30d"})
	s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+gone.ID(), session, nil, http.StatusNoContent, nil)
	// The store is the test's fixture: a token whose expiry has passed, and
	// three weeks of requests for the chart.
	past := time.Now().Add(-48 * time.Hour)
	if _, err := s.App.Store.UpdateToken(ctx, old.ID(), func(tk *store.Token) error { tk.ExpiresAt = &past; return nil }); err != nil {
		t.Fatal(err)
	}
	counts, total := map[string]int64{}, int64(0)
	for d := 0; d < 21; d++ {
		n := int64(20 + (d*37)%45)
		if d%7 == 5 || d%7 == 6 {
			n /= 4
		}
		counts[time.Now().UTC().AddDate(0, 0, -d).Format(time.DateOnly)] = n
		total += n
	}
	if err := s.App.Store.RecordTokenUse(ctx, []store.TokenUse{{TokenID: ci.ID(), At: time.Now(), IP: "203.0.113.7",
		Agent: "GitHub-Actions/2.317", IPs: []string{"203.0.113.7", "198.51.100.23"}, Counts: counts}}); err != nil {
		t.Fatal(err)
	}

	b := openChromium(t, s.URL, desktop)
	b.open("/login")
	b.shot("login")
	b.login(servertest.AdminUser, servertest.AdminPassword)
	for name, state := range map[string]string{"ci-deploy": "Active", "laptop-git": "Expiring soon", "old-metrics": "Expired", "leaked-demo": "Revoked"} {
		row := fmt.Sprintf(`[...document.querySelectorAll("tbody tr")].find(r => r.textContent.includes(%q))`, name)
		if !b.eval(row + fmt.Sprintf(`?.querySelector(".badge").textContent.trim() === %q`, state)) {
			t.Errorf("%s is not shown with the badge %q", name, state)
		}
	}
	b.see("laptop-git expires in 5 days")
	b.shot("tokens")

	b.open("/tokens/" + ci.ID())
	if got := b.text("figure.chart figcaption strong"); got != fmt.Sprint(total) {
		t.Errorf("chart total %s, want %d", got, total)
	}
	if !b.eval(`[...document.querySelectorAll("svg.usage-chart rect.bar")].filter(r => +r.getAttribute("height") > 0).length === 21`) {
		t.Error("the chart does not show a bar for each of the 21 days with requests")
	}
	if !b.eval(`document.querySelector("svg.usage-chart title").textContent.startsWith("Requests per day")`) {
		t.Error("the chart has no accessible title")
	}
	b.see("203.0.113.7", "198.51.100.23", "GitHub-Actions/2.317")
	b.shot("token")
}

// TestBrowserFocusRingIsVisible: every link and button Tab reaches on the
// token list shows a focus indicator, a solid outline of at least 2 px
// whose colour contrasts 3:1 with the background around it (WCAG 1.4.11).
// Text fields show theirs as a border in the primary colour, and are left
// out here.
func TestBrowserFocusRingIsVisible(t *testing.T) {
	s := servertest.Start(t)
	session := s.AdminSession(t)
	s.CreateToken(t, session, map[string]any{"name": "ci-deploy", "scopes": []string{"repo:read"}, "expires_in": "720h"})
	b := openChromium(t, s.URL, desktop)
	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.open("/tokens")
	const judge = `(() => {
		const el = document.activeElement;
		if (!el || el === document.body || el.matches("input:not([type=checkbox]):not([type=radio]), select, textarea")) return "";
		const cs = getComputedStyle(el);
		const what = el.outerHTML.slice(0, 80);
		if (cs.outlineStyle === "none" || parseFloat(cs.outlineWidth) < 2) return what + ": outline " + cs.outlineStyle + " " + cs.outlineWidth;
		const rgb = s => s.match(/[\d.]+/g).map(Number);
		const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
		let bg = [255, 255, 255];
		for (let p = el.parentElement; p; p = p.parentElement) {
			const c = rgb(getComputedStyle(p).backgroundColor);
			if (c.length === 3 || c[3] === 1) { bg = c; break; }
		}
		const oc = rgb(cs.outlineColor);
		if (oc.length === 4 && oc[3] < 1) return what + ": translucent outline " + cs.outlineColor;
		const [hi, lo] = [lum(oc), lum(bg)].sort((x, y) => y - x);
		const ratio = (hi + 0.05) / (lo + 0.05);
		return ratio >= 3 ? "" : what + ": outline " + cs.outlineColor + " on " + bg + " is " + ratio.toFixed(2) + ":1";
	})()`
	judged := 0
	for range 15 {
		b.do(chromedp.KeyEvent("\t"))
		msg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](judge))
		if err != nil {
			t.Fatalf("evaluate: %v", err)
		}
		if msg != "" {
			t.Errorf("focus indicator too faint: %s", msg)
		}
		if b.eval(`document.activeElement.matches("a, button, input[type=checkbox], input[type=radio]")`) {
			judged++
		}
	}
	if judged < 5 {
		t.Errorf("Tab reached only %d links or buttons on /tokens; the check saw too little", judged)
	}
}

// A form sent back with what was wrong says so in the page's title and puts
// focus on the error summary, which links to each field to fix.
func TestBrowserFormErrorsTakeFocus(t *testing.T) {
	s := servertest.Start(t)
	session := s.AdminSession(t)
	s.CreateToken(t, session, map[string]any{"name": "taken", "expires_in": "720h"})
	b := openChromium(t, s.URL, desktop)

	b.open("/login")
	b.typeInto("#username", servertest.AdminUser)
	b.typeInto("#password", "not the password")
	if status := b.submit("form button[type=submit]"); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d, want 401", status)
	}
	focusIs := func(sel string) {
		t.Helper()
		b.do(chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
		if !b.eval(fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)) {
			got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 120)`))
			t.Errorf("%s: focus is on %s, want %s", b.location(), got, sel)
		}
		if title, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.title`)); !strings.HasPrefix(title, "Error: ") {
			t.Errorf("%s: title %q does not begin with Error:", b.location(), title)
		}
	}
	focusIs("#form-error")

	b.login(servertest.AdminUser, servertest.AdminPassword)
	b.open("/tokens/new")
	if b.eval(`document.title.startsWith("Error")`) {
		t.Error("a fresh form's title says Error")
	}
	b.typeInto("#name", "taken")
	if status := b.submit(`form button[type=submit].btn-primary`); status != http.StatusConflict {
		t.Fatalf("duplicate name: status %d, want 409", status)
	}
	focusIs("#form-error")
	b.do(chromedp.Click(chromedp.CSS(`#form-error a[href="#name-error"]`)))
	if !b.eval(`document.activeElement.id === "name"`) {
		t.Error("following the summary's link does not put focus in the Name field")
	}
}
