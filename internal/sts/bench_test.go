package sts_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/sts"
)

// largestScopes builds the largest set of scopes a token may hold: every
// narrowable scope with as many patterns as the caps allow
// (scope.MaxPatternsPerGrant per grant, scope.MaxPatternBytes in all).
// globs makes every pattern a glob sharing one literal prefix, the worst
// case for intersection; otherwise they are repository names.
func largestScopes(globs bool) []string {
	names := []string{"repo", "repo:read", "machine", "service", "job"}
	per := scope.MaxPatternBytes / len(names) / scope.MaxPatternsPerGrant // bytes per pattern
	var out []string
	for gi, n := range names {
		pats := make([]string, scope.MaxPatternsPerGrant)
		for i := range pats {
			p := fmt.Sprintf("acme/r%d-%02d", gi, i)
			if globs {
				p = fmt.Sprintf("acme/*%d-%02d*", gi, i)
			}
			pats[i] = p + strings.Repeat("x", max(per-len(p), 0))
		}
		out = append(out, n+"="+strings.Join(pats, ","))
	}
	return out
}

// BenchmarkIntrospectJWTOfLargestToken introspects, over HTTP, the JWT
// exchanged from the largest token the caps allow; "one-scope" is the
// baseline of a token with one plain scope, in the same run.
func BenchmarkIntrospectJWTOfLargestToken(b *testing.B) {
	s := servertest.Start(b, "--signing-key-secret", testSecret)
	admin := s.AdminSession(b)
	caller := s.CreateToken(b, admin, map[string]any{"name": "rs", "scopes": []string{"introspect"}})
	for _, c := range []struct {
		name   string
		scopes []string
	}{
		{"one-scope", []string{"repo:read"}},
		{"largest-names", largestScopes(false)},
		{"largest-globs", largestScopes(true)},
	} {
		tk := s.CreateToken(b, admin, map[string]any{"name": c.name, "scopes": c.scopes})
		jwt := benchExchange(b, s, tk.Secret)
		b.Run(c.name, func(b *testing.B) {
			body := url.Values{"token": {jwt}}.Encode()
			// Wall time on a shared machine is mostly waiting; the process
			// CPU per request (server and client together) is reported too.
			cpu0 := processCPU()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, s.URL+sts.IntrospectPath, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+caller.Secret)
				resp, err := s.Client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"active":true`) {
					b.Fatalf("introspect: %d %s", resp.StatusCode, out)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func benchExchange(b *testing.B, s *servertest.Server, secret string) string {
	b.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+sts.TokenPath, strings.NewReader(exchangeForm(secret).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.Client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		b.Fatalf("exchange: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

// processCPU is the CPU time this process used so far, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
