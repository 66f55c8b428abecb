package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/web"
)

var signInAgainRE = regexp.MustCompile(`href="([^"]*)" id="device-sign-in"`)

// browserSignedInAt is a browser whose console session for the admin
// began at signedIn, as if the person had signed in then and kept using
// it (sliding refresh keeps its expiry ahead).
func browserSignedInAt(t *testing.T, s *servertest.Server, signedIn time.Time) *browser {
	t.Helper()
	var me struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/me", s.AdminSession(t), nil, http.StatusOK, &me)
	secret, err := token.Generate("lk", token.Session)
	if err != nil {
		t.Fatal(err)
	}
	digest := token.Hash(secret)
	now := time.Now().UTC()
	if err := s.App.Store.CreateSession(context.Background(), &store.Session{
		ID: uuid.NewString(), UserID: me.User.ID, Digest: digest[:], CreatedAt: signedIn.UTC(),
		ExpiresAt: now.Add(12 * time.Hour), LastSeenAt: now,
	}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s)
	u, _ := url.Parse(s.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookie, Value: secret, Path: "/"}})
	return b
}

// TestDeviceApprovalNeedsASignInFromTheLast15Minutes: a console session
// signed in 20 minutes ago (kept alive since) sees the review of a device
// sign-in without an Approve button, told to sign in again, with a link
// that comes back to the same review; approving by a direct POST with the
// code typed is refused and approves nothing. After signing in again
// through that link, the same person approves.
func TestDeviceApprovalNeedsASignInFromTheLast15Minutes(t *testing.T) {
	s := servertest.Start(t)
	b := browserSignedInAt(t, s, time.Now().Add(-20*time.Minute))
	code := deviceCode(t, s, "latchkey-cli/test")

	p := b.get(t, "/device?user_code="+code)
	if p.Status != http.StatusOK || strings.Contains(p.Body, `id="device-approve"`) {
		t.Fatalf("review with a 20-minute-old sign-in: %d, or an Approve button:\n%s", p.Status, p.Body)
	}
	mustContain(t, p, "To approve, sign in again", `id="device-deny"`)
	m := signInAgainRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no link to sign in again:\n%s", p.Body)
	}
	link, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || link.Path != "/login" || link.Query().Get("again") != "1" || link.Query().Get("next") != "/device?user_code="+code {
		t.Fatalf("the link to sign in again is %q; want /login?again=1 coming back to /device?user_code=%s", m[1], code)
	}

	// The code typed in step 1 leads to the same answer.
	p = b.post(t, "/device", url.Values{"csrf_token": {csrfOf(t, p)}, "action": {"review"}, "user_code": {code}})
	if strings.Contains(p.Body, `id="device-approve"`) || !strings.Contains(p.Body, "To approve, sign in again") {
		t.Fatalf("review of a typed code with an old sign-in: %d\n%s", p.Status, p.Body)
	}

	// A direct POST, with the code typed as from the terminal.
	p = b.post(t, "/device", url.Values{"csrf_token": {csrfOf(t, p)}, "action": {"approve"}, "reviewed": {code}, "user_code": {code}})
	if p.Status != http.StatusForbidden || strings.Contains(p.Body, "The CLI is signed in") {
		t.Fatalf("approval by an old sign-in: %d; want 403 and nothing approved:\n%s", p.Status, p.Body)
	}
	mustContain(t, p, "Nothing was approved", "To approve, sign in again")
	if p = b.get(t, "/device?user_code="+code); !strings.Contains(p.Body, "To approve, sign in again") {
		t.Fatalf("after the refused approval the request is no longer pending:\n%s", p.Body)
	}

	// Sign in again through the link: the login form is shown though the
	// browser has a session, and it comes back to the review.
	p = b.get(t, link.RequestURI())
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/login"`) {
		t.Fatalf("the link to sign in again: %d, no login form:\n%s", p.Status, p.Body)
	}
	mustContain(t, p, `value="`+servertest.AdminUser+`"`, "Sign in again to continue")
	p = b.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {servertest.AdminUser},
		"password": {servertest.AdminPassword}, "next": {link.Query().Get("next")}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="device-approve"`) || strings.Contains(p.Body, "To approve, sign in again") {
		t.Fatalf("back on the review after signing in again: %d, no Approve button:\n%s", p.Status, p.Body)
	}
	p = b.post(t, "/device", url.Values{"csrf_token": {csrfOf(t, p)}, "action": {"approve"}, "reviewed": {code}, "user_code": {code}})
	mustContain(t, p, "The CLI is signed in")
}

// TestDeviceApprovalByAFreshSignIn: a session signed in 5 minutes ago
// approves at once.
func TestDeviceApprovalByAFreshSignIn(t *testing.T) {
	s := servertest.Start(t)
	b := browserSignedInAt(t, s, time.Now().Add(-5*time.Minute))
	code := deviceCode(t, s, "latchkey-cli/test")
	p := b.get(t, "/device?user_code="+code)
	if strings.Contains(p.Body, "To approve, sign in again") || !strings.Contains(p.Body, `id="device-approve"`) {
		t.Fatalf("review with a 5-minute-old sign-in: %d\n%s", p.Status, p.Body)
	}
	p = b.post(t, "/device", url.Values{"csrf_token": {csrfOf(t, p)}, "action": {"approve"}, "reviewed": {code}, "user_code": {code}})
	mustContain(t, p, "The CLI is signed in")
}

// TestDeviceApprovalIsNotGrantedToAMintedSession: a session token made at
// /cli-auth a moment ago, put in a browser, is new but was no sign-in: it
// too is asked to sign in again, and cannot approve.
func TestDeviceApprovalIsNotGrantedToAMintedSession(t *testing.T) {
	s := servertest.Start(t)
	owner := newBrowser(t, s)
	owner.login(t, servertest.AdminUser, servertest.AdminPassword)
	_, minted := owner.cliAuthToken(t)

	b := newBrowser(t, s)
	u, _ := url.Parse(s.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookie, Value: minted, Path: "/"}})
	code := deviceCode(t, s, "latchkey-cli/test")
	p := b.get(t, "/device?user_code="+code)
	if strings.Contains(p.Body, `id="device-approve"`) || !strings.Contains(p.Body, "To approve, sign in again") {
		t.Fatalf("review with a minted session: %d\n%s", p.Status, p.Body)
	}
	p = b.post(t, "/device", url.Values{"csrf_token": {csrfOf(t, p)}, "action": {"approve"}, "reviewed": {code}, "user_code": {code}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("approval by a minted session: %d, want 403:\n%s", p.Status, p.Body)
	}
}

// TestSignInAgainNeverLeavesTheConsole: the login page that asks a
// signed-in person to sign in again sends them on only to a path of the
// console, whatever next says.
func TestSignInAgainNeverLeavesTheConsole(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`} {
		p := b.get(t, "/login?"+url.Values{"again": {"1"}, "next": {next}}.Encode())
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/login"`) {
			t.Fatalf("sign in again, next=%q: %d, no form", next, p.Status)
		}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader(url.Values{"csrf_token": {csrfOf(t, p)},
			"username": {servertest.AdminUser}, "password": {servertest.AdminPassword}, "next": {next}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/tokens" {
			t.Errorf("sign in again with next=%q: %d to %q; want 303 to /tokens", next, resp.StatusCode, loc)
		}
	}
}
