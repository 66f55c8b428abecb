package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

const verifyRules = `
routes:
  preset: git
  rules:
    - name: status-page
      path: /status
      public: true
    - name: deploy-service
      methods: [POST]
      path: /v1/services/{service}/deploy
      scope: service
      resource: "{service}"
`

// verifyStyle builds the /auth/verify request each proxy sends for an
// original method and URI.
type verifyStyle struct {
	name  string
	build func(base, method, uri string) (string, string, http.Header) // method, URL, headers
}

var styles = []verifyStyle{
	{"nginx", func(base, method, uri string) (string, string, http.Header) {
		return http.MethodGet, base + "/auth/verify", http.Header{
			"X-Original-Method": {method}, "X-Original-Uri": {uri}, "X-Forwarded-For": {"192.0.2.7"},
		}
	}},
	{"traefik", func(base, method, uri string) (string, string, http.Header) {
		return http.MethodGet, base + "/auth/verify", http.Header{
			"X-Forwarded-Method": {method}, "X-Forwarded-Uri": {uri}, "X-Forwarded-Host": {"git.example.com"},
			"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"192.0.2.7"},
		}
	}},
	{"envoy", func(base, method, uri string) (string, string, http.Header) {
		return method, base + "/auth/verify" + uri, http.Header{"X-Forwarded-For": {"192.0.2.7"}}
	}},
}

