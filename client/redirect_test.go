package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/servertest"
)

// TestCredentialsNeverFollowARedirectToAnotherServer: Go's HTTP client
// keeps Authorization on a redirect to the same host name, whatever the
// port or scheme (so https://h to http://h:8080 sends the token in clear),
// and resends a 307/308's body (a password, a token to exchange, reported
// secrets) to any host. The client must not send its credential or a
// request body to any origin but the server's.
func TestCredentialsNeverFollowARedirectToAnotherServer(t *testing.T) {
	var mu sync.Mutex
	var seen []string // what the other server received
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" body="+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token":"x","expires_at":"2030-01-01T00:00:00Z","user":{},"items":[]}`)
	}))
	t.Cleanup(other.Close)
	// Same host name (127.0.0.1), another port: Go would keep Authorization.
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(server.Close)

	const secret = "lk_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000"
	c, err := client.New(server.URL, client.WithToken(secret))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"Me":          func() error { _, err := c.Me(ctx); return err },
		"Login":       func() error { _, err := c.Login(ctx, "alice", "hunter2-password"); return err },
		"Exchange":    func() error { _, err := c.ExchangeToken(ctx, client.ExchangeRequest{}); return err },
		"ReportLeaks": func() error { _, err := c.ReportLeaks(ctx, []client.LeakReport{{Token: secret}}); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: followed a redirect to another server without an error", name)
		} else if !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%s: error %q does not say a redirect was refused", name, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		t.Errorf("the other server received %s", s)
	}
}

// TestDotIdsCannotAddressAnotherRoute: "." and ".." are not escaped in a
// path, and the server redirects (307, method kept) /api/v1/sessions/. to
// /api/v1/sessions, where DELETE ends every other session of the caller. A
// program passing an id it was given to RevokeSession must not end all of
// them; every call taking an id refuses "." and "..".
func TestDotIdsCannotAddressAnotherRoute(t *testing.T) {
	s := servertest.Start(t)
	other := s.AdminSession(t) // a second session of the same user
	c := adminClient(t, s)
	ctx := context.Background()
	for _, id := range []string{".", ".."} {
		if err := c.RevokeSession(ctx, id); err == nil || !errors.Is(err, client.ErrInvalid) {
			t.Errorf("RevokeSession(%q) = %v, want an ErrInvalid refusal", id, err)
		}
		if _, err := c.GetToken(ctx, id); err == nil || !errors.Is(err, client.ErrInvalid) {
			t.Errorf("GetToken(%q) = %v, want an ErrInvalid refusal", id, err)
		}
	}
	still, err := client.New(s.URL, client.WithToken(other))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := still.Me(ctx); err != nil {
		t.Fatalf("the caller's other session was ended: %v", err)
	}
}
