package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/token"
)

func mustProxies(t *testing.T, cidrs ...string) *auth.Proxies {
	t.Helper()
	p, err := auth.ParseProxies(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientAddressComesFromForwardingHeadersOnlyThroughTrustedProxies
// forges each forwarding header from an untrusted peer (ignored) and from a
// trusted one (the right-most untrusted address wins; disagreements and
// malformed values are refused).
func TestClientAddressComesFromForwardingHeadersOnlyThroughTrustedProxies(t *testing.T) {
	proxies := mustProxies(t, "10.0.0.0/8", "127.0.0.1")
	tests := []struct {
		name   string
		peer   string
		header http.Header
		want   string
		bad    string // part of the refusal; "" = accepted
	}{
		{"untrusted peer forges X-Forwarded-For", "203.0.113.9:5", http.Header{"X-Forwarded-For": {"10.20.30.40"}}, "203.0.113.9", ""},
		{"untrusted peer forges Forwarded", "203.0.113.9:5", http.Header{"Forwarded": {"for=10.20.30.40"}}, "203.0.113.9", ""},
		{"untrusted peer forges X-Real-IP", "203.0.113.9:5", http.Header{"X-Real-Ip": {"10.20.30.40"}}, "203.0.113.9", ""},
		{"untrusted peer sends garbage", "203.0.113.9:5", http.Header{"X-Forwarded-For": {"nonsense"}}, "203.0.113.9", ""},
		{"trusted peer, no header", "127.0.0.1:5", nil, "127.0.0.1", ""},
		{"trusted peer appends to a forged chain", "127.0.0.1:5", http.Header{"X-Forwarded-For": {"192.0.2.1, 198.51.100.7"}}, "198.51.100.7", ""},
		{"trusted hops are skipped", "127.0.0.1:5", http.Header{"X-Forwarded-For": {"198.51.100.7, 10.1.1.1"}}, "198.51.100.7", ""},
		{"repeated header lines form one chain", "127.0.0.1:5", http.Header{"X-Forwarded-For": {"192.0.2.1", "198.51.100.7"}}, "198.51.100.7", ""},
		{"all hops trusted: the left-most", "127.0.0.1:5", http.Header{"X-Forwarded-For": {"10.1.1.1, 10.2.2.2"}}, "10.1.1.1", ""},
		{"Forwarded with port and quotes", "127.0.0.1:5", http.Header{"Forwarded": {`for="[2001:db8::7]:443";proto=https`}}, "2001:db8::7", ""},
		{"X-Real-IP alone", "127.0.0.1:5", http.Header{"X-Real-Ip": {"198.51.100.7"}}, "198.51.100.7", ""},
		{"headers that agree", "127.0.0.1:5", http.Header{"X-Real-Ip": {"198.51.100.7"}, "X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7", ""},
		{"client-set Forwarded disagrees with the proxy's X-Forwarded-For", "127.0.0.1:5",
			http.Header{"Forwarded": {"for=10.20.30.40"}, "X-Forwarded-For": {"198.51.100.7"}}, "", "disagree"},
		{"client-set X-Real-IP disagrees", "127.0.0.1:5",
			http.Header{"X-Real-Ip": {"192.0.2.1"}, "X-Forwarded-For": {"198.51.100.7"}}, "", "disagree"},
		{"malformed X-Forwarded-For", "127.0.0.1:5", http.Header{"X-Forwarded-For": {"198.51.100.7, evil"}}, "", "malformed"},
		{"obfuscated Forwarded", "127.0.0.1:5", http.Header{"Forwarded": {"for=_hidden"}}, "", "malformed"},
		{"two X-Real-IP", "127.0.0.1:5", http.Header{"X-Real-Ip": {"192.0.2.1", "192.0.2.2"}}, "", "exactly one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for k, v := range tc.header {
				r.Header[k] = v
			}
			ip, _, err := proxies.ClientIP(r)
			if tc.bad != "" {
				var fe *auth.ForwardingError
				if !errors.As(err, &fe) || !strings.Contains(fe.Reason, tc.bad) {
					t.Fatalf("got %q, %v; want a refusal mentioning %q", ip, err, tc.bad)
				}
				return
			}
			if err != nil || ip != tc.want {
				t.Fatalf("got %q, %v; want %q", ip, err, tc.want)
			}
		})
	}
}

func TestNoTrustedProxiesMeansEveryHeaderIsIgnored(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:9"
	r.Header.Set("X-Forwarded-For", "10.20.30.40")
	ip, via, err := mustProxies(t).ClientIP(r)
	if ip != "127.0.0.1" || via || err != nil {
		t.Fatalf("got %q %v %v", ip, via, err)
	}
}

func TestParseProxiesNamesTheBadEntry(t *testing.T) {
	_, err := auth.ParseProxies([]string{"10.0.0.0/8", "localhost"})
	if err == nil || !strings.Contains(err.Error(), `"localhost"`) {
		t.Fatalf("err %v", err)
	}
}

// TestEdgeHandlerPutsClientAndRequestIDInTheContext also checks that a
// client cannot choose its request id (only a trusted proxy can pass one on)
// and that the log handler puts the id on every line.
func TestEdgeHandlerPutsClientAndRequestIDInTheContext(t *testing.T) {
	e := auth.NewEdge(nil, mustProxies(t, "127.0.0.1"), nil)
	var got *auth.Client
	var logged strings.Builder
	h := e.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = auth.ClientFrom(r.Context())
		logger := sloggerTo(&logged)
		logger.InfoContext(r.Context(), "hello")
	}))
	for _, tc := range []struct {
		peer, sentID string
		keep         bool
	}{
		{"203.0.113.9:1", "forged-id", false},
		{"127.0.0.1:1", "proxy-id-1", true},
		{"127.0.0.1:1", "bad id\nwith newline", false},
	} {
		logged.Reset()
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.RemoteAddr = tc.peer
		r.Header.Set("X-Request-Id", tc.sentID)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got == nil || got.RequestID == "" || w.Header().Get("X-Request-Id") != got.RequestID {
			t.Fatalf("client %+v, header %q", got, w.Header().Get("X-Request-Id"))
		}
		if (got.RequestID == tc.sentID) != tc.keep {
			t.Errorf("peer %s sent id %q: request id %q (keep=%v)", tc.peer, tc.sentID, got.RequestID, tc.keep)
		}
		if !strings.Contains(logged.String(), "request_id="+got.RequestID) {
			t.Errorf("log line %q lacks request_id=%s", logged.String(), got.RequestID)
		}
	}
}

