package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/web"
)

// newToken fills the "New token" form like a person without JavaScript.
func newToken(t *testing.T, b *browser, fields url.Values) page {
	t.Helper()
	form := url.Values{"csrf_token": {csrfOf(t, b.get(t, "/tokens/new"))}, "access": {"specific"}}
	for k, v := range fields {
		form[k] = v
	}
	return b.post(t, "/tokens/new", form)
}

// waitFor reloads path until it contains want (usage is flushed in batches).
func waitFor(t *testing.T, b *browser, path, want string) page {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := b.get(t, path)
		if strings.Contains(p.Body, want) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q:\n%s", path, want, p.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTokenLifecycleWithoutJavaScript(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)

	p := newToken(t, b, url.Values{"name": {"deploy"}, "description": {"pushes releases"}, "expiration": {"30d"}, "scope": {"repo", "tokens"}, "resources_repo": {"acme/*"}})
	mustContain(t, p, "Token created", "It will not be shown again")
	secret := secretOf(t, p)
	if !strings.HasPrefix(secret, "lk_pat_") {
		t.Fatalf("secret %.7s… is not a personal access token", secret)
	}
	id := tokenIDOf(t, p)
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("new token: API status %d, want 200", got)
	}
	if again := b.get(t, "/tokens/"+id); strings.Contains(again.Body, secret) {
		t.Fatal("the token page shows the secret again")
	}
	list := b.get(t, "/tokens")
	mustContain(t, list, "deploy", "pushes releases", "repo=acme/*", "Active")

	show := waitFor(t, b, "/tokens/"+id, "from 127.0.0.1")
	mustContain(t, show, "1</strong> request in the last 30 days", `<rect class="bar"`, "Requests per day")

	p = b.get(t, "/tokens/"+id+"/regenerate")
	p = b.post(t, "/tokens/"+id+"/regenerate", url.Values{"csrf_token": {csrfOf(t, p)}, "expiration": {"7d"}})
	mustContain(t, p, "Token regenerated", "stopped working just now")
	newSecret := secretOf(t, p)
	if newSecret == secret {
		t.Fatal("regenerate showed the old secret")
	}
	if got := apiStatus(t, s, secret); got != http.StatusUnauthorized {
		t.Errorf("old secret after regenerate: %d, want 401", got)
	}
	if got := apiStatus(t, s, newSecret); got != http.StatusOK {
		t.Errorf("new secret after regenerate: %d, want 200", got)
	}

	// Without JavaScript, the revoke button leads to a confirmation page.
	csrf := csrfOf(t, b.get(t, "/tokens/"+id))
	p = b.post(t, "/tokens/"+id+"/revoke", url.Values{"csrf_token": {csrf}})
	mustContain(t, p, "Revoke deploy?", `name="confirm" value="yes"`)
	if got := apiStatus(t, s, newSecret); got != http.StatusOK {
		t.Fatalf("token stopped working before the revoke was confirmed: %d", got)
	}
	p = b.post(t, "/tokens/"+id+"/revoke", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}})
	mustContain(t, p, "The token was revoked", "Revoked")
	if got := apiStatus(t, s, newSecret); got != http.StatusUnauthorized {
		t.Errorf("revoked token: API status %d, want 401", got)
	}
	if p := b.get(t, "/tokens/"+id+"/edit"); p.Status != http.StatusConflict {
		t.Errorf("editing a revoked token: status %d, want 409", p.Status)
	}
}

