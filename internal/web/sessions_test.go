package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// Issue 11, finding 10: the banner names the soonest-expiring token and
// counts all of them, not the ten newest.
func TestBannerNamesTheSoonestExpiringTokenAndCountsAll(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		// The soonest is made first, so it is the oldest: a "newest ten"
		// listing leaves it out.
		s.CreateToken(t, admin, map[string]any{"name": "soonest-one", "expires_in": "1h"})
		for i := range 12 {
			s.CreateToken(t, admin, map[string]any{"name": fmt.Sprintf("later-%02d", i), "expires_in": fmt.Sprintf("%dh", 48+i)})
		}
		s.CreateToken(t, admin, map[string]any{"name": "far-away", "expires_in": "90d"})
		b := newBrowser(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		p := b.get(t, "/tokens")
		mustContain(t, p, "13 of your tokens expire soon", "soonest-one")
		banner := p.Body[strings.Index(p.Body, "banner"):]
		banner = banner[:strings.Index(banner, "</div>")]
		if strings.Index(banner, "soonest-one") > strings.Index(banner, "later-") {
			t.Errorf("the soonest token is not named first in the banner:\n%s", banner)
		}
		if strings.Contains(banner, "far-away") {
			t.Errorf("banner names a token that is not expiring:\n%s", banner)
		}
	})
}

var sessionRowRE = regexp.MustCompile(`(?s)<tr[^>]*data-session="([0-9a-f-]{36})"[^>]*>(.*?)</tr>`)

// Issue 11, finding 4: the console lists the visitor's sessions and ends
// one, or all but the current one.
func TestSessionsPageListsAndEndsSessions(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/auth/login", strings.NewReader(`{"username":"admin","password":"`+servertest.AdminPassword+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "curl/8.5.0")
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cli := s.AdminSession(t)
		b := newBrowser(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		p := b.get(t, "/sessions")
		mustContain(t, p, "<h1>Sessions</h1>", "curl/8.5.0", "127.0.0.1", "This session")
		rows := sessionRowRE.FindAllStringSubmatch(p.Body, -1)
		if len(rows) != 3 { // curl, cli, browser
			t.Fatalf("%d session rows, want 3:\n%s", len(rows), p.Body)
		}
		var curlID string
		for _, r := range rows {
			if strings.Contains(r[2], "curl/8.5.0") {
				curlID = r[1]
			}
		}
		p = b.post(t, "/sessions/"+curlID+"/revoke", url.Values{"csrf_token": {csrfOf(t, p)}})
		if p.Status != http.StatusOK || strings.Contains(p.Body, "curl/8.5.0") {
			t.Fatalf("after ending the curl session (status %d):\n%s", p.Status, p.Body)
		}
		if apiStatus(t, s, cli) != http.StatusOK {
			t.Fatal("ending one session ended another")
		}
		p = b.post(t, "/sessions/revoke-others", url.Values{"csrf_token": {csrfOf(t, p)}})
		if n := len(sessionRowRE.FindAllString(p.Body, -1)); n != 1 {
			t.Errorf("%d sessions left after logging out everywhere else, want 1", n)
		}
		if apiStatus(t, s, cli) != http.StatusUnauthorized {
			t.Error("the CLI session survived logging out everywhere else")
		}
		// The browser's own session goes on.
		mustContain(t, b.get(t, "/sessions"), "This session")
	})
}

// Sessions minted at /cli-auth end with the console session that minted them.
func TestCLIAuthSessionEndsWithItsParent(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		b := newBrowser(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		_, m := b.cliAuthToken(t)
		if apiStatus(t, s, m) != http.StatusOK {
			t.Fatal("cli-auth session does not work")
		}
		b.post(t, "/logout", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/tokens"))}})
		deadline := time.Now().Add(2 * time.Second)
		for apiStatus(t, s, m) != http.StatusUnauthorized {
			if time.Now().After(deadline) {
				t.Fatal("the /cli-auth session outlived the console session that minted it")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// Issue 11, finding 9: the policy page says how many tokens a change
// affects before it is saved.
func TestPolicyPageSaysHowManyTokensAChangeAffectsBeforeSaving(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		s.CreateToken(t, admin, map[string]any{"name": "forever", "no_expiry": true})
		s.CreateToken(t, admin, map[string]any{"name": "long", "expires_in": "300d"})
		s.CreateToken(t, admin, map[string]any{"name": "short", "expires_in": "10d"})
		b := newBrowser(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		p := b.get(t, "/admin/policy")
		form := url.Values{"csrf_token": {csrfOf(t, p)}, "default_lifetime": {"90d"}, "creation": {"everyone"}}
		p = b.post(t, "/admin/policy", form)
		mustContain(t, p, "This change affects 1 existing token")
		if status, _, _ := s.Do(t, http.MethodGet, "/api/v1/policy", admin, nil); status != http.StatusOK {
			t.Fatal("policy unreadable")
		}
		var pol struct {
			AllowNoExpiry bool `json:"allow_no_expiry"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/policy", admin, nil, http.StatusOK, &pol)
		if !pol.AllowNoExpiry {
			t.Fatal("the policy was saved before the admin confirmed")
		}
		form.Set("default_lifetime", "30d")
		form.Set("max_lifetime", "60d")
		p = b.post(t, "/admin/policy", form)
		mustContain(t, p, "This change affects 2 existing tokens")
		form.Set("confirm", "yes")
		p = b.post(t, "/admin/policy", form)
		mustContain(t, p, "The token policy was saved.")
	})
}