// TestEdgeHandlerKeepsTheRequestContext pins the context the edge passes
// on (its own type, not context.WithValue): it carries the client and
// still every value, deadline and cancellation of the request's own.
func TestEdgeHandlerKeepsTheRequestContext(t *testing.T) {
	type key struct{}
	e := auth.NewEdge(nil, nil, nil)
	var inner context.Context
	h := e.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = r.Context()
	}))
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "outer"))
	r := httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(ctx)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if c := auth.ClientFrom(inner); c == nil || c.RequestID == "" {
		t.Fatalf("the handler's context carries client %+v", c)
	}
	if v := inner.Value(key{}); v != "outer" {
		t.Errorf("a value of the request's context reads %v inside the edge", v)
	}
	derived, stop := context.WithCancel(inner)
	defer stop()
	cancel()
	<-derived.Done() // blocks (and the test times out) if cancellation does not pass through
	if inner.Err() != context.Canceled {
		t.Errorf("after the request is cancelled, the handler's context says %v", inner.Err())
	}
}

func TestEdgeHandlerRefusesAmbiguousForwardingWith400(t *testing.T) {
	e := auth.NewEdge(nil, mustProxies(t, "127.0.0.1"), nil)
	called := false
	h := e.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	for path, ct := range map[string]string{"/api/v1/me": "application/problem+json", "/oauth2/token": "application/json"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		r.Header.Set("Forwarded", "for=10.20.30.40")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 400 || w.Header().Get("Content-Type") != ct || !strings.Contains(w.Body.String(), "disagree") || called {
			t.Errorf("%s: status %d %q %s (handler called %v)", path, w.Code, w.Header().Get("Content-Type"), w.Body, called)
		}
	}
}

// TestOAuthRefusalsAtTheEdgeForbidCaching: a refusal the edge writes under
// /oauth2/ (ambiguous forwarding, the failure limit) is a token endpoint's
// answer, which RFC 6749 §5.1 says carries Cache-Control: no-store and
// Pragma: no-cache, so no HTTP/1.0 cache keeps it.
func TestOAuthRefusalsAtTheEdgeForbidCaching(t *testing.T) {
	for _, path := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"} {
		for name, write := range map[string]func(http.ResponseWriter, *http.Request){
			"bad request": func(w http.ResponseWriter, r *http.Request) { auth.WriteBadRequest(w, r, "no") },
			"rate limited": func(w http.ResponseWriter, r *http.Request) {
				auth.WriteRateLimited(w, r, &auth.RateLimited{RetryAfter: time.Second})
			},
		} {
			w := httptest.NewRecorder()
			write(w, httptest.NewRequest(http.MethodPost, path, nil))
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
				t.Errorf("%s, %s: Cache-Control %q Pragma %q, want no-store and no-cache", path, name, w.Header().Get("Cache-Control"), w.Header().Get("Pragma"))
			}
		}
	}
}

