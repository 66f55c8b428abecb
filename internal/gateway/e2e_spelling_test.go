package gateway_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// forgedFamily is a client's copy of every header Latchkey sets, in the
// spellings a backend reads as the real one: CGI, WSGI, Rack and PHP turn
// '-' into '_' and ignore case (X_Latchkey_User is HTTP_X_LATCHKEY_USER),
// and PHP also turns '.' into '_'.
var forgedFamily = map[string]string{
	"X-Latchkey-User":           "mallory",
	"x-latchkey-user-id":        "forged-id",
	"X_Latchkey_User":           "ceo",
	"X-Latchkey_Token_Id":       "forged-token",
	"x_latchkey-token-kind":     "adm",
	"X.Latchkey.Scopes":         "*",
	"X-Latchkey-Reason":         "forged reason",
	"Latchkey-Token-Expiration": "2099-01-01T00:00:00Z",
	"Latchkey_Token_Expiration": "2099-01-01T00:00:00Z",
}

// familyName is the header name a CGI-style backend reads for k, in its
// canonical spelling, when k is a spelling of a header Latchkey sets;
// otherwise "".
func familyName(k string) string {
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(k))
	if strings.HasPrefix(n, "x-latchkey-") || strings.HasPrefix(n, "latchkey-") {
		return http.CanonicalHeaderKey(n)
	}
	return ""
}

// latchkeyFamily is every header of the upstream's request that a backend
// reads as one Latchkey sets, by the name it reads, with the spelling that
// arrived.
func latchkeyFamily(h http.Header) map[string][]string {
	out := map[string][]string{}
	for k, vs := range h {
		if n := familyName(k); n != "" {
			out[n] = append(out[n], k+": "+strings.Join(vs, ","))
		}
	}
	return out
}

// checkOnlyLatchkeysHeaders sends an API call and a public call through the
// gateway at base with the whole forged family, and checks that the
// upstream sees Latchkey's identity, under its own spelling, and nothing
// a client sent.
func checkOnlyLatchkeysHeaders(t *testing.T, s *servertest.Server, base string) {
	t.Helper()
	f := newFixture(t, s)
	web := f.token(t, "deploy-web", "service=web")
	forged := func(h http.Header) http.Header {
		for k, v := range forgedFamily {
			h[k] = []string{v}
		}
		return h
	}
	resp, body := send(t, http.MethodPost, base+"/v1/services/web/deploy", forged(http.Header{"Authorization": {bearer(web.Secret)}}))
	if resp.StatusCode != 200 {
		t.Fatalf("deploy web: status %d: %s", resp.StatusCode, body)
	}
	got := latchkeyFamily(decodeEcho(t, body).Header)
	want := map[string][]string{
		"X-Latchkey-User": {"X-Latchkey-User: alice"}, "X-Latchkey-User-Id": {"X-Latchkey-User-Id: " + f.aliceID},
		"X-Latchkey-Token-Id": {"X-Latchkey-Token-Id: " + web.ID()}, "X-Latchkey-Token-Kind": {"X-Latchkey-Token-Kind: pat"},
		"X-Latchkey-Scopes": {"X-Latchkey-Scopes: service=web"},
	}
	// The token's expiry may reach the upstream too, but only Latchkey's.
	if exp := got["Latchkey-Token-Expiration"]; len(exp) == 1 && strings.HasPrefix(exp[0], "Latchkey-Token-Expiration: ") && !strings.Contains(exp[0], "2099") {
		want["Latchkey-Token-Expiration"] = exp
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the upstream saw\n\t%v\nwant only Latchkey's\n\t%v", got, want)
	}
	resp, body = send(t, http.MethodGet, base+"/v1/health", forged(http.Header{}))
	if got := latchkeyFamily(decodeEcho(t, body).Header); resp.StatusCode != 200 || len(got) != 0 {
		t.Errorf("public route: status %d, the upstream saw %v; want 200 and none of the client's", resp.StatusCode, got)
	}
}

// TestAPIOverNginxGivesTheUpstreamOnlyLatchkeysHeaders runs deploy/nginx/api.conf
// in the real nginx, also with underscores_in_headers turned on for the
// whole http block, as an operator may have done for another site.
func TestAPIOverNginxGivesTheUpstreamOnlyLatchkeysHeaders(t *testing.T) {
	for _, httpLevel := range []string{"", "underscores_in_headers on;\nignore_invalid_headers off;\n"} {
		t.Run(fmt.Sprintf("http block %q", httpLevel), func(t *testing.T) {
			api, _ := echoUpstream(t, "api")
			s := servertest.Start(t, trustLoopback, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"))
			port := freePort(t)
			startNginx(t, port, map[string]string{
				"0-http.conf": httpLevel,
				"api.conf": renderTemplate(t, "nginx/api.conf", [][2]string{
					{"listen 8001;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
					{"http://127.0.0.1:9000", api.URL},
					{"http://127.0.0.1:8080", s.URL},
				}),
			})
			checkOnlyLatchkeysHeaders(t, s, fmt.Sprintf("http://127.0.0.1:%d", port))
		})
	}
}

func TestAPIOverCaddyGivesTheUpstreamOnlyLatchkeysHeaders(t *testing.T) {
	api, _ := echoUpstream(t, "api")
	s := servertest.Start(t, trustLoopback, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"))
	port := freePort(t)
	startCaddy(t, port, s.URL, api.URL)
	checkOnlyLatchkeysHeaders(t, s, fmt.Sprintf("http://127.0.0.1:%d", port))
}

// TestTraefikRegexCoversEverySpelling checks deploy/traefik/dynamic.yml's
// authResponseHeadersRegex the way Traefik's forwardAuth applies it (it
// deletes every request header whose name, as Go's HTTP server keys it,
// matches, then copies the matching headers of Latchkey's answer): on the
// header names a real Go server makes of each forged spelling. Traefik
// itself is not run here.
func TestTraefikRegexCoversEverySpelling(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "traefik/dynamic.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*authResponseHeadersRegex:\s*"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("deploy/traefik/dynamic.yml has no authResponseHeadersRegex")
	}
	re := regexp.MustCompile(string(m[1]))
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k := range r.Header {
			keys = append(keys, k)
		}
	}))
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	for k, v := range forgedFamily {
		raw += k + ": " + v + "\r\n"
	}
	fmt.Fprint(conn, raw+"\r\n")
	buf := make([]byte, 4096)
	_, _ = conn.Read(buf)
	if !strings.HasPrefix(string(buf), "HTTP/1.1 200") {
		t.Fatalf("the Go server refused the forged headers: %q", buf)
	}
	for _, k := range keys {
		if familyName(k) != "" && !re.MatchString(k) {
			t.Errorf("%s reaches the service: %q does not match it", k, re)
		}
	}
	for _, k := range []string{"X-Latchkey-User", "X-Latchkey-User-Id", "X-Latchkey-Token-Id", "X-Latchkey-Token-Kind", "X-Latchkey-Scopes"} {
		if !re.MatchString(k) {
			t.Errorf("Latchkey's %s is not copied: %q does not match it", k, re)
		}
	}
	for _, k := range []string{"Authorization", "X-Forwarded-For", "Content-Type", "X-Latchkeyish"} {
		if re.MatchString(k) {
			t.Errorf("%q also deletes the client's %s", re, k)
		}
	}
}