func TestRegenerateWithGracePeriodKeepsOldSecretWorking(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p := newToken(t, b, url.Values{"name": {"rolling"}, "expiration": {"30d"}, "scope": {"tokens"}})
	old, id := secretOf(t, p), tokenIDOf(t, p)
	p = b.post(t, "/tokens/"+id+"/regenerate", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/tokens/"+id+"/regenerate"))}, "grace_period": {"1h"}})
	mustContain(t, p, "keeps working until")
	if got := apiStatus(t, s, old); got != http.StatusOK {
		t.Errorf("old secret during its grace period: %d, want 200", got)
	}
	if got := apiStatus(t, s, secretOf(t, p)); got != http.StatusOK {
		t.Errorf("new secret: %d, want 200", got)
	}
	mustContain(t, b.get(t, "/tokens/"+id), "Previous secret", "still works until")
}

func TestNewTokenFormShowsErrorsNextToFieldsAndKeepsInput(t *testing.T) {
	s := servertest.Start(t, "--max-token-lifetime", "720h", "--default-token-lifetime", "168h")
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	newToken(t, b, url.Values{"name": {"taken"}, "expiration": {"7d"}, "scope": {"job"}})

	cases := []struct {
		name       string
		form       url.Values
		status     int
		errorID    string
		errorText  string
		invalid    string // the one control marked aria-invalid, if any
		keepsInput []string
	}{
		{"missing name", url.Values{"name": {" "}, "description": {"keep me <b>"}, "expiration": {"7d"}, "scope": {"repo:read"}, "resources_repo:read": {"acme/*"}},
			http.StatusUnprocessableEntity, "name-error", "Name is required", "name",
			// The field names its error and still its help.
			[]string{"keep me &lt;b&gt;", `value="repo:read" checked`, `value="acme/*"`, `aria-invalid="true" aria-describedby="name-error name-help"`}},
		{"duplicate name", url.Values{"name": {"taken"}, "expiration": {"7d"}},
			http.StatusConflict, "name-error", "already has an active token named", "name", []string{`value="taken"`}},
		{"bad resource pattern", url.Values{"name": {"pat"}, "expiration": {"7d"}, "scope": {"repo"}, "resources_repo": {"acme/[x"}},
			http.StatusUnprocessableEntity, "scopes-error", "not a valid glob", "", []string{`value="acme/[x"`, `value="pat"`}},
		{"custom date missing", url.Values{"name": {"dated"}, "expiration": {"custom"}},
			http.StatusUnprocessableEntity, "expiration-error", "Choose the date", "expires_on", []string{`value="custom" selected`}},
		{"custom date past the maximum", url.Values{"name": {"long"}, "expiration": {"custom"}, "expires_on": {time.Now().AddDate(0, 3, 0).Format(time.DateOnly)}},
			http.StatusUnprocessableEntity, "expiration-error", "exceeds the maximum token lifetime of 30d", "expires_on", []string{`value="long"`}},
		{"lifetime past the maximum", url.Values{"name": {"long"}, "expiration": {"90d"}},
			http.StatusUnprocessableEntity, "expiration-error", "exceeds the maximum", "expiration", nil},
		{"no expiration refused", url.Values{"name": {"forever"}, "expiration": {"never"}},
			http.StatusUnprocessableEntity, "expiration-error", "does not allow tokens without expiration", "expiration", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newToken(t, b, tc.form)
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", p.Status, tc.status, p.Body)
			}
			re := regexp.MustCompile(`<p class="field-error" id="` + tc.errorID + `">([^<]*)</p>`)
			m := re.FindStringSubmatch(p.Body)
			if m == nil || !strings.Contains(m[1], tc.errorText) {
				t.Fatalf("no %s saying %q next to the field:\n%s", tc.errorID, tc.errorText, p.Body)
			}
			mustContain(t, p, tc.keepsInput...)
			if !strings.Contains(p.Body, "<title>Error: ") {
				t.Errorf("the page's title does not begin with Error:\n%.300s", p.Body)
			}
			marked := regexp.MustCompile(`id="([^"]+)"[^>]*aria-invalid="true"`).FindAllStringSubmatch(p.Body, -1)
			var ids []string
			for _, m := range marked {
				ids = append(ids, m[1])
			}
			if want := tc.invalid; (want == "" && len(ids) != 0) || (want != "" && !slices.Equal(ids, []string{want})) {
				t.Errorf("controls marked invalid: %q, want only %q", ids, want)
			}
			if strings.Contains(p.Body, "goroutine") || strings.Contains(p.Body, "panic") {
				t.Fatal("error page shows internals")
			}
		})
	}
}

