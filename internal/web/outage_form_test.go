package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// TestAFormSentDuringAnOutageSaysSoNot500: a console form whose write
// fails because the disk is full answers 503 with Retry-After and says the
// disk is full, as the API does, never "Something went wrong" with a 500;
// and, as after the API's refused write, /readyz turns 503 at once, so a
// load balancer stops sending people to a server that cannot write.
func TestAFormSentDuringAnOutageSaysSoNot500(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	csrf := csrfOf(t, b.get(t, "/tokens/new"))
	if err := s.App.Store.(*sqlite.Store).FillForTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	var p page
	for i := 0; i < 500; i++ {
		p = b.post(t, "/tokens/new", url.Values{"csrf_token": {csrf}, "name": {"filler-" + strings.Repeat("x", 80) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))},
			"description": {strings.Repeat("d", 400)}, "expiration": {"7d"}, "access": {"specific"}, "scope": {"repo"}})
		if p.Status != http.StatusOK && p.Status != http.StatusSeeOther && p.Status != http.StatusCreated {
			break
		}
	}
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "disk is full") {
		t.Fatalf("a token form on a full disk: %d; want 503 saying the disk is full; body:\n%.2000s", p.Status, p.Body)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(body), "the disk is full") {
		t.Errorf("/readyz after a console write refused for a full disk: %d %q; want 503 saying the disk is full", st, body)
	}
}