func TestVerifyAnswersEachProxyStyle(t *testing.T) {
	s := servertest.Start(t, trustLoopback, "--config", writeConfig(t, verifyRules))
	f := newFixture(t, s)
	read := f.token(t, "read", "repo:read")
	write := f.token(t, "write", "repo")
	narrowed := f.token(t, "acme-only", "repo:read=acme/*")
	deployer := f.token(t, "deploy-web", "service=web")
	const (
		fetchRefs = "/acme/web.git/info/refs?service=git-upload-pack"
		pushRefs  = "/acme/web.git/info/refs?service=git-receive-pack"
	)
	tests := []struct {
		name, method, uri, auth string
		want                    int
		bodyHas                 string
	}{
		{"clone refs with repo:read", "GET", fetchRefs, basic("x", read.Secret), 200, ""},
		{"fetch pack with repo:read", "POST", "/acme/web.git/git-upload-pack", basic("x", read.Secret), 200, ""},
		{"push refs with repo:read", "GET", pushRefs, basic("x", read.Secret), 403, "repo scope on acme/web"},
		{"push pack with repo:read", "POST", "/acme/web.git/git-receive-pack", basic("x", read.Secret), 403, "git-push"},
		{"push with repo", "POST", "/acme/web.git/git-receive-pack", basic("x", write.Secret), 200, ""},
		{"bearer works too", "GET", fetchRefs, bearer(read.Secret), 200, ""},
		{"narrowed token on acme", "GET", fetchRefs, basic("x", narrowed.Secret), 200, ""},
		{"narrowed token on other", "GET", "/other/x.git/info/refs?service=git-upload-pack", basic("x", narrowed.Secret), 403, "on other/x"},
		{"no credential", "GET", fetchRefs, "", 401, "authentication required"},
		{"wrong password", "GET", fetchRefs, basic("x", "hunter2"), 401, ""},
		{"garbled header", "GET", fetchRefs, "Negotiate abc", 401, "not understood"},
		{"unmatched route", "GET", "/acme/web.git/HEAD", bearer(write.Secret), 403, "no route rule allows GET /acme/web.git/HEAD"},
		{"dot segments", "GET", "/acme/../other/x.git/info/refs?service=git-upload-pack", bearer(write.Secret), 403, "no route rule"},
		{"public route", "GET", "/status", "", 200, ""},
		{"resource from path", "POST", "/v1/services/web/deploy", bearer(deployer.Secret), 200, ""},
		{"other resource", "POST", "/v1/services/db/deploy", bearer(deployer.Secret), 403, "service scope on db"},
	}
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range tests {
				method, url, h := st.build(s.URL, tc.method, tc.uri)
				if tc.auth != "" {
					h.Set("Authorization", tc.auth)
				}
				resp, body := send(t, method, url, h)
				if resp.StatusCode != tc.want || !strings.Contains(body, tc.bodyHas) {
					t.Errorf("%s: status %d body %q; want %d with %q", tc.name, resp.StatusCode, body, tc.want, tc.bodyHas)
				}
				if tc.want == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="latchkey", charset="UTF-8"` {
					t.Errorf("%s: WWW-Authenticate = %q, want a Basic challenge so git prompts", tc.name, resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestVerifySendsIdentityAndExpiryHeaders(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	tok := f.token(t, "ci", "repo:read=acme/*", "job")
	resp, _ := send(t, http.MethodGet, s.URL+"/auth/verify", http.Header{
		"X-Original-Method": {"GET"}, "X-Original-Uri": {"/acme/web.git/info/refs?service=git-upload-pack"},
		"Authorization": {basic("ci-bot", tok.Secret)},
	})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	want := map[string]string{
		"X-Latchkey-User": "alice", "X-Latchkey-User-Id": f.aliceID, "X-Latchkey-Token-Id": tok.ID(),
		"X-Latchkey-Token-Kind": "pat", "X-Latchkey-Scopes": "job repo:read=acme/*",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	exp, err := time.Parse(time.RFC3339, resp.Header.Get("Latchkey-Token-Expiration"))
	if err != nil {
		t.Fatalf("Latchkey-Token-Expiration %q: %v", resp.Header.Get("Latchkey-Token-Expiration"), err)
	}
	if d := time.Until(exp); d < 719*time.Hour || d > 721*time.Hour {
		t.Errorf("token expires in %s, want about 720h", d)
	}
	// Denied a repository its scope does not reach, the token still
	// learns when it expires; the identity headers are not sent.
	resp, _ = send(t, http.MethodGet, s.URL+"/auth/verify", http.Header{
		"X-Original-Method": {"GET"}, "X-Original-Uri": {"/other/web.git/info/refs?service=git-upload-pack"},
		"Authorization": {basic("ci-bot", tok.Secret)},
	})
	if got := resp.Header.Get("Latchkey-Token-Expiration"); resp.StatusCode != http.StatusForbidden || got != exp.Format(time.RFC3339) || resp.Header.Get("X-Latchkey-User") != "" {
		t.Errorf("denied: %d, Latchkey-Token-Expiration %q (want %q), X-Latchkey-User %q", resp.StatusCode, got, exp.Format(time.RFC3339), resp.Header.Get("X-Latchkey-User"))
	}
}

func TestVerifyRefusesRevokedTokensAndSuspendedOwners(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	tok := f.token(t, "soon-revoked", "repo")
	check := func(secret string, want int, bodyHas string) {
		t.Helper()
		resp, body := send(t, http.MethodGet, s.URL+"/auth/verify", http.Header{
			"X-Original-Method": {"GET"}, "X-Original-Uri": {"/acme/web.git/info/refs?service=git-upload-pack"},
			"Authorization": {basic("x", secret)},
		})
		if resp.StatusCode != want || !strings.Contains(body, bodyHas) {
			t.Errorf("status %d body %q, want %d with %q", resp.StatusCode, body, want, bodyHas)
		}
	}
	check(tok.Secret, 200, "")
	f.revoke(t, tok)
	check(tok.Secret, 401, "revoked")
	check(f.suspendedOwnersToken(t), 401, "suspended")
}

func TestVerifyWithoutTheOriginalRequestSaysWhatToSend(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	resp, body := send(t, http.MethodGet, s.URL+"/auth/verify", http.Header{"Authorization": {bearer(f.token(t, "t", "repo").Secret)}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "X-Original-URI") {
		t.Errorf("status %d body %q; want 400 naming the headers to send", resp.StatusCode, body)
	}
}

func TestVerifyAnswersJSONWhenAsked(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	resp, body := send(t, http.MethodGet, s.URL+"/auth/verify/acme/web.git/info/refs?service=git-upload-pack",
		http.Header{"Accept": {"application/json"}})
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("body %q (%s): %v; want problem+json", body, resp.Header.Get("Content-Type"), err)
	}
	if p.Status != 401 || !strings.Contains(p.Detail, "authentication required") {
		t.Errorf("problem = %+v, want 401 saying authentication is required", p)
	}
}

func TestBasicUserNameMustMatchOwnerWhenConfigured(t *testing.T) {
	s := servertest.Start(t, trustLoopback, "--basic-auth-username-must-match")
	f := newFixture(t, s)
	tok := f.token(t, "git", "repo")
	for _, tc := range []struct {
		auth string
		want int
	}{
		{basic("alice", tok.Secret), 200},
		{basic("someone-else", tok.Secret), 401},
		{basic("", tok.Secret), 401},
		{bearer(tok.Secret), 200},
	} {
		resp, body := send(t, http.MethodGet, s.URL+"/auth/verify/acme/web.git/info/refs?service=git-upload-pack",
			http.Header{"Authorization": {tc.auth}})
		if resp.StatusCode != tc.want {
			t.Errorf("%.12s...: status %d (%q), want %d", tc.auth, resp.StatusCode, body, tc.want)
		}
	}
}

func TestDefaultRulesAreGitPresetAndDeny(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	tok := f.token(t, "all", "repo", "service", "job", "machine")
	for uri, want := range map[string]int{
		"/acme/web.git/info/refs?service=git-upload-pack": 200,
		"/acme/web/git-receive-pack":                      403, // POST only
		"/v1/anything":                                    403,
	} {
		resp, _ := send(t, http.MethodGet, s.URL+"/auth/verify", http.Header{
			"X-Original-Method": {"GET"}, "X-Original-Uri": {uri}, "Authorization": {bearer(tok.Secret)}})
		if resp.StatusCode != want {
			t.Errorf("GET %s: status %d, want %d", uri, resp.StatusCode, want)
		}
	}
}

func TestDefaultAuthenticatedLetsAnyValidTokenThroughUnmatchedRoutes(t *testing.T) {
	s := servertest.Start(t, trustLoopback, "--config", writeConfig(t, "routes:\n  default: authenticated\n"))
	f := newFixture(t, s)
	tok := f.token(t, "jobs", "job")
	for _, tc := range []struct {
		uri  string
		want int
	}{
		{"/v1/anything", 200},
		{"/acme/web.git/info/refs?service=git-upload-pack", 403}, // the implied Git preset still checks scopes
	} {
		resp, _ := send(t, http.MethodGet, s.URL+"/auth/verify", http.Header{
			"X-Original-Method": {"GET"}, "X-Original-Uri": {tc.uri}, "Authorization": {bearer(tok.Secret)}})
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: status %d, want %d", tc.uri, resp.StatusCode, tc.want)
		}
	}
	resp, _ := send(t, http.MethodGet, s.URL+"/auth/verify/v1/anything", nil)
	if resp.StatusCode != 401 {
		t.Errorf("no credential on an unmatched route: status %d, want 401", resp.StatusCode)
	}
}

func TestVerifyChecksIPAllowlistsAgainstTheAddressTheProxyAdded(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	tok := s.CreateToken(t, f.alice, map[string]any{"name": "office", "scopes": []string{"repo"}, "ip_allowlist": []string{"192.0.2.0/24"}})
	for _, tc := range []struct {
		xff  []string
		want int
	}{
		{[]string{"192.0.2.7"}, 200},
		{[]string{"198.51.100.1"}, 401},
		// The client claimed an allowed address; the proxy appended the real one.
		{[]string{"192.0.2.7, 198.51.100.1"}, 401},
		{[]string{"192.0.2.7", "198.51.100.1"}, 401},
		{[]string{"198.51.100.1, 192.0.2.7"}, 200},
		{nil, 401}, // the proxy's own address, 127.0.0.1
	} {
		resp, body := send(t, http.MethodGet, s.URL+"/auth/verify", http.Header{
			"X-Original-Method": {"GET"}, "X-Original-Uri": {"/acme/web.git/info/refs?service=git-upload-pack"},
			"Authorization": {bearer(tok.Secret)}, "X-Forwarded-For": tc.xff,
		})
		if resp.StatusCode != tc.want || (tc.want == 401 && !strings.Contains(body, "IP address")) {
			t.Errorf("X-Forwarded-For %q: status %d (%q), want %d", tc.xff, resp.StatusCode, body, tc.want)
		}
	}
}
