package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestConsoleOverHTTPSTellsBrowsersToNeverUsePlainHTTP: someone on the
// network path (a café's Wi-Fi) answers a person's http:// visit to the
// console, or a link to it, with a lookalike login page and keeps the
// password typed there. Strict-Transport-Security makes a browser that has
// seen the console over HTTPS go there over HTTPS only. Every console
// answer served over HTTPS carries it, error pages included; an answer over
// plain HTTP carries none (browsers ignore it there, and it would pin a
// console that has no TLS).
func TestConsoleOverHTTPSTellsBrowsersToNeverUsePlainHTTP(t *testing.T) {
	paths := []string{"/login", "/tokens", "/no-such-page", "/tokens/new"}
	get := func(t *testing.T, s *servertest.Server, path string, h http.Header) http.Header {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	for _, c := range []struct {
		name   string
		args   []string
		header http.Header
		want   bool
	}{
		{"public URL https", []string{"--public-url", "https://latchkey.example.com"}, nil, true},
		{"TLS-terminating trusted proxy", []string{"--trusted-proxies", "127.0.0.1/32,::1/128"}, http.Header{"X-Forwarded-Proto": {"https"}}, true},
		{"plain HTTP", nil, nil, false},
		{"X-Forwarded-Proto from an untrusted peer", nil, http.Header{"X-Forwarded-Proto": {"https"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := servertest.Start(t, c.args...)
			for _, p := range paths {
				hsts := get(t, s, p, c.header).Get("Strict-Transport-Security")
				if got := strings.Contains(hsts, "max-age=") && !strings.Contains(hsts, "max-age=0"); got != c.want {
					t.Errorf("GET %s: Strict-Transport-Security %q; want it set: %v", p, hsts, c.want)
				}
			}
		})
	}
}
