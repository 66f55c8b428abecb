package identity_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/servertest"
)

// startIdP runs a mockoidc provider on loopback; mws are installed first.
func startIdP(t *testing.T, mws ...func(m *mockoidc.MockOIDC) func(http.Handler) http.Handler) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, mw := range mws {
		if err := m.AddMiddleware(mw(m)); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

type providerOpts struct {
	issuer, clientID string
	extra            string // more YAML under the provider
	top              string // more YAML under sso:
}

// startLatchkey runs Latchkey with one provider "corp" pointing at m.
func startLatchkey(t *testing.T, m *mockoidc.MockOIDC, o providerOpts, args ...string) *servertest.Server {
	t.Helper()
	if o.issuer == "" {
		o.issuer = m.Issuer()
	}
	if o.clientID == "" {
		o.clientID = m.ClientID
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(m.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`sso:
  providers:
    - id: corp
      name: Corp SSO
      issuer: %s
      client_id: %s
      client_secret_file: %s
      scopes: [openid, profile, email, groups]
      roles: {claim: groups, owner: [lk-owners], admin: [lk-admins], member: [engineering]}
%s
%s`, o.issuer, o.clientID, secret, o.extra, o.top)
	path := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, append([]string{"--config", path}, args...)...)
}

// browser is an HTTP client with cookies, like a browser.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// stopAtCallback makes c stop before following the redirect to Latchkey's
// callback, so a test can look at or tamper with it.
func stopAtCallback(c *http.Client) {
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/callback") {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

func get(t *testing.T, c *http.Client, u string) (int, string, *http.Response) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func sessionOf(t *testing.T, c *http.Client, s *servertest.Server) string {
	u, _ := url.Parse(s.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "latchkey_session" {
			return ck.Value
		}
	}
	return ""
}

func user(sub, name string, groups ...string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: sub, PreferredUsername: name, Email: name + "@example.com", EmailVerified: true, Groups: groups}
}

type me struct {
	User struct {
		ID, Username, Role, LoginType string
		Suspended                     bool
	} `json:"user"`
}

func whoami(t *testing.T, s *servertest.Server, bearer string) (int, me) {
	t.Helper()
	var out me
	code, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", bearer, nil)
	_ = json.Unmarshal(body, &out)
	return code, out
}

func TestSSOSignInCreatesUserJustInTimeAndMapsRoleAtEveryLogin(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})

	// The login page offers the provider.
	code, body, _ := get(t, browser(t), s.URL+"/login")
	if code != 200 || !strings.Contains(body, "Sign in with Corp SSO") || !strings.Contains(body, `href="/auth/sso/corp"`) {
		t.Fatalf("login page: %d, want a \"Sign in with Corp SSO\" button linking to /auth/sso/corp", code)
	}

	m.QueueUser(user("sub-alice", "alice", "engineering"))
	c := browser(t)
	code, body, resp := get(t, c, s.URL+"/auth/sso/corp?next=/cli-auth")
	if code != 200 || resp.Request.URL.Path != "/cli-auth" {
		t.Fatalf("sign-in ended at %s with %d, want /cli-auth (the next page) with 200: %.300s", resp.Request.URL, code, body)
	}
	sess := sessionOf(t, c, s)
	if !strings.HasPrefix(sess, "lk_ses_") {
		t.Fatalf("no session cookie after sign-in: %q", sess)
	}
	code, who := whoami(t, s, sess)
	if code != 200 || who.User.Username != "alice" || who.User.Role != "member" {
		t.Fatalf("/me = %d %+v, want alice, member", code, who.User)
	}

	// Second login: the provider now puts alice in lk-admins.
	m.QueueUser(user("sub-alice", "alice", "lk-admins"))
	c2 := browser(t)
	if code, _, _ := get(t, c2, s.URL+"/auth/sso/corp"); code != 200 {
		t.Fatalf("second sign-in: %d", code)
	}
	_, who2 := whoami(t, s, sessionOf(t, c2, s))
	if who2.User.ID != who.User.ID || who2.User.Role != "admin" {
		t.Fatalf("second sign-in: %+v, want the same user (%s) now admin", who2.User, who.User.ID)
	}

	// The audit log has the JIT creation, the role change and both logins.
	admin := s.AdminSession(t)
	var audit struct {
		Items []struct{ Action string } `json:"items"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/audit?limit=100", admin, nil, 200, &audit)
	seen := map[string]int{}
	for _, e := range audit.Items {
		seen[e.Action]++
	}
	if seen["user.jit_created"] != 1 || seen["sso.login"] != 2 || seen["user.role_from_claims"] != 1 {
		t.Fatalf("audit actions %v, want 1 user.jit_created, 2 sso.login, 1 user.role_from_claims", seen)
	}
	// The admins' page shows the provider, the mapping and alice's last sign-in.
	adminC := browser(t)
	u, _ := url.Parse(s.URL)
	adminC.Jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: admin}})
	code, page, _ := get(t, adminC, s.URL+"/admin/sso")
	if code != 200 || !strings.Contains(page, "Corp SSO") || !strings.Contains(page, "lk-admins") || !strings.Contains(page, "sub-alice") {
		t.Fatalf("/admin/sso = %d, want the provider, its mapping and alice's identity: %.500s", code, page)
	}
}

func TestSSOGroupRemovedBetweenLoginsSuspendsAndStopsTokens(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	m.QueueUser(user("sub-bob", "bob", "engineering"))
	c := browser(t)
	if code, _, _ := get(t, c, s.URL+"/auth/sso/corp"); code != 200 {
		t.Fatalf("first sign-in: %d", code)
	}
	sess := sessionOf(t, c, s)
	pat := s.CreateToken(t, sess, map[string]any{"name": "ci", "scopes": []string{"repo"}, "expires_in": "720h"})
	if code, _ := whoami(t, s, pat.Secret); code != 200 {
		t.Fatalf("the new PAT does not work: %d", code)
	}

	// The provider takes bob out of every mapped group.
	m.QueueUser(user("sub-bob", "bob", "design"))
	code, body, _ := get(t, browser(t), s.URL+"/auth/sso/corp")
	if code != http.StatusForbidden || !strings.Contains(body, "suspended") {
		t.Fatalf("sign-in without a mapped group: %d, want 403 saying the account was suspended: %.300s", code, body)
	}
	for name, cred := range map[string]string{"PAT": pat.Secret, "session": sess} {
		if code, _ := whoami(t, s, cred); code != http.StatusUnauthorized {
			t.Errorf("bob's %s after the group was removed: %d, want 401", name, code)
		}
	}
	// Giving the group back does not silently restore him: an admin decides.
	m.QueueUser(user("sub-bob", "bob", "engineering"))
	if code, _, _ := get(t, browser(t), s.URL+"/auth/sso/corp"); code != http.StatusForbidden {
		t.Fatalf("a suspended user signed in: %d", code)
	}
	// Deleted by an admin, he can start over: a new account, not the old one.
	admin := s.AdminSession(t)
	s.JSON(t, http.MethodDelete, "/api/v1/users/bob", admin, nil, http.StatusNoContent, nil)
	m.QueueUser(user("sub-bob", "bob", "engineering"))
	c2 := browser(t)
	if code, body, _ := get(t, c2, s.URL+"/auth/sso/corp"); code != 200 {
		t.Fatalf("sign-in after deletion: %d %.300s", code, body)
	}
	if code, _ := whoami(t, s, pat.Secret); code != http.StatusUnauthorized {
		t.Fatalf("the old account's token came back: %d", code)
	}
}

func TestSSORefusesTamperedOrReplayedCallbacks(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})

	// Capture a genuine callback without following it.
	capture := func() (*http.Client, *url.URL) {
		c := browser(t)
		stopAtCallback(c)
		_, _, resp := get(t, c, s.URL+"/auth/sso/corp")
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("no redirect to the callback: %v (status %d)", err, resp.StatusCode)
		}
		c.CheckRedirect = nil
		return c, loc
	}

	t.Run("wrong state", func(t *testing.T) {
		c, loc := capture()
		q := loc.Query()
		q.Set("state", "forged-"+q.Get("state"))
		loc.RawQuery = q.Encode()
		code, body, _ := get(t, c, loc.String())
		if code != http.StatusForbidden || !strings.Contains(body, "state mismatch") || sessionOf(t, c, s) != "" {
			t.Fatalf("forged state: %d, want 403 with no session: %.300s", code, body)
		}
	})
	t.Run("no flow cookie", func(t *testing.T) {
		_, loc := capture()
		code, body, _ := get(t, browser(t), loc.String()) // another browser: login CSRF
		if code != http.StatusForbidden || !strings.Contains(body, "not started here") {
			t.Fatalf("callback in a browser that did not start the sign-in: %d: %.300s", code, body)
		}
	})
	t.Run("replayed code", func(t *testing.T) {
		c, loc := capture()
		u, _ := url.Parse(s.URL + "/auth/sso/corp/callback")
		var flow string
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == identity.FlowCookie {
				flow = ck.Value
			}
		}
		if code, _, _ := get(t, c, loc.String()); code != 200 {
			t.Fatalf("genuine callback: %d", code)
		}
		// The attacker replays the same callback with a copy of the cookie.
		req, _ := http.NewRequest(http.MethodGet, loc.String(), nil)
		req.AddCookie(&http.Cookie{Name: identity.FlowCookie, Value: flow})
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "used already") {
			t.Fatalf("replayed code: %d, want 403: %.300s", resp.StatusCode, b)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "latchkey_session" && ck.Value != "" {
				t.Fatal("a replayed code got a session")
			}
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		if code, _, _ := get(t, browser(t), s.URL+"/auth/sso/nope"); code != http.StatusNotFound {
			t.Fatalf("/auth/sso/nope: %d, want 404", code)
		}
	})
}

// rewrite changes the requests Latchkey sends to the provider.
func rewrite(fn func(m *mockoidc.MockOIDC, r *http.Request)) func(m *mockoidc.MockOIDC) func(http.Handler) http.Handler {
	return func(m *mockoidc.MockOIDC) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fn(m, r)
				next.ServeHTTP(w, r)
			})
		}
	}
}

func signInStatus(t *testing.T, s *servertest.Server) (int, string) {
	c := browser(t)
	code, body, _ := get(t, c, s.URL+"/auth/sso/corp")
	if sessionOf(t, c, s) != "" {
		t.Errorf("a session was opened")
	}
	return code, body
}

func TestSSORefusesBadIDTokens(t *testing.T) {
	t.Run("wrong nonce", func(t *testing.T) {
		m := startIdP(t, rewrite(func(_ *mockoidc.MockOIDC, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/authorize") {
				q := r.URL.Query()
				q.Set("nonce", "attacker-nonce")
				r.URL.RawQuery = q.Encode()
			}
		}))
		s := startLatchkey(t, m, providerOpts{})
		if code, body := signInStatus(t, s); code != http.StatusForbidden || !strings.Contains(body, "nonce mismatch") {
			t.Fatalf("wrong nonce: %d: %.300s", code, body)
		}
	})
	t.Run("expired ID token", func(t *testing.T) {
		m := startIdP(t)
		m.FastForward(-2 * time.Hour)
		s := startLatchkey(t, m, providerOpts{})
		if code, body := signInStatus(t, s); code != http.StatusForbidden || !strings.Contains(body, "ID token was refused") {
			t.Fatalf("expired ID token: %d: %.300s", code, body)
		}
	})
	t.Run("wrong audience", func(t *testing.T) {
		// Latchkey is configured with another client id; the provider
		// (through this rewrite) issues the ID token to its own client.
		m := startIdP(t, rewrite(func(m *mockoidc.MockOIDC, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/authorize"):
				q := r.URL.Query()
				q.Set("client_id", m.ClientID)
				r.URL.RawQuery = q.Encode()
			case strings.HasSuffix(r.URL.Path, "/token"):
				_ = r.ParseForm()
				r.SetBasicAuth(m.ClientID, m.ClientSecret)
				for _, f := range []url.Values{r.Form, r.PostForm} {
					f.Set("client_id", m.ClientID)
					f.Set("client_secret", m.ClientSecret)
				}
			}
		}))
		s := startLatchkey(t, m, providerOpts{clientID: "latchkey-other"})
		if code, body := signInStatus(t, s); code != http.StatusForbidden || !strings.Contains(body, "ID token was refused") {
			t.Fatalf("wrong audience: %d: %.300s", code, body)
		}
	})
	t.Run("unknown issuer", func(t *testing.T) {
		m := startIdP(t)
		// A server that republishes the provider's discovery document at
		// another address: its issuer is not the configured one.
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := http.Get(m.DiscoveryEndpoint())
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			defer resp.Body.Close()
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.Copy(w, resp.Body)
		}))
		t.Cleanup(fake.Close)
		s := startLatchkey(t, m, providerOpts{issuer: fake.URL})
		if code, body := signInStatus(t, s); code != http.StatusBadGateway || !strings.Contains(body, "discovery document is wrong") {
			t.Fatalf("unknown issuer: %d: %.300s", code, body)
		}
	})
	t.Run("email domain not allowed", func(t *testing.T) {
		m := startIdP(t)
		s := startLatchkey(t, m, providerOpts{extra: "      allowed_domains: [corp.example]"})
		m.QueueUser(user("sub-eve", "eve", "engineering"))
		if code, body := signInStatus(t, s); code != http.StatusForbidden || !strings.Contains(body, "not in a domain allowed") {
			t.Fatalf("foreign domain: %d: %.300s", code, body)
		}
	})
}

func TestSSOOnlyModeKeepsPasswordsForBreakGlassOwnersOnly(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{top: "  only: true\n  break_glass: [" + servertest.AdminUser + "]"})
	admin := s.AdminSession(t) // the break-glass owner still logs in with a password
	s.CreateUser(t, admin, "carol", "correct-horse-battery", "member", "person")
	code, body, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": "carol", "password": "correct-horse-battery"})
	if code != http.StatusUnauthorized || !strings.Contains(string(body), "identity provider") {
		t.Fatalf("password login of a non-break-glass user in SSO-only mode: %d %s", code, body)
	}
	// A guesser learns nothing: a wrong password, an unknown name and a
	// break-glass owner's wrong password get the very answer the right
	// password gets.
	detail := func(b []byte) string {
		var p struct{ Detail string }
		_ = json.Unmarshal(b, &p)
		return p.Detail
	}
	for _, try := range []map[string]string{{"username": "carol", "password": "wrong-horse-battery"}, {"username": "nobody", "password": "correct-horse-battery"},
		{"username": servertest.AdminUser, "password": "not-the-password"}} {
		c, b, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", try)
		if c != code || detail(b) != detail(body) {
			t.Errorf("SSO-only login %v: %d %q; the right password got %d %q", try, c, detail(b), code, detail(body))
		}
	}
	// And every one counts against the address, like a wrong password:
	// refusals never become free argon2 work for one address.
	limited := false
	for range 30 {
		if c, _, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": "nobody", "password": "x-horse-battery"}); c == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("30 refused SSO-only logins from one address were never throttled")
	}
}

func TestAdminLinksLocalUserToIdentityAndTokensSurvive(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "dave", "correct-horse-battery", "member", "person")
	daveSess := s.Login(t, "dave", "correct-horse-battery")
	pat := s.CreateToken(t, daveSess, map[string]any{"name": "laptop", "scopes": []string{"repo"}, "expires_in": "720h"})

	// A first SSO login as "dave" must not take over the local account.
	m.QueueUser(user("sub-dave", "dave", "engineering"))
	if code, body := signInStatus(t, s); code != http.StatusConflict || !strings.Contains(body, "link") {
		t.Fatalf("SSO sign-in onto a local account: %d: %.300s", code, body)
	}

	// The admin links it on the Single sign-on page.
	c := browser(t)
	u, _ := url.Parse(s.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: admin}})
	_, page, _ := get(t, c, s.URL+"/admin/sso")
	csrf := between(page, `name="csrf_token" value="`, `"`)
	resp, err := c.PostForm(s.URL+"/admin/sso/link", url.Values{"csrf_token": {csrf}, "user": {"dave"}, "provider": {"corp"}, "subject": {"sub-dave"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.RawQuery, "msg=linked") {
		t.Fatalf("link: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	m.QueueUser(user("sub-dave", "dave", "engineering"))
	c2 := browser(t)
	if code, _, _ := get(t, c2, s.URL+"/auth/sso/corp"); code != 200 {
		t.Fatalf("sign-in after linking: %d", code)
	}
	_, who := whoami(t, s, sessionOf(t, c2, s))
	if who.User.Username != "dave" {
		t.Fatalf("signed in as %+v, want dave", who.User)
	}
	if code, _ := whoami(t, s, pat.Secret); code != 200 {
		t.Fatalf("dave's token after the move to SSO: %d, want 200", code)
	}
	if code, _, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": "dave", "password": "correct-horse-battery"}); code != http.StatusUnauthorized {
		t.Fatalf("dave's old password still works: %d", code)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}
