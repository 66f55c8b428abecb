package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestCLIAuthReloadCreatesNoSessionAndShowsTheTokenOnce: pressing the
// button of /cli-auth answers with a redirect (post/redirect/get), not the
// token, so a browser's reload asks for the page that shows it, never for
// the form again. That page shows the token and the command once; reloading
// it creates no session and shows no token, but says the token is not kept.
func TestCLIAuthReloadCreatesNoSessionAndShowsTheTokenOnce(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	before := b.sessionCount(t)

	form := url.Values{"csrf_token": {csrfOf(t, b.get(t, "/cli-auth"))}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/cli-auth", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req) // redirects not followed
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cli-auth/issued" || strings.Contains(string(body), "lk_ses_") {
		t.Fatalf("POST /cli-auth: %d to %q; want 303 to /cli-auth/issued, with no token in the answer:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}

	p := b.get(t, "/cli-auth/issued")
	m := cliSessionRE.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("GET /cli-auth/issued after the button: %d, no session token:\n%s", p.Status, p.Body)
	}
	mustContain(t, p, `value="latchkey login `+s.URL+` --token -"`, "It will not be shown again")
	if h := p.Header.Get("Cache-Control"); h != "no-store" {
		t.Errorf("the page showing the token has Cache-Control %q, want no-store", h)
	}
	if got := apiStatus(t, s, m[1]); got != http.StatusOK {
		t.Fatalf("the CLI session token: API status %d, want 200", got)
	}

	for range 3 { // reloads
		p = b.get(t, "/cli-auth/issued")
		if p.Status != http.StatusOK || strings.Contains(p.Body, "lk_ses_") {
			t.Fatalf("reload of /cli-auth/issued: %d, or a token shown again:\n%s", p.Status, p.Body)
		}
		mustContain(t, p, "The session token was shown once and is not kept", `value="latchkey login `+s.URL+` --token -"`, "Create a session token")
	}
	if n := b.sessionCount(t); n != before+1 {
		t.Fatalf("one press of the button and 3 reloads: %d sessions, want %d", n, before+1)
	}
}

// TestCLIAuthTokenIsShownOnlyToTheSessionThatAskedForIt: the hand-over
// cookie, carried to another browser signed in as someone else, opens
// nothing there.
func TestCLIAuthTokenIsShownOnlyToTheSessionThatAskedForIt(t *testing.T) {
	s := servertest.Start(t)
	s.CreateUser(t, s.AdminSession(t), "mallory", "correct-horse-battery-9", "member", "person")
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	form := url.Values{"csrf_token": {csrfOf(t, b.get(t, "/cli-auth"))}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/cli-auth", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var handOver *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "latchkey_issued" {
			handOver = c
		}
	}
	if handOver == nil {
		t.Fatal("POST /cli-auth set no hand-over cookie")
	}

	other := newBrowser(t, s)
	other.login(t, "mallory", "correct-horse-battery-9")
	u, _ := url.Parse(s.URL + "/cli-auth/issued")
	other.jar.SetCookies(u, []*http.Cookie{{Name: handOver.Name, Value: handOver.Value}})
	if p := other.get(t, "/cli-auth/issued"); strings.Contains(p.Body, "lk_ses_") {
		t.Fatalf("another user's browser opened the hand-over cookie:\n%s", p.Body)
	}
}
