package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// apiWords are spellings only an API client should read: JSON field names,
// JSON examples, API-only instructions.
var apiWords = []string{"username", "service_account", "max_lifetime", `{"`, `["`, "empty string", `kind "service"`, "list users", "federation policy", "provider id and the subject"}

// mustNotSpeakAPI fails when msg uses API wording.
func mustNotSpeakAPI(t *testing.T, msg string) {
	t.Helper()
	for _, w := range apiWords {
		if strings.Contains(msg, w) {
			t.Fatalf("error %q speaks API (%s)", msg, w)
		}
	}
}

// formErrorOf returns the error shown for the whole form.
func formErrorOf(t *testing.T, p page) string {
	t.Helper()
	// The form partial puts the message in a <div> after an icon; a user's
	// page puts it in a <p>.
	m := regexp.MustCompile(`(?s)id="form-error"[^>]*>.*?<div>(.*?)</div>|<div class="alert alert-error" role="alert" id="form-error" tabindex="-1"><p>(.*?)</p>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no error for the whole form:\n%s", p.Body)
	}
	return html.UnescapeString(m[1] + m[2])
}

func TestUserFormsSpeakTheFormsWords(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	aliceID := s.CreateUser(t, admin, "alice", "correct horse battery", "member", "person")
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)

	addUser := func(t *testing.T, username, password, email string) page {
		t.Helper()
		csrf := csrfOf(t, b.get(t, "/admin/users"))
		return b.post(t, "/admin/users", url.Values{"csrf_token": {csrf}, "username": {username}, "password": {password}, "email": {email}, "role": {"member"}})
	}
	cases := []struct {
		name, username, password, email, field, want string
	}{
		{"bad user name", "bad name!", "long enough password", "", "username", "User name must be 1-64 letters, digits"},
		{"short password", "bob", "short", "", "password", "Initial password must be at least 8 characters"},
		{"bad email", "bob", "long enough password", "bob at example", "email", `"bob at example" is not an email address; give one like alice@example.com (no name or angle brackets), or leave Email empty for none`},
	}
	for _, c := range cases {
		t.Run("add user: "+c.name, func(t *testing.T) {
			p := addUser(t, c.username, c.password, c.email)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", p.Status)
			}
			got := fieldError(t, p, c.field)
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("error %q, want it to start %q", got, c.want)
			}
			mustNotSpeakAPI(t, got)
		})
	}

	t.Run("add service account: bad name", func(t *testing.T) {
		csrf := csrfOf(t, b.get(t, "/admin/service-accounts"))
		p := b.post(t, "/admin/service-accounts", url.Values{"csrf_token": {csrf}, "username": {"deploy bot"}, "role": {"admin"}})
		got := fieldError(t, p, "username")
		if !strings.HasPrefix(got, "Name must be 1-64 letters, digits") {
			t.Fatalf("error %q does not name the Name box", got)
		}
		mustNotSpeakAPI(t, got)
	})

	t.Run("add service account: name taken", func(t *testing.T) {
		csrf := csrfOf(t, b.get(t, "/admin/service-accounts"))
		p := b.post(t, "/admin/service-accounts", url.Values{"csrf_token": {csrf}, "username": {"alice"}, "role": {"admin"}})
		if p.Status != http.StatusConflict {
			t.Fatalf("status %d, want 409", p.Status)
		}
		if got, want := fieldError(t, p, "username"), `the name "alice" is taken; choose another`; got != want {
			t.Fatalf("error %q, want %q", got, want)
		}
	})

	t.Run("edit user: bad email", func(t *testing.T) {
		csrf := csrfOf(t, b.get(t, "/admin/users/"+aliceID))
		p := b.post(t, "/admin/users/"+aliceID+"/email", url.Values{"csrf_token": {csrf}, "from": {"user"}, "email": {"alice at example"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.Status)
		}
		got := fieldError(t, p, "email") // next to the box, not only above the form
		if !strings.HasSuffix(got, "or leave Email empty for none") {
			t.Fatalf("error %q does not say how to clear the Email box", got)
		}
		mustNotSpeakAPI(t, got)
	})

	t.Run("edit user: bad role", func(t *testing.T) {
		csrf := csrfOf(t, b.get(t, "/admin/users/"+aliceID))
		p := b.post(t, "/admin/users/"+aliceID+"/role", url.Values{"csrf_token": {csrf}, "from": {"user"}, "role": {"boss"}})
		if got := fieldError(t, p, "role"); !strings.HasPrefix(got, "Role must be") {
			t.Fatalf("error %q does not name the Role box", got)
		}
	})
}

func TestTrustPolicyFormSpeaksTheFormsWords(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "deployer", "", "member", "service")
	s.CreateUser(t, admin, "alice", "correct horse battery", "member", "person")
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	good := url.Values{"name": {"web-deploy"}, "issuer": {"https://token.actions.githubusercontent.com"}, "audience": {"latchkey"},
		"conditions": {"repository=acme/web"}, "service_account": {"deployer"}, "scopes": {"repo:read"}, "max_lifetime": {"15m"}}
	post := func(t *testing.T, change map[string]string) page {
		t.Helper()
		form := url.Values{"csrf_token": {csrfOf(t, b.get(t, "/admin/federation"))}}
		for k, v := range good {
			form[k] = v
		}
		for k, v := range change {
			form.Set(k, v)
		}
		return b.post(t, "/admin/federation", form)
	}
	cases := []struct {
		name   string
		change map[string]string
		field  string
		want   string // the error starts so
	}{
		{"no audience", map[string]string{"audience": ""}, "audience", "Audience is required"},
		{"no service account", map[string]string{"service_account": ""}, "service_account", "Service account is required"},
		{"bad name", map[string]string{"name": "web deploy"}, "name", `Name "web deploy" is invalid`},
		{"bad issuer", map[string]string{"issuer": "token.actions"}, "issuer", `Issuer "token.actions" is not an absolute URL`},
		{"no conditions", map[string]string{"conditions": ""}, "conditions", "at least one claim condition is required (e.g. repository=acme/web)"},
		{"bad lifetime", map[string]string{"max_lifetime": "forever"}, "max_lifetime", `Longest lifetime must be a duration between 1s and 24h such as "15m"`},
		{"a person", map[string]string{"service_account": "alice"}, "service_account", "alice is a person; federated tokens act as a service account: add one on the Service accounts page"},
		{"nobody", map[string]string{"service_account": "nobody"}, "service_account", `no user "nobody"; give the name of one listed on the Service accounts page`},
		{"no scopes", map[string]string{"scopes": ""}, "scopes", "Scopes: give 1 to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := post(t, c.change)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", p.Status, p.Body)
			}
			got := fieldError(t, p, c.field)
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("error %q, want it to start %q", got, c.want)
			}
			mustNotSpeakAPI(t, got)
		})
	}

	t.Run("name taken", func(t *testing.T) {
		if p := post(t, nil); p.Status != http.StatusOK || !strings.Contains(p.Body, "web-deploy") {
			t.Fatalf("first policy: status %d\n%s", p.Status, p.Body)
		}
		p := post(t, nil)
		if p.Status != http.StatusConflict {
			t.Fatalf("status %d, want 409", p.Status)
		}
		got := fieldError(t, p, "name")
		if want := `a trust policy named "web-deploy" exists; choose another name`; got != want {
			t.Fatalf("error %q, want %q", got, want)
		}
	})
}

func TestSSOLinkFormSpeaksTheFormsWords(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	link := func(t *testing.T, user, provider, subject string) page {
		t.Helper()
		csrf := csrfOf(t, b.get(t, "/admin/sso"))
		return b.post(t, "/admin/sso/link", url.Values{"csrf_token": {csrf}, "user": {user}, "provider": {provider}, "subject": {subject}})
	}

	t.Run("no subject", func(t *testing.T) {
		p := link(t, "alice", "corp", "")
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.Status)
		}
		got := fieldError(t, p, "subject")
		if !strings.HasPrefix(got, "Fill in Provider id and Subject (the sub claim") {
			t.Fatalf("error %q does not name the form's boxes", got)
		}
		mustNotSpeakAPI(t, got)
		mustContain(t, p, `name="user" value="alice"`, `name="provider" value="corp"`)
	})

	t.Run("provider not configured", func(t *testing.T) {
		// Linking takes the password away: to a provider that does not
		// exist it would lock the person out.
		p := link(t, servertest.AdminUser, "nope", "1234")
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.Status)
		}
		if got := fieldError(t, p, "provider"); !strings.Contains(got, `no identity provider "nope" is configured`) {
			t.Fatalf("error %q does not say the provider is not configured", got)
		}
		newBrowser(t, s).login(t, servertest.AdminUser, servertest.AdminPassword) // the password still works
	})

	t.Run("unknown user", func(t *testing.T) {
		p := link(t, "nobody", "corp", "1234")
		got := fieldError(t, p, "user")
		if want := `no user "nobody"; check the name on the Users page`; got != want {
			t.Fatalf("error %q, want %q", got, want)
		}
	})
}
