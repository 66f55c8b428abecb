package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// userIDOf finds the id of username in the users table.
func userIDOf(t *testing.T, p page, username string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr id="user-` + regexp.QuoteMeta(username) + `">.*?href="/admin/users/([0-9a-f-]{36})"`)
	m := re.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("user %s not in the table:\n%s", username, p.Body)
	}
	return m[1]
}

// tbody returns the rows of the page's tables, without navigation, banner
// or filter forms.
func tbody(p page) string {
	return strings.Join(regexp.MustCompile(`(?s)<tbody>.*?</tbody>`).FindAllString(p.Body, -1), "\n")
}

func TestAdminManagesUsersAndTheirAccessStopsAtOnce(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)

	p := b.get(t, "/admin/users")
	p = b.post(t, "/admin/users", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {"bad name!"}, "password": {"short"}, "role": {"member"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid user: status %d, want 422", p.Status)
	}
	mustContain(t, p, `id="username-error"`, `value="bad name!"`)

	p = b.post(t, "/admin/users", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {"mia"}, "password": {"short"}, "role": {"member"}})
	mustContain(t, p, `id="password-error"`, "at least 8 characters", `value="mia"`)

	p = b.post(t, "/admin/users", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {"mia"}, "password": {"mia-password-1"}, "role": {"member"}})
	mustContain(t, p, "The user was created", `<tr id="user-mia">`)
	mia := userIDOf(t, p, "mia")
	csrf := csrfOf(t, p)

	// mia works, with a token and a session.
	miaSession := s.Login(t, "mia", "mia-password-1")
	miaToken := s.CreateToken(t, miaSession, map[string]any{"name": "mia-ci", "scopes": []string{"repo:read"}})

	p = b.post(t, "/admin/users/"+mia+"/role", url.Values{"csrf_token": {csrf}, "role": {"admin"}})
	mustContain(t, p, "The role was changed")
	if !regexp.MustCompile(`(?s)<tr id="user-mia">.*?data-label="Role">admin<`).MatchString(p.Body) {
		t.Fatalf("mia's role did not change to admin:\n%s", p.Body)
	}

	p = b.post(t, "/admin/users/"+mia+"/suspend", url.Values{"csrf_token": {csrf}, "suspended": {"true"}})
	mustContain(t, p, "The user was suspended", "Suspended")
	for name, secret := range map[string]string{"session": miaSession, "token": miaToken.Secret} {
		if got := apiStatus(t, s, secret); got != http.StatusUnauthorized {
			t.Errorf("suspended user's %s: API status %d, want 401", name, got)
		}
	}
	p = b.post(t, "/admin/users/"+mia+"/suspend", url.Values{"csrf_token": {csrf}, "suspended": {"false"}})
	mustContain(t, p, "The user was restored")
	if got := apiStatus(t, s, miaToken.Secret); got != http.StatusOK {
		t.Errorf("restored user's token: API status %d, want 200", got)
	}

	// Each user has a page with the forms; the table only lists.
	up := b.get(t, "/admin/users/"+mia)
	mustContain(t, up, `action="/admin/users/`+mia+`/email"`, `action="/admin/users/`+mia+`/role"`, `<option value="admin" selected>`, "Suspend mia")
	up = b.post(t, "/admin/users/"+mia+"/email", url.Values{"csrf_token": {csrf}, "email": {"mia@example.com"}, "from": {"user"}})
	mustContain(t, up, "The email address was saved", `value="mia@example.com"`, "<h1>mia")
	if strings.Contains(tbody(b.get(t, "/admin/users")), "<form") {
		t.Error("the users table still holds forms; editing belongs on the user's page")
	}

	// Refusals show next to the row, not as a crash.
	admin := userIDOf(t, p, servertest.AdminUser)
	p = b.post(t, "/admin/users/"+admin+"/suspend", url.Values{"csrf_token": {csrf}, "suspended": {"true"}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "cannot suspend yourself") {
		t.Fatalf("suspending yourself: status %d:\n%s", p.Status, p.Body)
	}

	p = b.post(t, "/admin/users/"+mia+"/delete", url.Values{"csrf_token": {csrf}})
	mustContain(t, p, "Delete mia?", `name="confirm" value="yes"`)
	p = b.post(t, "/admin/users/"+mia+"/delete", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}})
	mustContain(t, p, "The account was deleted")
	if strings.Contains(p.Body, `<tr id="user-mia">`) {
		t.Fatal("deleted user still listed")
	}
	if got := apiStatus(t, s, miaToken.Secret); got != http.StatusUnauthorized {
		t.Errorf("deleted user's token: API status %d, want 401", got)
	}
}

func TestServiceAccountGetsAnAdminAccessToken(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p := b.get(t, "/admin/service-accounts")
	mustContain(t, p, "No service accounts yet")
	p = b.post(t, "/admin/service-accounts", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {"deploy-bot"}, "role": {"member"}})
	mustContain(t, p, "The service account was created", "deploy-bot", "No tokens yet.")
	m := regexp.MustCompile(`href="/tokens/new\?user=([0-9a-f-]{36})"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no link to create an admin access token:\n%s", p.Body)
	}
	p = b.get(t, "/tokens/new?user="+m[1])
	mustContain(t, p, "for <strong>deploy-bot</strong>", "admin access token", `name="user_id" value="`+m[1]+`"`)
	if strings.Contains(p.Body, `value="super"`) || strings.Contains(p.Body, `value="admin:org"`) {
		t.Error("a member service account is offered admin permissions")
	}
	p = b.post(t, "/tokens/new", url.Values{"csrf_token": {csrfOf(t, p)}, "user_id": {m[1]}, "name": {"previews"},
		"expiration": {"90d"}, "access": {"specific"}, "scope": {"service", "job"}})
	secret := secretOf(t, p)
	if !strings.HasPrefix(secret, "lk_adm_") {
		t.Fatalf("service account token %.7s… is not an admin access token", secret)
	}
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("admin access token: API status %d, want 200", got)
	}
	mustContain(t, b.get(t, "/admin/service-accounts"), "previews", "<code>job</code>", "Active")
	if strings.Contains(b.get(t, "/tokens").Body, "previews") {
		t.Error("the service account's token is listed among the admin's own tokens")
	}
}

