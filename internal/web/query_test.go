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
