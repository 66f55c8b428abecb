package identity_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// TestSSOCallbackRefusesARepeatedParameter: the provider's answer at the
// callback gives code, state, error and error_description once each. One
// given twice is refused (the login page saying which parameter was
// repeated, as the console says it), never read first-wins: a proxy or WAF
// that reads the other value would see another answer than the one
// Latchkey acted on. No code is exchanged and no session is opened.
func TestSSOCallbackRefusesARepeatedParameter(t *testing.T) {
	var exchanges atomic.Int64
	m := startIdP(t, rewrite(func(_ *mockoidc.MockOIDC, r *http.Request) {
		if r.URL.Path == mockoidc.TokenEndpoint {
			exchanges.Add(1)
		}
	}))
	s := startLatchkey(t, m, providerOpts{})

	for _, tc := range []struct {
		name  string
		param string
		query func(code, state string) string
	}{
		{"the genuine code, then another", "code", func(code, state string) string {
			return "code=" + code + "&code=forged&state=" + state
		}},
		{"another code, then the genuine one", "code", func(code, state string) string {
			return "code=forged&code=" + code + "&state=" + state
		}},
		{"the genuine state, then another", "state", func(code, state string) string {
			return "code=" + code + "&state=" + state + "&state=forged"
		}},
		{"error twice", "error", func(code, state string) string {
			return "code=" + code + "&state=" + state + "&error=access_denied&error=access_denied"
		}},
		{"error_description twice", "error_description", func(code, state string) string {
			return "code=" + code + "&state=" + state + "&error_description=a&error_description=b"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.QueueUser(user("sub-alice", "alice", "engineering"))
			c := browser(t)
			stopAtCallback(c)
			_, _, resp := get(t, c, s.URL+"/auth/sso/corp")
			loc, err := resp.Location()
			if err != nil {
				t.Fatalf("no redirect to the callback: %v (status %d)", err, resp.StatusCode)
			}
			c.CheckRedirect = nil
			q := loc.Query()
			loc.RawQuery = tc.query(q.Get("code"), q.Get("state"))
			before := exchanges.Load()
			code, body, _ := get(t, c, loc.String())
			want := tc.param + " was given 2 times in the address"
			if !strings.Contains(body, want) {
				t.Errorf("callback with %s: %d, want the login page saying %q: %.300s", tc.name, code, want, between(body, "<main", "</main>"))
			}
			if code != http.StatusBadRequest {
				t.Errorf("callback with %s: %d, want 400", tc.name, code)
			}
			if sess := sessionOf(t, c, s); sess != "" {
				t.Errorf("callback with %s opened a session", tc.name)
			}
			if n := exchanges.Load() - before; n != 0 {
				t.Errorf("callback with %s: %d code exchanges at the provider, want none", tc.name, n)
			}
		})
	}
}