func TestClientCredentialDecodesFormEncodedBasic(t *testing.T) {
	secret := "lk_pat_abc"
	for _, tc := range []struct{ user, pass, wantID string }{
		{"resource%5Fserver", url.QueryEscape(secret), "resource_server"},
		{"a+b", secret, "a b"},
	} {
		h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(tc.user+":"+tc.pass))}}
		got, id, ok := auth.ClientCredential(h)
		if !ok || got != secret || id != tc.wantID {
			t.Errorf("%s:%s → %q %q %v", tc.user, tc.pass, got, id, ok)
		}
	}
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("x:%zz"))}}
	if _, _, ok := auth.ClientCredential(h); ok {
		t.Error("a malformed escape was accepted")
	}
}

func TestFailureLimiterBlocksOneAddressOnly(t *testing.T) {
	l := auth.NewFailureLimiter(3, time.Minute)
	for range 3 {
		l.Fail("192.0.2.1")
	}
	d, blocked := l.Check("192.0.2.1")
	if !blocked || d <= 0 || d > time.Minute {
		t.Fatalf("after 3 failures: blocked %v, retry after %s", blocked, d)
	}
	if l.Blocked("192.0.2.2") {
		t.Fatal("another address is blocked")
	}
	var rl *auth.RateLimited
	if err := l.Err("192.0.2.1"); !errors.As(err, &rl) || !errors.Is(err, auth.ErrRateLimited) || rl.Seconds() == "0" {
		t.Fatalf("Err = %v", err)
	}
}

// TestFailureLimiterCountsIPv6ByItsSlash64 fails from addresses that all
// lie in one /64: they share one budget, and another /64 and an IPv4
// address keep theirs.
func TestFailureLimiterCountsIPv6ByItsSlash64(t *testing.T) {
	l := auth.NewFailureLimiter(3, time.Minute)
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"} {
		l.Fail(ip)
	}
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:abcd::9", "2001:DB8:1:2::77"} {
		if !l.Blocked(ip) {
			t.Errorf("%s is not blocked after 3 failures in its /64", ip)
		}
	}
	for _, ip := range []string{"2001:db8:1:3::1", "192.0.2.1", "::ffff:192.0.2.1"} {
		if l.Blocked(ip) {
			t.Errorf("%s is blocked by failures of another /64", ip)
		}
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                   "192.0.2.1",
		"::ffff:192.0.2.1":            "192.0.2.1",
		"2001:db8:1:2::1":             "2001:db8:1:2::/64",
		"2001:db8:1:2:aaaa:bbbb:cc:d": "2001:db8:1:2::/64",
		"2001:DB8:1:2::1":             "2001:db8:1:2::/64",
		"fe80::1%eth0":                "fe80::/64",
		"::1":                         "::/64",
		"not an address":              "not an address",
		"":                            "",
	} {
		if got := auth.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFloodsOfUnknownTokensStayOffTheDatabase counts the store reads: a
// flood of distinct checksum-valid unknown tokens from one address costs
// at most its failure budget, a flood of one unknown token from many
// addresses costs one read (the negative cache), and a valid token from
// another address keeps working throughout.
func TestFloodsOfUnknownTokensStayOffTheDatabase(t *testing.T) {
	f := newFixture(t, true)
	good := f.create(f.member, "good", "repo")
	const budget = 20
	e := auth.NewEdge(f.v, nil, auth.NewFailureLimiter(budget, time.Hour))
	attacker := auth.Request{IP: "203.0.113.66"}
	before := f.src.reads.Load()
	limited := 0
	for range 400 {
		raw, err := token.Generate("lk", token.Personal)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Verify(f.ctx, raw, attacker)
		if errors.Is(err, auth.ErrRateLimited) {
			limited++
		} else if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("unknown token: %v", err)
		}
		if _, err := e.Verify(f.ctx, good.Secret, auth.Request{IP: "192.0.2.7"}); err != nil {
			t.Fatalf("the valid token from another address was refused during the flood: %v", err)
		}
	}
	if reads := f.src.reads.Load() - before; reads > budget+2 {
		t.Errorf("400 distinct unknown tokens from one address cost %d store reads, want at most %d", reads, budget+2)
	}
	if limited != 400-budget {
		t.Errorf("%d of 400 were refused with 429, want %d", limited, 400-budget)
	}

	raw, _ := token.Generate("lk", token.Personal)
	before = f.src.reads.Load()
	for i := range 300 {
		_, err := e.Verify(f.ctx, raw, auth.Request{IP: "198.51.100." + itoa(i%250)})
		if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if reads := f.src.reads.Load() - before; reads != 1 {
		t.Errorf("one unknown token 300 times cost %d store reads, want 1 (the negative cache)", reads)
	}
}