func TestAllTokensFiltersAndRevokes(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "mia", "mia-password-1", "member", "person")
	mia := s.Login(t, "mia", "mia-password-1")
	miaTok := s.CreateToken(t, mia, map[string]any{"name": "mia-repo", "scopes": []string{"repo"}})
	s.CreateToken(t, mia, map[string]any{"name": "mia-jobs", "scopes": []string{"job"}})
	s.CreateToken(t, admin, map[string]any{"name": "admin-soon", "scopes": []string{"job"}, "expires_in": "48h"})

	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p := b.get(t, "/admin/tokens")
	mustContain(t, p, "mia-repo", "mia-jobs", "admin-soon")
	for _, tc := range []struct {
		query     string
		want, not []string
	}{
		{"user=mia", []string{"mia-repo", "mia-jobs"}, []string{"admin-soon"}},
		{"scope=job", []string{"mia-jobs", "admin-soon"}, []string{"mia-repo"}},
		{"state=expiring", []string{"admin-soon"}, []string{"mia-repo", "mia-jobs"}},
		{"user=mia&scope=repo", []string{"mia-repo"}, []string{"mia-jobs", "admin-soon"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			p := b.get(t, "/admin/tokens?"+tc.query)
			mustContain(t, p, tc.want...)
			for _, n := range tc.not {
				if strings.Contains(tbody(p), ">"+n+"<") {
					t.Errorf("filter %s shows %s", tc.query, n)
				}
			}
		})
	}
	p = b.get(t, "/admin/tokens?user=nobody")
	if p.Status != http.StatusNotFound && p.Status != http.StatusUnprocessableEntity {
		t.Errorf("unknown user filter: status %d", p.Status)
	}
	mustContain(t, p, `id="user-error"`, `value="nobody"`)

	p = b.get(t, "/admin/tokens?user=mia")
	p = b.post(t, "/tokens/"+miaTok.ID()+"/revoke", url.Values{"csrf_token": {csrfOf(t, p)}, "confirm": {"yes"}, "next": {"/admin/tokens?user=mia"}})
	mustContain(t, p, "The token was revoked", `value="mia"`)
	if got := apiStatus(t, s, miaTok.Secret); got != http.StatusUnauthorized {
		t.Errorf("token revoked by an admin: API status %d, want 401", got)
	}
	mustContain(t, b.get(t, "/admin/tokens?state=revoked"), "mia-repo")
}

