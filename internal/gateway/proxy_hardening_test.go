package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestProxyForwardsOnlyItsOwnAccountOfTheClient: a client must not tell
// the upstream where it comes from or which site it reached. Besides the
// headers ReverseProxy drops as spelled, the upstream must not receive
// X-Real-IP, other X-Forwarded-* headers, or CGI-style spellings
// (X_Forwarded_For is HTTP_X_FORWARDED_FOR to CGI, WSGI and Rack, the same
// variable as X-Forwarded-For).
func TestProxyForwardsOnlyItsOwnAccountOfTheClient(t *testing.T) {
	up, _ := echoUpstream(t, "api")
	s := servertest.Start(t, "--config", writeConfig(t, serviceRules), "--upstream", up.URL)
	f := newFixture(t, s)
	tok := f.token(t, "svc", "service")
	forged := map[string]string{
		"X-Real-IP": "10.20.30.40", "X_Real_IP": "10.20.30.41", "x-real_ip": "10.20.30.42",
		"X_Forwarded_For": "10.20.30.43", "X_Forwarded_Host": "evil.example", "X_Forwarded_Proto": "https",
		"X-Forwarded-Prefix": "/evil", "X-Forwarded-Port": "443", "X-Forwarded-Server": "evil.example",
		"X_Forwarded": "for=10.20.30.44", "FORWARDED": "for=10.20.30.45",
	}
	req, err := http.NewRequest(http.MethodGet, s.URL+"/svc/web/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range forged {
		req.Header[k] = []string{v} // sent exactly as spelled
	}
	req.Header.Set("Authorization", bearer(tok.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_, _ = ioCopy(&b, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", resp.StatusCode, b.String())
	}
	e := decodeEcho(t, b.String())
	host := strings.TrimPrefix(s.URL, "http://")
	want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": host, "X-Forwarded-Proto": "http"}
	for k, v := range e.Header {
		n := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
		if n != "forwarded" && n != "x-real-ip" && !strings.HasPrefix(n, "x-forwarded") {
			continue
		}
		if w, ok := want[k]; !ok || len(v) != 1 || v[0] != w {
			t.Errorf("the upstream received %s: %q; only Latchkey's X-Forwarded-For, -Host and -Proto may reach it", k, v)
		}
	}
	for k, v := range want {
		if got := e.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// TestProxyTurnsUpstreamRedirectsIntoTheClientsAddress: the upstream sees
// its own Host, so the absolute redirects it builds name its internal
// address. The client must get a location on the address it used (with a
// stripped path_prefix put back), never the internal one; redirects to
// other sites pass unchanged.
func TestProxyTurnsUpstreamRedirectsIntoTheClientsAddress(t *testing.T) {
	redirector := func() *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/base/elsewhere":
				http.Redirect(w, r, "https://sso.example.com/login?next=x", http.StatusFound)
			case "/base/sneaky":
				w.Header().Set("Location", "http://"+r.Host+"/base//evil.example/x")
				w.WriteHeader(http.StatusFound)
			default:
				http.Redirect(w, r, "http://"+r.Host+"/base/login?next=%2Fdash#top", http.StatusFound)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	catchAll, prefixed := redirector(), redirector()
	cfg := writeConfig(t, `
routes:
  default: authenticated
upstreams:
  - path_prefix: /grafana
    url: `+prefixed.URL+`/base
    strip_prefix: true
`)
	s := servertest.Start(t, "--config", cfg, "--upstream", catchAll.URL+"/base/")
	f := newFixture(t, s)
	tok := f.token(t, "svc", "service")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct{ path, want string }{
		{"/dash", "/login?next=%2Fdash#top"},
		{"/grafana/dash", "/grafana/login?next=%2Fdash#top"},
		{"/elsewhere", "https://sso.example.com/login?next=x"},
		{"/sneaky", "http://" + strings.TrimPrefix(catchAll.URL, "http://") + "/base//evil.example/x"},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+tt.path, nil)
		req.Header.Set("Authorization", bearer(tok.Secret))
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || loc != tt.want {
			t.Errorf("GET %s: %d Location %q, want 302 %q", tt.path, resp.StatusCode, loc, tt.want)
		}
		if tt.path != "/sneaky" {
			for _, internal := range []string{catchAll.URL, prefixed.URL} {
				if u, _ := url.Parse(internal); strings.Contains(loc, u.Host) {
					t.Errorf("GET %s: Location %q names the upstream's internal address", tt.path, loc)
				}
			}
		}
	}
}

func ioCopy(b *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(b, resp.Body)
}
