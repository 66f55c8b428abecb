package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/service"
)

// --request-timeout bounds Latchkey's own API, not the upstreams it proxies
// to: an upstream on its own host answers /api/ paths too (Gitea's
// /api/v1, GitLab's /api/v4), and a slow answer there must not be cut.
func TestRequestTimeoutLeavesHostUpstreamsAlone(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		_, _ = io.WriteString(w, "slow ok "+r.URL.Path)
	}))
	defer up.Close()
	cfg := writeConfig(t, `
routes:
  default: authenticated
upstreams:
  - host: up.test
    url: `+up.URL+`
`)
	s := servertest.Start(t, "--config", cfg, "--request-timeout", "500ms")
	// The token is made in the process, not over the API: the API answers
	// under the same 500 ms limit, which a loaded machine's password
	// checks (the logins a fixture makes) can exceed.
	ctx := context.Background()
	admin, err := s.App.Store.GetUserByUsername(ctx, servertest.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.App.Services.Tokens.Create(ctx, service.Actor{User: admin, Scopes: s.App.Services.Catalog.ForRole(string(admin.Role)), Session: true},
		service.CreateTokenInput{Name: "svc", Scopes: []string{"service"}, Expiry: service.Expiry{ExpiresIn: "720h"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/web/slow", "/api/slow", "/oauth2/slow"} {
		req, err := http.NewRequest(http.MethodGet, s.URL+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "up.test"
		req.Header.Set("Authorization", bearer(tok.Secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "slow ok "+p {
			t.Errorf("GET %s on the upstream's host: %d %q; want the upstream's 200", p, resp.StatusCode, b)
		}
	}
}