func TestPolicyFormValidatesAndAppliesAtOnce(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p := b.get(t, "/admin/policy")
	mustContain(t, p, `value="180d"`, `id="allow_no_expiry" name="allow_no_expiry" checked`)
	csrf := csrfOf(t, p)

	p = b.post(t, "/admin/policy", url.Values{"csrf_token": {csrf}, "default_lifetime": {"90d"}, "max_lifetime": {"30d"}, "creation": {"everyone"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("default above maximum: status %d, want 422", p.Status)
	}
	mustContain(t, p, `id="default_lifetime-error"`, "is longer than the maximum lifetime", `value="90d"`, `value="30d"`)

	p = b.post(t, "/admin/policy", url.Values{"csrf_token": {csrf}, "default_lifetime": {"soon"}, "creation": {"everyone"}})
	mustContain(t, p, `id="default_lifetime-error"`, `value="soon"`)

	// A forged choice: the radio group's error is linked to its group.
	p = b.post(t, "/admin/policy", url.Values{"csrf_token": {csrf}, "default_lifetime": {"7d"}, "creation": {"robots"}})
	mustContain(t, p, `<fieldset class="field" aria-describedby="creation-error">`, `<p class="field-error" id="creation-error">`)

	p = b.post(t, "/admin/policy", url.Values{"csrf_token": {csrf}, "default_lifetime": {"7d"}, "max_lifetime": {"30d"}, "creation": {"admins"}})
	mustContain(t, p, "The token policy was saved", `value="7d"`, `value="30d"`, `value="admins" checked`)

	p = b.get(t, "/tokens/new")
	mustContain(t, p, `<option value="7d" selected>`)
	if strings.Contains(p.Body, `value="60d"`) || strings.Contains(p.Body, `value="never"`) {
		t.Error("the new policy's maximum is not applied to the token form")
	}
}

func TestAuditLogShowsAndFiltersEvents(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	newToken(t, b, url.Values{"name": {"audited"}, "expiration": {"7d"}, "scope": {"job"}})
	s.CreateUser(t, s.AdminSession(t), "mia", "mia-password-1", "member", "person")
	s.Login(t, "mia", "mia-password-1")

	p := b.get(t, "/admin/audit")
	mustContain(t, p, "Token created", "token.create", "audited", "User created", "Logged in")
	p = b.get(t, "/admin/audit?action=token.")
	mustContain(t, p, "Token created")
	if strings.Contains(tbody(p), "User created") {
		t.Error("action filter token. shows user events")
	}
	p = b.get(t, "/admin/audit?actor=mia")
	mustContain(t, p, "Logged in")
	if strings.Contains(tbody(p), "Token created") {
		t.Error("actor filter mia shows the admin's events")
	}
	p = b.get(t, "/admin/audit?actor=nobody&since=yesterday")
	mustContain(t, p, `id="actor-error"`, `value="nobody"`)
	p = b.get(t, "/admin/audit?since=yesterday")
	if p.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad date: status %d, want 422", p.Status)
	}
	mustContain(t, p, `id="since-error"`, "YYYY-MM-DD")
}
