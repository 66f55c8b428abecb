package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/web"
)

var cliSessionRE = regexp.MustCompile(`id="session-token" class="secret mono" value="(lk_ses_[^"]+)"`)

// cliAuthToken presses the button of /cli-auth and returns the answer and
// the session token it shows.
func (b *browser) cliAuthToken(t *testing.T) (page, string) {
	t.Helper()
	p := b.post(t, "/cli-auth", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/cli-auth"))}})
	m := cliSessionRE.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("POST /cli-auth: status %d, no session token:\n%s", p.Status, p.Body)
	}
	return p, m[1]
}

// sessionCount is how many sessions the browser's user has, read over the
// API with the browser's own session.
func (b *browser) sessionCount(t *testing.T) int {
	t.Helper()
	st, body, _ := b.s.Do(t, http.MethodGet, "/api/v1/sessions?limit=100", b.cookie(web.SessionCookie).Value, nil)
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &list); st != http.StatusOK || err != nil {
		t.Fatalf("GET /api/v1/sessions: %d %s", st, body)
	}
	return len(list.Items)
}

// TestCLIAuthPageLoadsCreateNoSession loads /cli-auth as prefetches, link
// previews and reloads do: no session is created, and the page offers the
// command and a button instead of a token. Pressing the button (a POST
// carrying the form's CSRF token) creates exactly one session, shown once,
// which works; a POST without the CSRF token is refused and creates none.
func TestCLIAuthPageLoadsCreateNoSession(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	before := b.sessionCount(t)

	for range 5 {
		p := b.get(t, "/cli-auth")
		if p.Status != http.StatusOK || strings.Contains(p.Body, "lk_ses_") {
			t.Fatalf("GET /cli-auth: status %d, or a session token on the page:\n%s", p.Status, p.Body)
		}
		mustContain(t, p, `value="latchkey login `+s.URL+` --token -"`, `<form method="post" action="/cli-auth"`, "Create a session token")
	}
	if n := b.sessionCount(t); n != before {
		t.Fatalf("5 loads of /cli-auth: %d sessions, want %d (a GET must not mint a credential)", n, before)
	}

	p := b.post(t, "/cli-auth", url.Values{})
	if p.Status != http.StatusForbidden || strings.Contains(p.Body, "lk_ses_") {
		t.Fatalf("POST /cli-auth without the CSRF token: status %d, want 403 without a token:\n%s", p.Status, p.Body)
	}
	p = b.post(t, "/cli-auth", url.Values{"csrf_token": {"forged"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("POST /cli-auth with a wrong CSRF token: status %d, want 403", p.Status)
	}
	if n := b.sessionCount(t); n != before {
		t.Fatalf("refused POSTs: %d sessions, want %d", n, before)
	}

	p, secret := b.cliAuthToken(t)
	mustContain(t, p, `value="latchkey login `+s.URL+` --token -"`)
	if n := b.sessionCount(t); n != before+1 {
		t.Fatalf("one POST /cli-auth: %d sessions, want %d", n, before+1)
	}
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("the CLI session token: API status %d, want 200", got)
	}
	if h := p.Header.Get("Cache-Control"); h != "no-store" {
		t.Errorf("the page showing the token has Cache-Control %q, want no-store", h)
	}
}
