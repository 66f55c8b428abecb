package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/web"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

func TestConsolePagesSendStrictSecurityHeaders(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	check := func(t *testing.T, p page) {
		t.Helper()
		for k, want := range map[string]string{
			"Content-Security-Policy": wantCSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		} {
			if got := p.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, "onclick=") {
			t.Errorf("page has inline script or style, which the CSP blocks")
		}
	}
	t.Run("login", func(t *testing.T) { check(t, b.get(t, "/login")) })
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	for _, path := range []string{"/tokens", "/tokens/new", "/cli-auth", "/admin/users", "/admin/service-accounts", "/admin/tokens", "/admin/policy", "/admin/audit", "/tokens/nope/x"} {
		t.Run(path, func(t *testing.T) { check(t, b.get(t, path)) })
	}
}

func TestSessionCookieIsHttpOnlyLaxAndSecureBehindHTTPS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		secure bool
		cookie string
	}{
		{"plain http", nil, false, web.SessionCookie},
		{"https public URL", []string{"--public-url", "https://latchkey.example.com"}, true, "__Host-" + web.SessionCookie},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := servertest.Start(t, tc.args...)
			b := newBrowser(t, s)
			form := url.Values{"csrf_token": {csrfOf(t, b.get(t, "/login"))}, "username": {servertest.AdminUser}, "password": {servertest.AdminPassword}}
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var c *http.Cookie
			for _, x := range resp.Cookies() {
				if x.Name == tc.cookie && x.Value != "" {
					c = x
				}
			}
			if c == nil {
				t.Fatalf("login set no %s cookie (status %d)", tc.cookie, resp.StatusCode)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tc.secure {
				t.Errorf("cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v; want HttpOnly, Lax, /, Secure=%v", c.HttpOnly, c.SameSite, c.Path, c.Secure, tc.secure)
			}
			if !strings.HasPrefix(c.Value, "lk_ses_") {
				t.Errorf("cookie value is not a session token: %.7s…", c.Value)
			}
		})
	}
}

func TestForgedFormPostsAreRefusedWith403(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	other := newBrowser(t, s)
	other.login(t, servertest.AdminUser, servertest.AdminPassword)
	otherCSRF := csrfOf(t, other.get(t, "/tokens/new"))
	create := func(csrf string) url.Values {
		return url.Values{"csrf_token": {csrf}, "name": {"forged"}, "expiration": {"7d"}, "access": {"specific"}, "scope": {"repo"}}
	}
	cases := []struct {
		name string
		send func() page
	}{
		{"no token", func() page { return b.post(t, "/tokens/new", create("")) }},
		{"made-up token", func() page { return b.post(t, "/tokens/new", create("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")) }},
		{"another session's token", func() page { return b.post(t, "/tokens/new", create(otherCSRF)) }},
		{"cross-site with a valid token", func() page {
			form := create(csrfOf(t, b.get(t, "/tokens/new")))
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/tokens/new", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			return b.do(t, req)
		}},
		{"logout without token", func() page { return b.post(t, "/logout", url.Values{}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.send()
			if p.Status != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body:\n%s", p.Status, p.Body)
			}
			mustContain(t, p, "<p class=\"error-code\">403</p>", "refused")
		})
	}
	// None of them created a token, and the session still works.
	p := b.get(t, "/tokens")
	if strings.Contains(p.Body, "forged") {
		t.Fatalf("a forged post created a token:\n%s", p.Body)
	}
	t.Run("login form without its cookie", func(t *testing.T) {
		fresh := newBrowser(t, s)
		p := fresh.post(t, "/login", url.Values{"csrf_token": {"x"}, "username": {servertest.AdminUser}, "password": {servertest.AdminPassword}})
		if p.Status != http.StatusForbidden || fresh.cookie(web.SessionCookie) != nil {
			t.Fatalf("login CSRF: status %d, session cookie %v", p.Status, fresh.cookie(web.SessionCookie))
		}
	})
}

func TestUnknownConsolePathsShow404PageAndOtherRoutesKeepTheirOwn(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	for _, path := range []string{"/tokens/0190b3c4-0000-7000-8000-000000000000", "/tokens/not-an-id", "/tokens/a/b/c", "/admin/nothing-here", "/static/nope.css"} {
		t.Run(path, func(t *testing.T) {
			p := b.get(t, path)
			if p.Status != http.StatusNotFound || !strings.Contains(p.Body, `<p class="error-code">404</p>`) {
				t.Fatalf("status %d, want the console's 404 page:\n%s", p.Status, p.Body)
			}
			if strings.Contains(p.Body, "goroutine") || strings.Contains(p.Body, ".go:") {
				t.Fatalf("404 page shows internals:\n%s", p.Body)
			}
		})
	}
	for path, want := range map[string]string{
		"/api/v1/nothing": "application/problem+json",
		"/healthz":        "text/plain",
		"/readyz":         "text/plain",
		"/metrics":        "text/plain",
	} {
		t.Run(path, func(t *testing.T) {
			p := b.get(t, path)
			if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) || strings.Contains(p.Body, "error-code") {
				t.Fatalf("%s answered %d %q by the console; want %s from its own handler", path, p.Status, ct, want)
			}
		})
	}
	if p := b.get(t, "/"); !strings.Contains(p.Body, "<h1>Access tokens</h1>") {
		t.Fatalf("/ did not lead a signed-in user to their tokens:\n%s", p.Body)
	}
	if p := newBrowser(t, s).get(t, "/"); !strings.Contains(p.Body, "<h1>Log in</h1>") {
		t.Fatalf("/ did not lead a visitor to the login page:\n%s", p.Body)
	}
}

