package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/web"
)

// accountBurst is how many failed logins a user name gets before it is
// throttled (internal/server: auth.NewAccountLimiter(10, ...)).
const accountBurst = 10

// fromAddress sends every request as coming, through the trusted proxy on
// loopback, from ip (X-Forwarded-For): the way the edge learns a client's
// address behind --trusted-proxies.
type fromAddress struct {
	ip string
	rt http.RoundTripper
}

func (f fromAddress) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.ip)
	return f.rt.RoundTrip(r)
}

// browserFrom is a fresh browser whose requests come from ip.
func browserFrom(t *testing.T, s *servertest.Server, ip string) *browser {
	t.Helper()
	b := newBrowser(t, s)
	b.c.Transport = fromAddress{ip, http.DefaultTransport}
	return b
}

// tryLogin sends the login form and returns the answer.
func (b *browser) tryLogin(t *testing.T, user, password string) page {
	t.Helper()
	return b.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/login"))}, "username": {user}, "password": {password}})
}

// apiLoginFrom logs in over the API from ip and returns the status and
// the problem's detail (or the token).
func apiLoginFrom(t *testing.T, s *servertest.Server, ip, user, password string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct{ Detail, Token string }
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out.Detail + out.Token
}

var formErrorRE = regexp.MustCompile(`(?s)<div class="alert alert-error"[^>]*>.*?</div>`)

// throttledText is the page's error with its number of seconds blanked,
// so two refusals a second apart compare equal.
func throttledText(p page) string {
	return regexp.MustCompile(`\d+`).ReplaceAllString(formErrorRE.FindString(p.Body), "N")
}

// TestPasswordGuessesFromManyAddressesAreThrottledPerAccount is a guesser
// with a different address (IPv6 /64) for every try, so the per-address
// limit never slows it. After accountBurst failures for one user name,
// further logins for that name are refused (429, Retry-After) before the
// password is checked, from any new address, the right password included,
// on the console and the API alike. A name no account has is throttled
// identically. The real user, from the address they signed in from
// before, still gets in.
func TestPasswordGuessesFromManyAddressesAreThrottledPerAccount(t *testing.T) {
	s := servertest.Start(t, "--trusted-proxies=127.0.0.1/32")
	s.CreateUser(t, s.AdminSession(t), "mia", "mia-password-1", "member", "person")
	const usual = "198.51.100.7"
	browserFrom(t, s, usual).login(t, servertest.AdminUser, servertest.AdminPassword)

	attacker := 0
	next := func() *browser { // an address in a /64 of its own
		attacker++
		return browserFrom(t, s, fmt.Sprintf("2001:db8:%x::1", attacker))
	}
	throttled := map[string]page{}
	for _, name := range []string{servertest.AdminUser, "nobody-has-this-name"} {
		for i := range accountBurst {
			if p := next().tryLogin(t, name, fmt.Sprintf("guess-%d", i)); p.Status != http.StatusUnauthorized {
				t.Fatalf("%s, guess %d from a new address: status %d, want 401 (not throttled yet)", name, i+1, p.Status)
			}
		}
		b := next()
		p := b.tryLogin(t, name, servertest.AdminPassword) // the right password, for admin
		if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || b.cookie(web.SessionCookie) != nil {
			t.Fatalf("%s after %d guesses from other addresses, the right password from a new one: status %d (Retry-After %q), session %v; want 429 with Retry-After and no session",
				name, accountBurst, p.Status, p.Header.Get("Retry-After"), b.cookie(web.SessionCookie) != nil)
		}
		mustContain(t, p, "Too many failed logins for this user name")
		if wrong := next().tryLogin(t, name, "another-guess"); wrong.Status != p.Status || throttledText(wrong) != throttledText(p) {
			t.Fatalf("%s throttled: the right password answers %d %q, a wrong one %d %q; want the same answer",
				name, p.Status, throttledText(p), wrong.Status, throttledText(wrong))
		}
		throttled[name] = p
		if st, detail := apiLoginFrom(t, s, fmt.Sprintf("2001:db8:%x::1", attacker+1000), name, servertest.AdminPassword); st != http.StatusTooManyRequests ||
			!strings.Contains(detail, "too many failed logins for this user name") {
			t.Fatalf("%s throttled, API login from a new address: %d %q; want 429", name, st, detail)
		}
	}
	a, n := throttled[servertest.AdminUser], throttled["nobody-has-this-name"]
	if a.Status != n.Status || throttledText(a) != throttledText(n) {
		t.Fatalf("throttled answers tell an account from a made-up name:\n%d %s\n%d %s", a.Status, throttledText(a), n.Status, throttledText(n))
	}

	// The real user, from their usual address, is not kept out.
	browserFrom(t, s, usual).login(t, servertest.AdminUser, servertest.AdminPassword)
	if st, _ := apiLoginFrom(t, s, usual, servertest.AdminUser, servertest.AdminPassword); st != http.StatusOK {
		t.Fatalf("API login from the usual address while the name is throttled: %d, want 200", st)
	}
	// Another account is not affected.
	browserFrom(t, s, "2001:db8:ffff::1").login(t, "mia", "mia-password-1")
}
