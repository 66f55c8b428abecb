package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/web"
)

// hostSessionCookie is the session cookie's name over HTTPS at the root of
// a host: the __Host- prefix makes browsers refuse it from a sibling
// subdomain or a plain-HTTP page, so nobody can plant a session of theirs.
const hostSessionCookie = "__Host-" + web.SessionCookie

// rawLogin signs in through the login form, sending header on every
// request, and returns the login answer's session cookie (any name).
func rawLogin(t *testing.T, s *servertest.Server, header http.Header) *http.Cookie {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/login", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var loginCookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if strings.Contains(ck.Name, "login") {
			loginCookie = ck
		}
	}
	if loginCookie == nil {
		t.Fatalf("the login page set no CSRF cookie: %v", resp.Header["Set-Cookie"])
	}
	form := url.Values{"csrf_token": {csrfOf(t, page{Body: string(body)})}, "username": {servertest.AdminUser}, "password": {servertest.AdminPassword}}
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader(form.Encode()))
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCookie.Name, Value: loginCookie.Value})
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, web.SessionCookie) && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("login set no session cookie (status %d): %v", resp.StatusCode, resp.Header["Set-Cookie"])
	return nil
}

// consoleStatus asks for /tokens with the given cookie and header and
// returns the status (303 to the login page when the cookie is refused).
func consoleStatus(t *testing.T, s *servertest.Server, ck *http.Cookie, header http.Header) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/tokens", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	req.AddCookie(ck)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A console a proxy mounts under a path (X-Forwarded-Prefix) shares its
// host with other applications: a session cookie on "/" would be sent to
// every one of them, which could then act as the user.
func TestSessionCookieOfAConsoleUnderAPrefixStaysUnderIt(t *testing.T) {
	s := servertest.Start(t, "--trusted-proxies", "127.0.0.1/32,::1/128")
	viaProxy := http.Header{"X-Forwarded-Prefix": {"/latchkey"}}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/login", nil)
	req.Header = viaProxy.Clone()
	mustContain(t, newBrowser(t, s).do(t, req), `action="/latchkey/login"`)
	ck := rawLogin(t, s, viaProxy)
	if ck.Path != "/latchkey/" {
		t.Fatalf("session cookie Path=%q under the prefix /latchkey; want /latchkey/, so other applications on the host never receive it", ck.Path)
	}
	if got := consoleStatus(t, s, &http.Cookie{Name: ck.Name, Value: ck.Value}, viaProxy); got != http.StatusOK {
		t.Fatalf("the cookie set under the prefix does not open the console: status %d", got)
	}
}

// Only a trusted proxy may say where the console is mounted: from anyone
// else X-Forwarded-Prefix is ignored, as every other forwarding header is.
func TestForwardedPrefixIsIgnoredFromAnUntrustedPeer(t *testing.T) {
	s := servertest.Start(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/login", nil)
	req.Header.Set("X-Forwarded-Prefix", "/elsewhere")
	p := newBrowser(t, s).do(t, req)
	if !strings.Contains(p.Body, `action="/login"`) || strings.Contains(p.Body, "/elsewhere") {
		t.Fatalf("X-Forwarded-Prefix from a peer outside --trusted-proxies changed the page:\n%s", p.Body)
	}
	if ck := rawLogin(t, s, http.Header{"X-Forwarded-Prefix": {"/elsewhere"}}); ck.Path != "/" {
		t.Fatalf("X-Forwarded-Prefix from an untrusted peer scoped the session cookie to %q", ck.Path)
	}
}

// Over HTTPS the session cookie is Secure and carries the __Host- prefix,
// and a cookie of the plain name (which a sibling subdomain or a
// plain-HTTP page can set) is not taken for a session.
func TestSessionCookieIsHostPrefixedOverHTTPSAndAPlantedOneIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		header http.Header
	}{
		{"https public URL", []string{"--public-url", "https://latchkey.example.com"}, nil},
		{"TLS-terminating trusted proxy", []string{"--trusted-proxies", "127.0.0.1/32,::1/128"}, http.Header{"X-Forwarded-Proto": {"https"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := servertest.Start(t, tc.args...)
			ck := rawLogin(t, s, tc.header)
			if ck.Name != hostSessionCookie || !ck.Secure || ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Fatalf("session cookie %s Secure=%v Path=%q HttpOnly=%v SameSite=%v; want %s, Secure, Path=/, HttpOnly, Lax",
					ck.Name, ck.Secure, ck.Path, ck.HttpOnly, ck.SameSite, hostSessionCookie)
			}
			if got := consoleStatus(t, s, &http.Cookie{Name: ck.Name, Value: ck.Value}, tc.header); got != http.StatusOK {
				t.Fatalf("the __Host- cookie does not open the console: status %d", got)
			}
			planted := s.Login(t, servertest.AdminUser, servertest.AdminPassword) // a valid session of "the attacker"
			if got := consoleStatus(t, s, &http.Cookie{Name: web.SessionCookie, Value: planted}, tc.header); got != http.StatusSeeOther {
				t.Fatalf("a plain %s cookie opened the console over HTTPS (status %d): a planted session would be used", web.SessionCookie, got)
			}
		})
	}
	t.Run("plain http keeps the plain name", func(t *testing.T) {
		s := servertest.Start(t)
		if ck := rawLogin(t, s, http.Header{"X-Forwarded-Proto": {"https"}}); ck.Name != web.SessionCookie || ck.Secure {
			t.Fatalf("over plain HTTP (X-Forwarded-Proto from an untrusted peer) the cookie is %s Secure=%v; want %s, not Secure", ck.Name, ck.Secure, web.SessionCookie)
		}
	})
}
