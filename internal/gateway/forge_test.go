package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestForwardAuthRefusesForgedOriginalRequests sends, through a trusted
// proxy (loopback), every way a client could try to make forward-auth judge
// another request than the one the proxy forwards.
func TestForwardAuthRefusesForgedOriginalRequests(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	read := f.token(t, "read", "repo:read")
	const (
		push  = "/acme/web.git/git-receive-pack"
		fetch = "/acme/web.git/git-upload-pack"
	)
	tests := []struct {
		name   string
		path   string // below the verify URL
		method string
		header http.Header
		want   int
		reason string
	}{
		{"the Traefik bypass: client X-Original-URI beside Traefik's X-Forwarded-Uri", "", "GET",
			http.Header{"X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {push}, "X-Original-Uri": {fetch}}, 400, "disagree"},
		{"client X-Forwarded-Uri beside nginx's X-Original-URI", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {push}, "X-Forwarded-Uri": {fetch}, "X-Forwarded-Method": {"POST"}}, 400, "disagree"},
		{"client X-Original-Method beside the proxy's X-Forwarded-Method", "", "GET",
			http.Header{"X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {push}, "X-Original-Method": {"GET"}}, 400, "disagree"},
		{"descriptions that agree are judged", "", "GET",
			http.Header{"X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {push}, "X-Original-Uri": {push}, "X-Original-Method": {"POST"}}, 403, "repo scope"},
		{"X-Original-URI sent twice", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {fetch, push}}, 400, "more than once"},
		{"a URI without its method header", "", "GET", http.Header{"X-Forwarded-Uri": {push}}, 400, "method header"},
		{"'#' shortens the judged path", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {"/v1/services/web/deploy#/../../prod/deploy"}}, 400, "'#'"},
		{"a control character", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {"/acme/web.git/git-upload-pack\t/../git-receive-pack"}}, 400, "control character"},
		{"absolute form for another host", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {"http://other.example" + fetch}, "X-Forwarded-Host": {"git.example.com"}}, 400, "absolute form"},
		{"absolute form without X-Forwarded-Host", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {"http://git.example.com" + fetch}}, 400, "absolute form"},
		{"absolute form with the wrong scheme", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {"http://git.example.com" + fetch}, "X-Forwarded-Host": {"git.example.com"}, "X-Forwarded-Proto": {"https"}}, 400, "X-Forwarded-Proto"},
		{"matching absolute form is judged by its path", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {"https://git.example.com" + push}, "X-Forwarded-Host": {"git.example.com"}, "X-Forwarded-Proto": {"https"}}, 403, "repo scope"},
		{"X-Forwarded-Host sent twice", "", "GET",
			http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {"http://git.example.com" + fetch}, "X-Forwarded-Host": {"git.example.com", "x"}}, 400, "more than once"},
		{"Envoy path and a header disagree", push, "POST", http.Header{"X-Original-Uri": {fetch}, "X-Original-Method": {"POST"}}, 400, "disagree"},
		{"Envoy path and a method header disagree", push, "POST", http.Header{"X-Forwarded-Method": {"GET"}}, 400, "disagrees"},
		{"not an HTTP method", "", "GET", http.Header{"X-Original-Method": {"GE T"}, "X-Original-Uri": {fetch}}, 400, "not an HTTP method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header.Clone()
			h.Set("Authorization", basic("x", read.Secret))
			resp, body := send(t, tc.method, s.URL+"/auth/verify"+tc.path, h)
			if resp.StatusCode != tc.want || !strings.Contains(body, tc.reason) {
				t.Fatalf("status %d %q, want %d with %q", resp.StatusCode, body, tc.want, tc.reason)
			}
			if tc.want != 200 && resp.Header.Get("X-Latchkey-Reason") == "" {
				t.Errorf("refusal without X-Latchkey-Reason (nginx passes it on)")
			}
		})
	}
}

// TestForwardAuthIgnoresForwardedFactsFromUntrustedPeers: loopback is not
// a trusted proxy here, so the original-request and client-address
// headers a client sends directly are ignored.
func TestForwardAuthIgnoresForwardedFactsFromUntrustedPeers(t *testing.T) {
	s := servertest.Start(t, "--trusted-proxies=10.0.0.0/8")
	f := newFixture(t, s)
	read := f.token(t, "read", "repo:read")
	office := s.CreateToken(t, f.alice, map[string]any{"name": "office", "scopes": []string{"repo"}, "ip_allowlist": []string{"192.0.2.0/24"}})
	for name, h := range map[string]http.Header{
		"X-Original-URI":  {"X-Original-Method": {"GET"}, "X-Original-Uri": {"/acme/web.git/info/refs?service=git-upload-pack"}},
		"X-Forwarded-Uri": {"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/acme/web.git/info/refs?service=git-upload-pack"}},
	} {
		h.Set("Authorization", basic("x", read.Secret))
		resp, body := send(t, http.MethodGet, s.URL+"/auth/verify", h)
		if resp.StatusCode != 400 || !strings.Contains(body, "--trusted-proxies") {
			t.Errorf("%s from an untrusted peer: status %d %q, want 400 naming --trusted-proxies", name, resp.StatusCode, body)
		}
	}
	// The Envoy form needs no trust: the request itself is the question.
	for name, h := range map[string]http.Header{
		"X-Forwarded-For": {"X-Forwarded-For": {"192.0.2.7"}},
		"Forwarded":       {"Forwarded": {"for=192.0.2.7"}},
		"X-Real-IP":       {"X-Real-Ip": {"192.0.2.7"}},
	} {
		h.Set("Authorization", bearer(office.Secret))
		resp, body := send(t, http.MethodGet, s.URL+"/auth/verify/acme/web.git/info/refs?service=git-upload-pack", h)
		if resp.StatusCode != 401 || !strings.Contains(body, "IP address") {
			t.Errorf("forged %s naming an allowed address: status %d %q, want 401 (the peer is 127.0.0.1)", name, resp.StatusCode, body)
		}
	}
}

// TestForwardAuthLimitsFailuresPerClientAddress floods /auth/verify with
// unknown tokens from one client (behind the trusted proxy) and checks that
// it gets 429 with Retry-After while another client's valid token passes.
func TestForwardAuthLimitsFailuresPerClientAddress(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	read := f.token(t, "read", "repo:read")
	ask := func(client, authz string) (*http.Response, string) {
		return send(t, http.MethodGet, s.URL+"/auth/verify/acme/web.git/info/refs?service=git-upload-pack",
			http.Header{"X-Forwarded-For": {client}, "Authorization": {authz}})
	}
	var last *http.Response
	var lastBody string
	for i := range 40 {
		last, lastBody = ask("203.0.113.66", bearer(forgedToken(t, i)))
		if resp, body := ask("198.51.100.7", bearer(read.Secret)); resp.StatusCode != 200 {
			t.Fatalf("the valid token from another client was refused during the flood: %d %s", resp.StatusCode, body)
		}
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" || !strings.Contains(lastBody, "too many failed") {
		t.Fatalf("after 40 failures: status %d, Retry-After %q, body %q; want 429", last.StatusCode, last.Header.Get("Retry-After"), lastBody)
	}
}
