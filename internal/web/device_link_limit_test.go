package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestDeviceLinksToUnknownCodesDoNotBlockTheVisitorsAddress: opening
// /device?user_code=... is a GET any site can make a signed-in browser do
// (a top-level navigation carries the SameSite=Lax session cookie). If an
// unknown code in a link counted as a wrong guess, a hostile page could
// open a few dozen such links and block the victim's address (an office's
// shared one) from password logins and from verifying tokens. Only a code
// the person sends (a POST) counts; the link's review still says the code
// is unknown.
func TestDeviceLinksToUnknownCodesDoNotBlockTheVisitorsAddress(t *testing.T) {
	s := servertest.Start(t)
	b := browserSignedInAt(t, s, time.Now())
	for range 40 {
		p := b.get(t, "/device?user_code=BCDF-GHJK")
		if p.Status == http.StatusTooManyRequests {
			t.Fatalf("a link to an unknown code, opened again and again, got the address blocked: %d", p.Status)
		}
		mustContain(t, p, "unknown, expired or already used")
	}
	if code, body, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{
		"username": servertest.AdminUser, "password": servertest.AdminPassword}); code != http.StatusOK {
		t.Fatalf("after 40 links to unknown codes, a login from the same address: %d %s", code, body)
	}

	// Codes the person sends are still guesses that count.
	p := b.get(t, "/device")
	blocked := false
	for range 40 {
		p = b.post(t, "/device", url.Values{"csrf_token": {csrfOf(t, p)}, "user_code": {"BCDF-GHJK"}})
		if p.Status == http.StatusTooManyRequests {
			blocked = true
			break
		}
	}
	if !blocked {
		t.Fatal("40 wrong codes sent from the form were never throttled")
	}
}