func TestNewTokenFormIsPrefilledFromItsLink(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p := b.get(t, "/tokens/new?name=ci&description=for+CI&scopes=repo:read=acme/*,beta/*,job&scopes=bogus&expires_in=720h")
	mustContain(t, p, `id="name" name="name" value="ci"`, ">for CI</textarea>",
		`value="repo:read" checked`, `value="acme/*, beta/*"`, `value="job" checked`,
		`<option value="30d" selected>`, "left out: bogus")
	if strings.Contains(p.Body, `value="repo" checked`) {
		t.Error("repo was ticked though the link asked only for repo:read")
	}
	p = b.get(t, "/tokens/new?expires_in=45d")
	mustContain(t, p, `<option value="45d" selected>45 days`)
	p = b.get(t, "/tokens/new?scopes=*")
	mustContain(t, p, `value="super" data-access checked`)
}

func TestExpirationChoicesFollowThePolicy(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		s := servertest.Start(t)
		b := newBrowser(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		p := b.get(t, "/tokens/new")
		mustContain(t, p, `<option value="7d">`, `<option value="30d">`, `<option value="60d">`, `<option value="90d">`,
			`<option value="180d" selected>180 days`, "— default", `<option value="custom">`, `<option value="never">No expiration`)
	})
	t.Run("maximum 30 days, default 7", func(t *testing.T) {
		s := servertest.Start(t, "--max-token-lifetime", "720h", "--default-token-lifetime", "168h")
		b := newBrowser(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		p := b.get(t, "/tokens/new")
		mustContain(t, p, `<option value="7d" selected>`, `<option value="30d">`, `<option value="custom">`, "at most 30 days")
		for _, banned := range []string{`value="60d"`, `value="180d"`, `value="never"`} {
			if strings.Contains(p.Body, banned) {
				t.Errorf("policy forbids %s but the form offers it", banned)
			}
		}
		max := time.Now().UTC().Add(29 * 24 * time.Hour).Format(time.DateOnly)
		mustContain(t, p, fmt.Sprintf(`max="%s"`, max))
	})
	t.Run("no expiration by default", func(t *testing.T) {
		s := servertest.Start(t, "--default-token-lifetime", "0s")
		b := newBrowser(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		mustContain(t, b.get(t, "/tokens/new"), `<option value="never" selected>`)
	})
}

func TestEditChangesDescriptionAndScopesButNotTheSecret(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p := newToken(t, b, url.Values{"name": {"reader"}, "expiration": {"30d"}, "scope": {"repo:read"}})
	secret, id := secretOf(t, p), tokenIDOf(t, p)
	p = b.get(t, "/tokens/"+id+"/edit")
	mustContain(t, p, `value="repo:read" checked`, `value="reader" readonly`)
	p = b.post(t, "/tokens/"+id+"/edit", url.Values{"csrf_token": {csrfOf(t, p)}, "access": {"specific"},
		"description": {"reads and manages"}, "scope": {"repo:read", "tokens"}})
	mustContain(t, p, "The token was updated", "reads and manages", "<code>tokens</code>")
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("secret stopped working after an edit: %d", got)
	}
	p = b.post(t, "/tokens/"+id+"/edit", url.Values{"csrf_token": {csrfOf(t, p)}, "access": {"specific"},
		"description": {"still typed"}, "scope": {"repo:read"}, "resources_repo:read": {"acme/[x"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid edit: status %d, want 422", p.Status)
	}
	mustContain(t, p, `id="scopes-error"`, ">still typed</textarea>")
}

func TestExpiryBannerNamesTheTokenOnEveryPage(t *testing.T) {
	s := servertest.Start(t)
	session := s.AdminSession(t)
	s.CreateToken(t, session, map[string]any{"name": "nearly-done", "expires_in": "72h", "scopes": []string{"repo:read"}})
	s.CreateToken(t, session, map[string]any{"name": "fine-for-now", "expires_in": "720h", "scopes": []string{"repo:read"}})
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	for _, path := range []string{"/tokens", "/tokens/new", "/cli-auth", "/admin/policy"} {
		p := b.get(t, path)
		banner := regexp.MustCompile(`(?s)<div class="alert alert-warning banner" role="status">.*?</ul>`).FindString(p.Body)
		if !strings.Contains(banner, "nearly-done") || !strings.Contains(banner, "in 3 days") { // 72 h, rounded to the nearest day
			t.Errorf("%s: no banner naming nearly-done:\n%s", path, banner)
		}
		if strings.Contains(banner, "fine-for-now") {
			t.Errorf("%s: banner names a token that expires in 30 days", path)
		}
	}
	mustContain(t, b.get(t, "/tokens"), "Expiring soon")
	mustContain(t, b.get(t, "/tokens"), "in 30 days") // a new 30-day token, not "in 29 days"
}

func TestCLIAuthShowsAFreshWorkingSessionToken(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p, secret := b.cliAuthToken(t)
	mustContain(t, p, `value="latchkey login `+s.URL+` --token -"`)
	if secret == b.cookie(web.SessionCookie).Value {
		t.Fatal("/cli-auth showed the browser's own session instead of a fresh one")
	}
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("CLI session token: API status %d, want 200", got)
	}
}

// The command /cli-auth offers must not carry the session token: a token
// on the command line stays in the shell's history file and shows in `ps`
// to every local user. The CLI reads it from standard input instead.
func TestCLIAuthCommandKeepsTheTokenOutOfShellHistory(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p, _ := b.cliAuthToken(t)
	cmd := regexp.MustCompile(`id="cli-command" class="secret mono" value="([^"]*)"`).FindStringSubmatch(p.Body)
	tok := regexp.MustCompile(`id="session-token" class="secret mono" value="(lk_ses_[^"]+)"`).FindStringSubmatch(p.Body)
	if cmd == nil || tok == nil {
		t.Fatalf("no command or session token on /cli-auth:\n%s", p.Body)
	}
	if strings.Contains(cmd[1], "lk_ses_") || strings.Contains(cmd[1], tok[1]) {
		t.Fatalf("the command to paste holds the session token, which then lands in shell history: %q", cmd[1])
	}
	if !strings.HasSuffix(cmd[1], " --token -") {
		t.Fatalf("the command %q does not read the token from standard input (--token -)", cmd[1])
	}
}

func TestLogoutRevokesTheSession(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	secret := b.cookie(web.SessionCookie).Value
	p := b.post(t, "/logout", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/tokens"))}})
	mustContain(t, p, "You are logged out")
	if got := apiStatus(t, s, secret); got != http.StatusUnauthorized {
		t.Fatalf("session after logout: API status %d, want 401", got)
	}
	// A copy of the old cookie no longer opens the console.
	replay := newBrowser(t, s)
	u, _ := url.Parse(s.URL)
	replay.jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookie, Value: secret, Path: "/"}})
	mustContain(t, replay.get(t, "/tokens"), "<h1>Log in</h1>", "Your session has ended")
}

func TestCreationPolicyAdminsOnlyKeepsMembersOut(t *testing.T) {
	s := servertest.Start(t, "--token-creation", "admins")
	s.CreateUser(t, s.AdminSession(t), "mia", "mia-password-1", "member", "person")
	b := newBrowser(t, s)
	b.login(t, "mia", "mia-password-1")
	mustContain(t, b.get(t, "/tokens"), "only admins create tokens")
	p := b.get(t, "/tokens/new")
	if p.Status != http.StatusForbidden || strings.Contains(p.Body, `action="/tokens/new"`) {
		t.Fatalf("member on /tokens/new under admins-only policy: status %d", p.Status)
	}
	p = b.post(t, "/tokens/new", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/tokens"))}, "name": {"x"}, "expiration": {"7d"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("member POST under admins-only policy: status %d, want 403", p.Status)
	}
}
