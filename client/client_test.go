package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/servertest"
)

func adminClient(t *testing.T, s *servertest.Server) *client.Client {
	t.Helper()
	anon, err := client.New(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := anon.Login(context.Background(), servertest.AdminUser, servertest.AdminPassword)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	c, err := client.New(s.URL, client.WithToken(res.Token))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenLifecycleThroughTheClient(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	c := adminClient(t, s)

	issued, err := c.CreateToken(ctx, client.CreateTokenRequest{Name: "ci", Description: "deploys", Scopes: []string{"repo:read", "tokens"}, ExpiresIn: "72h"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(issued.Secret, "lk_pat_") || issued.Token.Name != "ci" || issued.Token.ExpiresAt == nil {
		t.Fatalf("create answered %+v", issued)
	}
	if issued.Token.State != client.StateExpiring {
		t.Errorf("a 72h token is %q, want expiring", issued.Token.State)
	}

	// The new token works on its own and the server tells when it expires.
	pat, _ := client.New(s.URL, client.WithToken(issued.Secret))
	me, err := pat.Me(ctx)
	if err != nil || me.Token == nil || me.Token.ID != issued.Token.ID || me.User.Username != servertest.AdminUser {
		t.Fatalf("me with the new token: %+v, %v", me, err)
	}
	if at, ok := pat.TokenExpiration(); !ok || at.Sub(*issued.Token.ExpiresAt).Abs() > time.Second {
		t.Errorf("TokenExpiration = %v, %v; want %v", at, ok, issued.Token.ExpiresAt)
	}

	desc := "deploys prod"
	up, err := c.UpdateToken(ctx, issued.Token.ID, client.UpdateTokenRequest{Description: &desc})
	if err != nil || up.Description != desc {
		t.Fatalf("update: %+v, %v", up, err)
	}
	re, err := c.RegenerateToken(ctx, issued.Token.ID, client.RegenerateTokenRequest{ExpiresIn: "30d"})
	if err != nil || re.Secret == issued.Secret || re.Token.ID != issued.Token.ID {
		t.Fatalf("regenerate: %+v, %v", re, err)
	}
	if _, err := pat.Me(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("old secret after regeneration: %v, want ErrUnauthorized", err)
	}
	if err := c.RevokeToken(ctx, issued.Token.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	got, err := c.GetToken(ctx, issued.Token.ID)
	if err != nil || got.State != client.StateRevoked {
		t.Fatalf("after revoke: %+v, %v", got, err)
	}
}

func TestProblemAnswersBecomeErrorsWithStatusTitleAndDetail(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	c := adminClient(t, s)

	cases := []struct {
		name     string
		call     func() error
		sentinel error
		status   int
		detail   string
	}{
		{"unknown token", func() error { _, err := c.GetToken(ctx, "00000000-0000-0000-0000-000000000000"); return err },
			client.ErrNotFound, 404, ""},
		{"bad lifetime", func() error {
			_, err := c.CreateToken(ctx, client.CreateTokenRequest{Name: "x", ExpiresIn: "forever"})
			return err
		}, client.ErrInvalid, 422, "not a duration"},
		{"duplicate name", func() error {
			if _, err := c.CreateToken(ctx, client.CreateTokenRequest{Name: "dup"}); err != nil {
				return err
			}
			_, err := c.CreateToken(ctx, client.CreateTokenRequest{Name: "dup"})
			return err
		}, client.ErrConflict, 409, "dup"},
		{"no credential", func() error {
			anon, _ := client.New(s.URL)
			_, err := anon.Me(ctx)
			return err
		}, client.ErrUnauthorized, 401, ""},
		{"empty id", func() error { return c.RevokeToken(ctx, " ") }, client.ErrInvalid, 400, "token id is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *client.Error", err, err)
			}
			if !errors.Is(err, tc.sentinel) || e.Status != tc.status || client.StatusOf(err) != tc.status {
				t.Errorf("err = %+v, want status %d matching %v", e, tc.status, tc.sentinel)
			}
			if e.Title == "" || !strings.Contains(e.Error(), tc.detail) {
				t.Errorf("err = %q (title %q), want a title and %q in the message", e.Error(), e.Title, tc.detail)
			}
		})
	}
}

func TestIteratorsWalkEveryPage(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	c := adminClient(t, s)
	for i := range 7 {
		if _, err := c.CreateToken(ctx, client.CreateTokenRequest{Name: fmt.Sprintf("t%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.ListTokens(ctx, client.ListTokensOptions{Limit: 3})
	if err != nil || len(page.Items) != 3 || page.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	all, err := client.Collect(c.Tokens(ctx, client.ListTokensOptions{Limit: 3}))
	if err != nil || len(all) != 7 {
		t.Fatalf("Tokens walked %d tokens (%v), want 7", len(all), err)
	}
	seen := map[string]bool{}
	for _, tk := range all {
		if seen[tk.ID] {
			t.Errorf("token %s seen twice", tk.Name)
		}
		seen[tk.ID] = true
	}
	n := 0
	for range c.Tokens(ctx, client.ListTokensOptions{Limit: 2}) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("stopping early yielded %d", n)
	}
	events, err := client.Collect(c.AuditEvents(ctx, client.AuditOptions{Action: "token.", Limit: 4}))
	if err != nil || len(events) < 7 {
		t.Fatalf("audit events: %d, %v", len(events), err)
	}
}

func TestUsersPolicyAndScopes(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	c := adminClient(t, s)

	u, err := c.CreateUser(ctx, client.CreateUserRequest{Username: "bob", Password: "bob-password-1", Role: client.RoleMember})
	if err != nil || u.Username != "bob" || u.Kind != client.KindPerson {
		t.Fatalf("create user: %+v, %v", u, err)
	}
	yes := true
	if u, err = c.UpdateUser(ctx, "bob", client.UpdateUserRequest{Suspended: &yes}); err != nil || !u.Suspended {
		t.Fatalf("suspend: %+v, %v", u, err)
	}
	svc, err := c.CreateUser(ctx, client.CreateUserRequest{Username: "deployer", Kind: client.KindService})
	if err != nil {
		t.Fatal(err)
	}
	services, err := client.Collect(c.Users(ctx, client.ListUsersOptions{Kind: client.KindService}))
	if err != nil || len(services) != 1 || services[0].ID != svc.ID {
		t.Fatalf("service accounts: %+v, %v", services, err)
	}
	adm, err := c.CreateToken(ctx, client.CreateTokenRequest{Name: "automation", UserID: "deployer"})
	if err != nil || adm.Token.Kind != client.KindAdmin {
		t.Fatalf("admin access token: %+v, %v", adm, err)
	}
	if err := c.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, "bob"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}

	p, err := c.GetPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	upd := p.Update()
	upd.MaxLifetime, upd.DefaultLifetime = "90d", "30d"
	if p, err = c.SetPolicy(ctx, upd); err != nil || p.MaxLifetime != "2160h" {
		t.Fatalf("set policy: %+v, %v", p, err)
	}
	scopes, err := c.Scopes(ctx)
	if err != nil || len(scopes) == 0 {
		t.Fatalf("scopes: %v, %v", scopes, err)
	}
}

func TestTransportFailuresAreNotAPIErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close()
	c, _ := client.New(url)
	_, err := c.Scopes(context.Background())
	if err == nil || !client.IsNetwork(err) || client.StatusOf(err) != 0 {
		t.Fatalf("closed server: %v (network %v)", err, client.IsNetwork(err))
	}
	for _, bad := range []string{"latchkey.example.com", "ftp://x", "https://user:pw@x", "https://x/?a=b"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestNonProblemAnswersKeepTheirStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body>bad gateway</body></html>")
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL + "/")
	_, err := c.Me(context.Background())
	// The status is kept; the page is named for what it is, not pasted.
	if !errors.Is(err, client.ErrServer) || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "HTML page") || strings.Contains(err.Error(), "<html") {
		t.Fatalf("err = %v", err)
	}
}

// TestAnotherServersAnswersAreServerErrorsWhateverTheirStatus: a 404 page
// or an empty 401 from a web server that is not Latchkey says nothing about
// the request (a script must not read "not found" into it and create the
// token again): it is ErrServer, and only that.
func TestAnotherServersAnswersAreServerErrorsWhateverTheirStatus(t *testing.T) {
	for _, tc := range []struct {
		status      int
		contentType string
		body        string
	}{
		{http.StatusNotFound, "text/html", "<html>404</html>"},
		{http.StatusNotFound, "", ""},
		{http.StatusUnauthorized, "text/plain", "401 Unauthorized"},
		{http.StatusConflict, "application/json", `{"message":"conflict"}`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.contentType != "" {
				w.Header().Set("Content-Type", tc.contentType)
			}
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
		}))
		c, _ := client.New(srv.URL + "/")
		_, err := c.Me(context.Background())
		srv.Close()
		if !errors.Is(err, client.ErrServer) || !client.IsNotLatchkey(err) ||
			errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrUnauthorized) || errors.Is(err, client.ErrConflict) {
			t.Errorf("%d %q %q: err = %v; want ErrServer only", tc.status, tc.contentType, tc.body, err)
		}
	}
	// JSON that is not Latchkey's: a /me answer without a user.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"method":"GET","path":"/api/v1/me"}`)
	}))
	c, _ := client.New(echo.URL + "/")
	if _, err := c.Me(context.Background()); !errors.Is(err, client.ErrServer) || !client.IsNotLatchkey(err) {
		t.Errorf("a JSON echo server's /me: err = %v; want a not-Latchkey server error", err)
	}
	echo.Close()
	// The same for the OAuth endpoints' form requests; the status stays
	// readable (login --web falls back to pasting on a 404).
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	c, _ = client.New(empty.URL + "/")
	if _, err := c.DeviceAuthorize(context.Background()); !client.IsNotLatchkey(err) || client.StatusOf(err) != http.StatusNotFound || errors.Is(err, client.ErrNotFound) {
		t.Errorf("an empty 404 from the device endpoint: err = %v (status %d); want a not-Latchkey server error keeping its status", err, client.StatusOf(err))
	}
	empty.Close()
	// Latchkey's own problem answers keep their meaning.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"title":"Not Found","status":404,"detail":"no token with id x"}`)
	}))
	defer srv.Close()
	c, _ = client.New(srv.URL + "/")
	if _, err := c.Me(context.Background()); !errors.Is(err, client.ErrNotFound) || client.IsNotLatchkey(err) {
		t.Errorf("a problem answer: err = %v; want ErrNotFound", err)
	}
}

