package web_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// browser is a cookie-keeping HTTP client that uses the console the way a
// browser without JavaScript would.
type browser struct {
	s   *servertest.Server
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T, s *servertest.Server) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{s: s, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is one answer of the console.
type page struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

// do sends a request and follows redirects within the console.
func (b *browser) do(t *testing.T, req *http.Request) page {
	t.Helper()
	for range 5 {
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		p := page{Status: resp.StatusCode, Body: string(body), Header: resp.Header, Location: resp.Header.Get("Location")}
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
			return p
		}
		next, err := req.URL.Parse(p.Location)
		if err != nil {
			t.Fatalf("bad Location %q: %v", p.Location, err)
		}
		req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
	}
	t.Fatalf("too many redirects")
	return page{}
}

func (b *browser) get(t *testing.T, path string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.s.URL+path, nil)
	return b.do(t, req)
}

// post sends a form as a same-origin browser would.
func (b *browser) post(t *testing.T, path string, form url.Values) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(t, req)
}

// login signs in through the login form and fails the test unless it lands
// on the tokens page.
func (b *browser) login(t *testing.T, user, password string) {
	t.Helper()
	p := b.get(t, "/login")
	p = b.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {user}, "password": {password}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "<h1>Access tokens</h1>") {
		t.Fatalf("login as %s: status %d, body:\n%s", user, p.Status, p.Body)
	}
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.s.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// csrfOf returns the CSRF token of the first form on the page.
func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no CSRF field on the page:\n%s", p.Body)
	}
	return html.UnescapeString(m[1])
}

var secretRE = regexp.MustCompile(`id="secret" class="secret mono" value="([^"]+)"`)

// secretOf reads the once-shown secret from a token_issued page.
func secretOf(t *testing.T, p page) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret on the page (status %d):\n%s", p.Status, p.Body)
	}
	return m[1]
}

var tokenLinkRE = regexp.MustCompile(`href="(?:/-)?/tokens/([0-9a-f-]{36})"`)

// tokenIDOf returns the first token id linked from the page.
func tokenIDOf(t *testing.T, p page) string {
	t.Helper()
	m := tokenLinkRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no token link on the page:\n%s", p.Body)
	}
	return m[1]
}

// mustContain fails unless the page contains every want.
func mustContain(t *testing.T, p page, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(p.Body, w) {
			t.Fatalf("page (status %d) lacks %q:\n%s", p.Status, w, p.Body)
		}
	}
}

// apiStatus calls GET /api/v1/me with secret and returns the status.
func apiStatus(t *testing.T, s *servertest.Server, secret string) int {
	t.Helper()
	status, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", secret, nil)
	return status
}
