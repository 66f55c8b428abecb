package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// A console filter given twice in the address (?action=user.&action=token.)
// is refused on a readable page naming it, as the API refuses it: a proxy
// that reads the last value must not see another request than the one the
// console answers (HTTP parameter pollution).
func TestConsoleFilterGivenTwiceIsRefusedNotAnsweredForTheFirst(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "mia", "mia-password-1", "member", "person")
	mia := s.Login(t, "mia", "mia-password-1")
	s.CreateToken(t, mia, map[string]any{"name": "mia-repo", "scopes": []string{"repo"}})
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	for _, c := range []struct{ path, param, hidden string }{
		{"/admin/audit?action=user.&action=token.create", "action", "User created"},
		{"/admin/tokens?user=mia&user=admin", "user", "mia-repo"},
		{"/admin/tokens?state=active&state=revoked", "state", "mia-repo"},
		{"/admin/audit?cursor=1&cursor=2", "cursor", "User created"},
	} {
		p := b.get(t, c.path)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, c.param+" was given 2 times") {
			t.Errorf("GET %s: status %d, want 400 saying %q:\n%s", c.path, p.Status, c.param+" was given 2 times", tbody(p))
			continue
		}
		if strings.Contains(tbody(p), c.hidden) {
			t.Errorf("GET %s lists results for one of the values: %s", c.path, tbody(p))
		}
	}
}

// Every other single-valued parameter the console reads from the address
// (cursor, page, next, msg, again, the device page's user_code and result, the
// new-token link's prefill) follows the same rule: given twice, a 400 page
// in the console's look naming it, never an answer for the first value.
// next stays a redirect to a local path only.
func TestConsoleParameterGivenTwiceIsRefusedOnEveryPage(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	tok := s.CreateToken(t, s.AdminSession(t), map[string]any{"name": "pollution", "scopes": []string{"repo"}})
	for _, c := range []struct{ path, param string }{
		{"/tokens?cursor=a&cursor=b", "cursor"},
		{"/sessions?cursor=a&cursor=b", "cursor"},
		{"/admin/users?cursor=a&cursor=b", "cursor"},
		{"/admin/service-accounts?cursor=a&cursor=b", "cursor"},
		{"/tokens?cursor=a&page=2&page=3", "page"},
		{"/tokens?msg=ended&msg=revoked", "msg"},
		{"/admin/users?msg=ended&msg=revoked", "msg"},
		{"/login?next=/tokens&next=//evil.example/", "next"},
		{"/login?again=1&again=0", "again"},
		{"/tokens/" + tok.ID() + "/revoke?next=/tokens&next=//evil.example/", "next"},
		{"/tokens/new?name=a&name=b", "name"},
		{"/tokens/new?user=admin&user=someone", "user"},
		{"/tokens/new?expires_in=7d&expires_in=30d", "expires_in"},
		{"/device?user_code=ABCD-EFGH&user_code=WXYZ-WXYZ", "user_code"},
		{"/device?result=approved&result=denied", "result"},
		{"/static/app.css?v=a&v=b", "v"},
	} {
		p := b.get(t, c.path)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, c.param+" was given 2 times") || !strings.Contains(p.Body, `class="error-page"`) {
			t.Errorf("GET %s: status %d, want the 400 error page saying %q:\n%.1500s", c.path, p.Status, c.param+" was given 2 times", p.Body)
		}
	}
	// Signed out: the login page refuses before any redirect is built.
	out := newBrowser(t, s)
	if p := out.get(t, "/login?next=/tokens&next=https://evil.example/"); p.Status != http.StatusBadRequest {
		t.Errorf("signed out, next twice: status %d; want 400", p.Status)
	}
	// Once, next still only leads to a path of this console (the browser
	// follows redirects within the console only).
	if p := b.get(t, "/login?next=//evil.example/"); p.Status != http.StatusOK || !strings.Contains(p.Body, "<h1>Access tokens</h1>") {
		t.Errorf("next=//evil.example/ when signed in: %d; want the token list", p.Status)
	}
}
