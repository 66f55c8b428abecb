package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// echoed is what the echo upstream saw.
type echoed struct {
	Upstream string      `json:"upstream"`
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	Query    string      `json:"query"`
	Header   http.Header `json:"header"`
}

// echoUpstream answers every request with what it saw, as JSON, and
// counts the requests.
func echoUpstream(t *testing.T, name string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{name, r.Method, r.URL.Path, r.URL.RawQuery, r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func decodeEcho(t *testing.T, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("upstream answer %q: %v", body, err)
	}
	return e
}

const serviceRules = `
routes:
  preset: none
  rules:
    - name: service-api
      path: /svc/{name}/{rest...}
      scope: service
      resource: "{name}"
    - name: socket
      path: /ws
      scope: service
    - name: open
      path: /open
      public: true
`

func TestProxyForwardsIdentityAndNeverTheCredential(t *testing.T) {
	up, hits := echoUpstream(t, "api")
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", up.URL+"/base")
	f := newFixture(t, s)
	tok := f.token(t, "web-deployer", "service=web")

	resp, body := send(t, http.MethodGet, s.URL+"/svc/web/logs?tail=5", http.Header{
		"Authorization":   {bearer(tok.Secret)},
		"Cookie":          {"latchkey_session=lk_ses_x; theme=dark", "__Host-latchkey_session=y"},
		"X-Latchkey-User": {"mallory"}, "X-Latchkey-Admin": {"yes"},
	})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	e := decodeEcho(t, body)
	if e.Path != "/base/svc/web/logs" || e.Query != "tail=5" {
		t.Errorf("upstream saw %s?%s, want /base/svc/web/logs?tail=5", e.Path, e.Query)
	}
	for k, want := range map[string]string{
		"Authorization": "", "Cookie": "theme=dark", "X-Latchkey-Admin": "",
		"X-Latchkey-User": "alice", "X-Latchkey-User-Id": f.aliceID, "X-Latchkey-Token-Id": tok.ID(),
		"X-Latchkey-Scopes": "service=web", "X-Forwarded-For": "127.0.0.1",
		"X-Forwarded-Host": strings.TrimPrefix(s.URL, "http://"),
	} {
		if got := strings.Join(e.Header.Values(k), ","); got != want {
			t.Errorf("upstream saw %s %q, want %q", k, got, want)
		}
	}
	if _, err := time.Parse(time.RFC3339, resp.Header.Get("Latchkey-Token-Expiration")); err != nil {
		t.Errorf("Latchkey-Token-Expiration on the proxied answer: %v", err)
	}

	resp, body = send(t, http.MethodGet, s.URL+"/open", http.Header{"X-Latchkey-User": {"mallory"}})
	if e := decodeEcho(t, body); resp.StatusCode != 200 || e.Header.Get("X-Latchkey-User") != "" {
		t.Errorf("public route: status %d, upstream saw X-Latchkey-User %q; want 200 and none", resp.StatusCode, e.Header.Get("X-Latchkey-User"))
	}

	before := hits.Load()
	for _, tc := range []struct {
		path, auth string
		want       int
		bodyHas    string
	}{
		{"/svc/db/logs", bearer(tok.Secret), 403, "service scope on db"},
		{"/svc/web/logs", "", 401, "authentication required"},
		{"/svc/web/logs", basic("x", "not-a-token"), 401, ""},
		{"/elsewhere", bearer(tok.Secret), 403, "no route rule allows GET /elsewhere"},
	} {
		resp, body := send(t, http.MethodGet, s.URL+tc.path, http.Header{"Authorization": {tc.auth}})
		if resp.StatusCode != tc.want || !strings.Contains(body, tc.bodyHas) {
			t.Errorf("GET %s: status %d body %q, want %d with %q", tc.path, resp.StatusCode, body, tc.want, tc.bodyHas)
		}
		if tc.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
			t.Errorf("GET %s: WWW-Authenticate %q, want a Basic challenge", tc.path, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if n := hits.Load() - before; n != 0 {
		t.Errorf("the upstream got %d refused requests, want 0", n)
	}
}

func TestProxyKeepsLatchkeysOwnPaths(t *testing.T) {
	up, hits := echoUpstream(t, "api")
	s := servertest.Start(t, "--upstream", up.URL)
	f := newFixture(t, s)
	tok := f.token(t, "me", "repo")
	for _, tc := range []struct{ path, bodyHas string }{
		{"/healthz", "ok"},
		{"/api/v1/me", `"username":"alice"`},
		{"/auth/verify/acme/web.git/info/refs?service=git-upload-pack", ""},
	} {
		resp, body := send(t, http.MethodGet, s.URL+tc.path, http.Header{"Authorization": {bearer(tok.Secret)}})
		if resp.StatusCode != 200 || !strings.Contains(body, tc.bodyHas) {
			t.Errorf("GET %s: status %d body %.200q, want 200 with %q from Latchkey", tc.path, resp.StatusCode, body, tc.bodyHas)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the upstream got %d requests for Latchkey's own paths", hits.Load())
	}
}

func TestProxyRoutesByHostThenPathPrefixThenCatchAll(t *testing.T) {
	byHost, _ := echoUpstream(t, "by-host")
	byPath, _ := echoUpstream(t, "by-path")
	catchAll, _ := echoUpstream(t, "catch-all")
	cfg := fmt.Sprintf(`
routes:
  default: authenticated
upstreams:
  - host: git.test
    url: %s
  - path_prefix: /svc/
    url: %s/inner
    strip_prefix: true
    routes:
      preset: none
      rules:
        - path: /{name}/{rest...}
          scope: service
          resource: "{name}"
`, byHost.URL, byPath.URL)
	s := servertest.Start(t, "--config", writeConfig(t, cfg), "--upstream", catchAll.URL)
	f := newFixture(t, s)
	tok := f.token(t, "web", "service=web")
	for _, tc := range []struct {
		host, path     string
		want           int
		upstream, seen string // which upstream answered, and the path it saw
	}{
		{"git.test", "/healthz", 200, "by-host", "/healthz"},
		{"GIT.test:8443", "/api/v1/me", 200, "by-host", "/api/v1/me"},
		{"", "/svc/web/logs", 200, "by-path", "/inner/web/logs"},
		{"", "/svc/db/logs", 403, "", ""},
		{"", "/svcx/web", 200, "catch-all", "/svcx/web"},
		{"", "/anything", 200, "catch-all", "/anything"},
		{"", "/healthz", 200, "", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
		if tc.host != "" {
			req.Host = tc.host
		}
		req.Header.Set("Authorization", bearer(tok.Secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: status %d (%s), want %d", tc.host, tc.path, resp.StatusCode, body, tc.want)
			continue
		}
		if tc.upstream == "" {
			if strings.Contains(string(body), `"upstream"`) {
				t.Errorf("%s %s: answered by an upstream (%s), want Latchkey", tc.host, tc.path, body)
			}
			continue
		}
		if e := decodeEcho(t, string(body)); e.Upstream != tc.upstream || e.Path != tc.seen {
			t.Errorf("%s %s: %s saw %s, want %s to see %s", tc.host, tc.path, e.Upstream, e.Path, tc.upstream, tc.seen)
		}
	}
}

func TestProxyStreamsBodiesBothWays(t *testing.T) {
	gotFirst, clientRead := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, first); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		close(gotFirst) // the proxy passed the first part before the client sent the rest
		rest, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s+%s|", first, rest)
		w.(http.Flusher).Flush()
		select {
		case <-clientRead: // the client read the first part before the upstream sent the rest
			fmt.Fprint(w, "done")
		case <-time.After(10 * time.Second):
			fmt.Fprint(w, "response was buffered")
		}
	}))
	t.Cleanup(up.Close)
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", up.URL)
	tok := newFixture(t, s).token(t, "stream", "service")

	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte("first"))
		select {
		case <-gotFirst:
			_, _ = pw.Write([]byte("second"))
			pw.Close()
		case <-time.After(10 * time.Second):
			pw.CloseWithError(fmt.Errorf("request body was buffered"))
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/svc/x/upload", pr)
	req.Header.Set("Authorization", bearer(tok.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	head, err := br.ReadString('|')
	if err != nil || head != "first+second|" {
		t.Fatalf("first part %q, %v; want \"first+second|\"", head, err)
	}
	close(clientRead)
	if tail, _ := io.ReadAll(br); string(tail) != "done" {
		t.Errorf("second part %q, want \"done\"", tail)
	}
}

func TestProxyPassesWebSocketUpgrades(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "expected an upgrade", 400)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Saw-User: %s\r\nX-Saw-Authorization: %s\r\n\r\n",
			r.Header.Get("X-Latchkey-User"), r.Header.Get("Authorization"))
		_ = rw.Flush()
		_, _ = io.Copy(conn, rw) // echo
	}))
	t.Cleanup(up.Close)
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", up.URL)
	tok := newFixture(t, s).token(t, "ws", "service")

	u, _ := url.Parse(s.URL)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", u.Host, bearer(tok.Secret))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Saw-User") != "alice" || resp.Header.Get("X-Saw-Authorization") != "" {
		t.Fatalf("status %d, upstream saw user %q and authorization %q; want 101, alice and none",
			resp.StatusCode, resp.Header.Get("X-Saw-User"), resp.Header.Get("X-Saw-Authorization"))
	}
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, 4)
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "ping" {
		t.Errorf("echo %q, %v; want ping over the upgraded connection", echo, err)
	}
}

func TestProxyTimesOutCleanlyWhenTheUpstreamHangs(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(up.Close)
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", up.URL, "--upstream-timeout", "300ms")
	tok := newFixture(t, s).token(t, "slow", "service")
	start := time.Now()
	resp, body := send(t, http.MethodGet, s.URL+"/svc/x/slow", http.Header{"Authorization": {bearer(tok.Secret)}})
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "did not answer within 300ms") {
		t.Errorf("status %d body %q, want 504 saying the upstream did not answer within 300ms", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %s", d)
	}
}

func TestProxyReportsAnUnreachableUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", dead)
	tok := newFixture(t, s).token(t, "dead", "service")
	resp, body := send(t, http.MethodGet, s.URL+"/svc/x/y", http.Header{"Authorization": {bearer(tok.Secret)}})
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "could not be reached") || strings.Contains(body, ln.Addr().String()) {
		t.Errorf("status %d body %q, want 502 saying the upstream could not be reached, without its address", resp.StatusCode, body)
	}
}
