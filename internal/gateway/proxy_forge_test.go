package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestProxyStripsEveryIdentityHeaderSpelling forges the identity headers
// and Authorization under the spellings CGI, WSGI and Rack upstreams read as
// the same variable, and a client address chain.
func TestProxyStripsEveryIdentityHeaderSpelling(t *testing.T) {
	up, _ := echoUpstream(t, "api")
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", up.URL)
	f := newFixture(t, s)
	tok := f.token(t, "svc", "service")
	forged := map[string]string{
		"X_Latchkey_User": "admin", "x_latchkey_user_id": "u_admin", "X-LATCHKEY-SCOPES": "*",
		"X_LATCHKEY_TOKEN_KIND": "adm", "x-Latchkey_token-Id": "t1", "Latchkey_Token_Expiration": "never",
		"Authorization": bearer(tok.Secret), "X-Forwarded-For": "10.20.30.40",
	}
	req, err := http.NewRequest(http.MethodGet, s.URL+"/svc/web/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range forged {
		req.Header[k] = []string{v} // sent exactly as spelled
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %s", resp.StatusCode, b)
	}
	e := decodeEcho(t, string(b))
	norm := func(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "-")) }
	for k, v := range e.Header {
		n := norm(k)
		if strings.HasPrefix(n, "x-latchkey-") && k != http.CanonicalHeaderKey(n) {
			t.Errorf("the upstream received the forged %s: %q", k, v)
		}
		if n == "authorization" {
			t.Errorf("the upstream received %s", k)
		}
	}
	if got := e.Header.Get("X-Latchkey-User"); got != "alice" {
		t.Errorf("X-Latchkey-User %q, want alice", got)
	}
	if got := e.Header.Get("X-Latchkey-Scopes"); got != "service" {
		t.Errorf("X-Latchkey-Scopes %q, want service", got)
	}
	if got := e.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q, want only the client's address 127.0.0.1", got)
	}
}

// TestProxyAllowsOnlyWebSocketUpgradesAfterAuthentication: h2c (which
// would tunnel unchecked requests) is refused; a WebSocket upgrade needs the
// route's scope first, then reaches the upstream.
func TestProxyAllowsOnlyWebSocketUpgradesAfterAuthentication(t *testing.T) {
	var upgraded atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.WriteHeader(200)
			return
		}
		upgraded.Add(1)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello")
		_ = brw.Flush()
	}))
	t.Cleanup(up.Close)
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", up.URL)
	f := newFixture(t, s)
	svc := f.token(t, "svc", "service")
	read := f.token(t, "read", "repo:read")
	raw := func(upgrade, authz string) string {
		c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		req := "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: " + upgrade + "\r\n"
		if upgrade == "h2c" {
			req += "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
		}
		if authz != "" {
			req += "Authorization: " + authz + "\r\n"
		}
		fmt.Fprint(c, req+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	if st := raw("h2c", bearer(svc.Secret)); !strings.HasPrefix(st, "400") {
		t.Errorf("h2c upgrade: %s, want 400", st)
	}
	if st := raw("websocket, h2c", bearer(svc.Secret)); !strings.HasPrefix(st, "400") {
		t.Errorf("mixed upgrade: %s, want 400", st)
	}
	if st := raw("websocket", ""); !strings.HasPrefix(st, "401") {
		t.Errorf("WebSocket without a token: %s, want 401", st)
	}
	if st := raw("websocket", bearer(read.Secret)); !strings.HasPrefix(st, "403") {
		t.Errorf("WebSocket without the route's scope: %s, want 403", st)
	}
	if upgraded.Load() != 0 {
		t.Fatalf("refused upgrades reached the upstream")
	}
	if st := raw("websocket", bearer(svc.Secret)); !strings.HasPrefix(st, "101") || upgraded.Load() != 1 {
		t.Errorf("WebSocket with the scope: %s (upstream upgrades %d), want 101", st, upgraded.Load())
	}
}

// TestProxiedPagesCannotReachTheConsole is the attack of the request-edge
// issue: a page served by the proxied app asks its own origin for the
// console's /cli-auth (and the old /-/cli-auth) with the visitor's cookies.
// The console lives on --console-host only, its cookie is host-only, so the
// page gets no session token.
func TestProxiedPagesCannotReachTheConsole(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "the app at %s; cookies %q", r.URL.Path, r.Header.Get("Cookie"))
	}))
	t.Cleanup(up.Close)
	s := servertest.Start(t, "--upstream", up.URL, "--console-host", "console.test")
	addr := strings.TrimPrefix(s.URL, "http://")
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	get := func(u string) (int, string) {
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The visitor logs in to the console on its own host.
	_, page := get("http://console.test/login")
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no login form on the console host: %.300s", page)
	}
	resp, err := browser.PostForm("http://console.test/login", url.Values{"csrf_token": {m[1]}, "username": {servertest.AdminUser}, "password": {servertest.AdminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// It creates a session for the CLI: GET /cli-auth offers the form,
	// whose POST shows the token.
	_, page = get("http://console.test/cli-auth")
	m = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form on the console's /cli-auth: %.300s", page)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://console.test/cli-auth", strings.NewReader(url.Values{"csrf_token": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://console.test")
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	status, page := resp.StatusCode, string(body)
	secret := regexp.MustCompile(`lk_ses_[0-9A-Za-z]+`).FindString(page)
	if status != 200 || secret == "" {
		t.Fatalf("the console's own /cli-auth: %d, no session token shown: %.300s", status, page)
	}
	// The app's page, on the app's origin, fetches the console paths.
	for _, p := range []string{"/cli-auth", "/-/cli-auth", "/tokens", "/-/tokens"} {
		_, body := get("http://app.test" + p)
		if strings.Contains(body, "lk_ses_") || strings.Contains(body, "latchkey_session") {
			t.Errorf("GET app.test%s leaked the session: %.200s", p, body)
		}
	}
	// Even a cookie sent on purpose to the app's origin gets no console.
	req, _ = http.NewRequest(http.MethodGet, s.URL+"/-/cli-auth", nil)
	req.Host = "app.test"
	req.AddCookie(&http.Cookie{Name: "latchkey_session", Value: secret})
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if strings.Contains(string(b), secret) || strings.Contains(string(b), "Log in") {
		t.Errorf("the console answered on the app's origin: %.200s", b)
	}
}
