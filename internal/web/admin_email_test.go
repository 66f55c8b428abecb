package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// emailInRow is the value of the email field in username's row.
func emailInRow(t *testing.T, p page, username string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr id="user-` + regexp.QuoteMeta(username) + `">.*?data-label="Email">(.*?)</td>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no email cell in %s's row:\n%s", username, p.Body)
	}
	if strings.Contains(m[1], "none") {
		return ""
	}
	return m[1]
}

func TestAdminSetsUsersEmailForNotices(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)

	p := b.get(t, "/admin/users")
	p = b.post(t, "/admin/users", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {"noa"}, "password": {"noa-password-1"}, "role": {"member"}, "email": {"Noa <noa@example.org>"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid email: status %d, want 422", p.Status)
	}
	mustContain(t, p, `id="email-error"`, "not an email address", `value="noa"`, `value="Noa &lt;noa@example.org&gt;"`)

	p = b.post(t, "/admin/users", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {"noa"}, "password": {"noa-password-1"}, "role": {"member"}, "email": {"noa@example.org"}})
	mustContain(t, p, "The user was created")
	if got := emailInRow(t, p, "noa"); got != "noa@example.org" {
		t.Fatalf("noa's row shows email %q", got)
	}
	noa := userIDOf(t, p, "noa")
	csrf := csrfOf(t, p)

	p = b.post(t, "/admin/users/"+noa+"/email", url.Values{"csrf_token": {csrf}, "email": {"noa@work.example"}})
	mustContain(t, p, "The email address was saved")
	if got := emailInRow(t, p, "noa"); got != "noa@work.example" {
		t.Fatalf("after the change noa's row shows %q", got)
	}
	var u struct {
		Email string `json:"email"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/users/"+noa, s.AdminSession(t), nil, http.StatusOK, &u)
	if u.Email != "noa@work.example" {
		t.Fatalf("the API shows %q after the console changed it", u.Email)
	}

	p = b.post(t, "/admin/users/"+noa+"/email", url.Values{"csrf_token": {csrf}, "email": {"nope"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid email change: status %d, want 422", p.Status)
	}
	mustContain(t, p, `role="alert"`, "not an email address")

	p = b.post(t, "/admin/users/"+noa+"/email", url.Values{"csrf_token": {csrf}, "email": {""}})
	mustContain(t, p, "The email address was saved")
	if got := emailInRow(t, p, "noa"); got != "" {
		t.Fatalf("after removing it noa's row shows %q", got)
	}
}