func TestMembersGet403OnAdminPages(t *testing.T) {
	s := servertest.Start(t)
	s.CreateUser(t, s.AdminSession(t), "mia", "mia-password-1", "member", "person")
	b := newBrowser(t, s)
	b.login(t, "mia", "mia-password-1")
	if strings.Contains(b.get(t, "/tokens").Body, "/admin/users") {
		t.Errorf("a member's navigation links to the admin pages")
	}
	for _, path := range []string{"/admin/users", "/admin/service-accounts", "/admin/tokens", "/admin/policy", "/admin/audit"} {
		p := b.get(t, path)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, `<p class="error-code">403</p>`) {
			t.Errorf("%s: status %d, want the 403 page", path, p.Status)
		}
	}
	p := b.post(t, "/admin/policy", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/tokens/new"))}, "creation": {"admins"}})
	if p.Status != http.StatusForbidden {
		t.Errorf("member POST /admin/policy: status %d, want 403", p.Status)
	}
}

func TestSignedOutVisitorsReturnToTheLinkAfterLogin(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	p := b.get(t, "/tokens/new?name=ci&scopes=repo:read&expires_in=720h")
	mustContain(t, p, "<h1>Log in</h1>")
	form := url.Values{"csrf_token": {csrfOf(t, p)}, "username": {servertest.AdminUser}, "password": {servertest.AdminPassword},
		"next": {regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(p.Body)[1]}}
	form.Set("next", strings.ReplaceAll(form.Get("next"), "&amp;", "&"))
	p = b.post(t, "/login", form)
	mustContain(t, p, "<h1>New token</h1>", `value="ci"`)

	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		c := newBrowser(t, s)
		login := c.get(t, "/login")
		p := c.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, login)}, "username": {servertest.AdminUser}, "password": {servertest.AdminPassword}, "next": {next}})
		if !strings.Contains(p.Body, "<h1>Access tokens</h1>") {
			t.Errorf("next=%q did not stay on the site: status %d location %q", next, p.Status, p.Location)
		}
	}
}

func TestWrongPasswordKeepsUserNameAndSaysWhy(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	p := b.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/login"))}, "username": {"admin"}, "password": {"wrong-password"}})
	if p.Status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", p.Status)
	}
	mustContain(t, p, "wrong user name or password", `value="admin"`)
	if b.cookie(web.SessionCookie) != nil {
		t.Fatal("a failed login set a session cookie")
	}
}

func TestStaticAssetsAreVersionedAndCached(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	login := b.get(t, "/login")
	m := regexp.MustCompile(`href="(/static/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatalf("login page links no versioned stylesheet:\n%s", login.Body)
	}
	p := b.get(t, m[1])
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/css") || !strings.Contains(p.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("stylesheet: status %d, type %q, cache %q", p.Status, p.Header.Get("Content-Type"), p.Header.Get("Cache-Control"))
	}
	js := b.get(t, "/static/app.js")
	if js.Status != http.StatusOK || !strings.Contains(js.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("script: status %d, type %q", js.Status, js.Header.Get("Content-Type"))
	}
}

func TestConsoleWorksOnItsOwnHostWithACatchAllUpstream(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("the upstream app"))
	}))
	defer upstream.Close()
	// The test reaches the server as 127.0.0.1 (the console host) and as
	// localhost (the proxied app's host).
	s := servertest.Start(t, "--upstream", upstream.URL, "--console-host", "127.0.0.1")
	b := newBrowser(t, s)
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(s.URL, "127.0.0.1", "localhost", 1)+"/login", nil)
	if p := b.do(t, req); strings.Contains(p.Body, "<h1>Log in</h1>") || !strings.Contains(p.Body, "no route rule allows GET /login") {
		t.Fatalf("on the app's host, /login should belong to the upstream, not the console: %d %.300s", p.Status, p.Body)
	}
	p := b.get(t, "/login")
	mustContain(t, p, "<h1>Log in</h1>", `action="/login"`, `href="/static/app.css?v=`)
	p = b.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {servertest.AdminUser}, "password": {servertest.AdminPassword}})
	mustContain(t, p, "<h1>Access tokens</h1>", `href="/tokens/new"`, `action="/logout"`)
	p = b.get(t, "/tokens/new")
	p = b.post(t, "/tokens/new", url.Values{"csrf_token": {csrfOf(t, p)}, "name": {"behind-proxy"}, "expiration": {"7d"}, "access": {"specific"}, "scope": {"job"}})
	secret := secretOf(t, p)
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("token created on the console host: API status %d", got)
	}
	p = b.post(t, "/tokens/"+tokenIDOf(t, p)+"/revoke", url.Values{"csrf_token": {csrfOf(t, p)}, "confirm": {"yes"}})
	mustContain(t, p, "The token was revoked")
}

func TestForwardedPrefixThatIsNotAPathIsIgnored(t *testing.T) {
	// From a trusted proxy, as only a trusted proxy's prefix is read at all.
	s := servertest.Start(t, "--trusted-proxies", "127.0.0.1/32,::1/128")
	for _, prefix := range []string{"//evil.example", "/a b", "javascript:alert(1)", "/x/../y", `/"><script>`} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/login", nil)
		req.Header.Set("X-Forwarded-Prefix", prefix)
		p := newBrowser(t, s).do(t, req)
		if !strings.Contains(p.Body, `action="/login"`) {
			t.Errorf("X-Forwarded-Prefix %q changed the links:\n%s", prefix, p.Body)
		}
	}
}