func TestExchangeRefusalIsAnOAuthError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/token" || r.PostFormValue("grant_type") != client.GrantTypeTokenExchange ||
			r.PostFormValue("scope") != "repo:read job" || r.Header.Get("Authorization") != "" {
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_scope","error_description":"the subject token does not hold job"}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, client.WithToken("lk_pat_x"))
	_, err := c.ExchangeToken(context.Background(), client.ExchangeRequest{Scopes: []string{"repo:read", "job"}})
	var oe *client.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_scope" || oe.Status != 400 || !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("err = %#v", err)
	}
}

func TestExportAuditStreamsEveryMatchingEvent(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	c := adminClient(t, s)
	for i := range 3 {
		if _, err := c.CreateToken(ctx, client.CreateTokenRequest{Name: fmt.Sprintf("x%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	exported, err := client.Collect(c.ExportAudit(ctx, client.AuditOptions{Action: "token."}))
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	listed, err := client.Collect(c.AuditEvents(ctx, client.AuditOptions{Action: "token."}))
	if err != nil {
		t.Fatal(err)
	}
	if len(exported) != 3 || len(listed) != 3 || exported[0].ID != listed[0].ID || exported[0].Action != "token.create" {
		t.Fatalf("exported %+v, listed %+v", exported, listed)
	}
	anon, _ := client.New(s.URL)
	if _, err := client.Collect(anon.ExportAudit(ctx, client.AuditOptions{})); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("anonymous export: %v", err)
	}
}
