package api

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// onePrincipal is a Verifier that answers every credential with p.
type onePrincipal struct{ p *auth.Principal }

func (v onePrincipal) Verify(context.Context, string, auth.Request) (*auth.Principal, error) {
	return v.p, nil
}

// TestMeAnswerIsHumas compares the encoded /api/v1/me answer with the one
// huma encodes (plainMe), byte for byte with every header, for a token (in
// and out of its grace period) and a session, through hosts, forwarded
// hosts and TLS that change the $schema URL; the second request of each
// comes from the memo.
func TestMeAnswerIsHumas(t *testing.T) {
	svc, logger := meServices(t, store.Policy{MaxLifetime: 90 * 24 * time.Hour, Creation: "everyone"})
	now := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	later, earlier := now.Add(30*24*time.Hour), now.Add(-time.Hour)
	user := &store.User{ID: "u1", Username: `mia "<&>" ü`, Email: "mia@example.org", Role: store.Role("member"),
		Kind: store.UserKind("person"), LoginType: "password", CreatedAt: earlier, UpdatedAt: now}
	scopes, err := scope.DefaultCatalog().ParseSet([]string{"repo:read=acme/*", "tokens"})
	if err != nil {
		t.Fatal(err)
	}
	tok := &store.Token{ID: "t1", Name: "ci", Description: "deploys <the> app", Scopes: []string{"repo:read=acme/*", "tokens"},
		UserID: "u1", Kind: store.TokenKind("pat"), CreatedAt: earlier, UpdatedAt: now, ExpiresAt: &later,
		LastUsedAt: &now, LastUsedIP: "127.0.0.2", RecentIPs: []string{"127.0.0.2"}, Hint: "abcd", PrevExpiresAt: &later}
	graceOver := *tok
	graceOver.PrevExpiresAt = &earlier
	principals := map[string]func() *auth.Principal{
		"token": func() *auth.Principal {
			return &auth.Principal{User: user, Token: tok, Kind: "pat", Scopes: scopes, ExpiresAt: &later}
		},
		"token after its grace": func() *auth.Principal {
			return &auth.Principal{User: user, Token: &graceOver, Kind: "pat", Scopes: scopes, ExpiresAt: &later}
		},
		"session": func() *auth.Principal {
			return &auth.Principal{User: user, Session: &store.Session{ID: "s1", CreatedAt: earlier}, Kind: "ses", ExpiresAt: &later}
		},
	}
	// httptest's requests come from 192.0.2.1: a trusted proxy, whose
	// forwarded hosts the schema links follow.
	proxies, err := auth.ParseProxies([]string{"192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(p *auth.Principal, plain bool) http.Handler {
		mux := http.NewServeMux()
		a := New(mux, Deps{Services: svc, Verifier: onePrincipal{p}, Logger: logger, Now: func() time.Time { return now }})
		a.plainMe = plain
		return auth.NewEdge(onePrincipal{p}, proxies, nil).Handler(mux)
	}
	requests := map[string]func(r *http.Request){
		"localhost":            func(r *http.Request) { r.Host = "localhost:8080" },
		"host":                 func(r *http.Request) { r.Host = "keys.example.org" },
		"tls":                  func(r *http.Request) { r.Host = "keys.example.org"; r.TLS = &tls.ConnectionState{} },
		"loopback":             func(r *http.Request) { r.Host = "127.0.0.1:8080" },
		"loopback over tls":    func(r *http.Request) { r.Host = "127.0.0.1:8080"; r.TLS = &tls.ConnectionState{} },
		"x-forwarded-host":     func(r *http.Request) { r.Header.Set("X-Forwarded-Host", `odd"host\with`+"\u2028") },
		"forwarded host":       func(r *http.Request) { r.Header.Set("Forwarded", `for=1.2.3.4;host="127.0.0.1:9"`) },
		"accept anything else": func(r *http.Request) { r.Header.Set("Accept", "application/cbor, */*") },
		"forged forwarded host": func(r *http.Request) {
			r.RemoteAddr = "203.0.113.9:4000"
			r.Header.Set("X-Forwarded-Host", "evil.example")
			r.Header.Set("Forwarded", `host="evil.example"`)
		},
	}
	// One server answering every kind of request in turn: the $schema URL
	// and Link header it keeps from one request must not answer another
	// whose host differs.
	t.Run("interleaved hosts", func(t *testing.T) {
		p := principals["token"]()
		plain, encoded := serve(p, true), serve(p, false)
		names := slices.Sorted(maps.Keys(requests))
		var order []string // every kind after every kind
		for _, a := range names {
			for _, b := range names {
				order = append(order, a, b)
			}
		}
		for i, name := range order {
			var got [2]*httptest.ResponseRecorder
			for j, h := range []http.Handler{plain, encoded} {
				r := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
				r.Header.Set("Authorization", "Bearer x")
				requests[name](r)
				got[j] = httptest.NewRecorder()
				h.ServeHTTP(got[j], r)
				got[j].Header().Del("X-Request-Id") // each edge numbers its own
			}
			if got[1].Body.String() != got[0].Body.String() || !reflect.DeepEqual(got[1].Header(), got[0].Header()) {
				t.Fatalf("request %d (%s): huma answers\n%v\n%s\nthe encoder\n%v\n%s", i, name, got[0].Header(), got[0].Body, got[1].Header(), got[1].Body)
			}
		}
	})
	for pname, principal := range principals {
		for rname, set := range requests {
			t.Run(pname+"/"+rname, func(t *testing.T) {
				plain, encoded := serve(principal(), true), serve(principal(), false)
				for i := range 2 {
					var got [2]*httptest.ResponseRecorder
					for j, h := range []http.Handler{plain, encoded} {
						r := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
						r.Header.Set("Authorization", "Bearer x")
						set(r)
						got[j] = httptest.NewRecorder()
						h.ServeHTTP(got[j], r)
						got[j].Header().Del("X-Request-Id") // each edge numbers its own
					}
					if got[0].Code != http.StatusOK || got[1].Code != got[0].Code || got[1].Body.String() != got[0].Body.String() {
						t.Fatalf("request %d: huma answers %d\n%s\nthe encoder %d\n%s", i, got[0].Code, got[0].Body, got[1].Code, got[1].Body)
					}
					if !reflect.DeepEqual(got[1].Header(), got[0].Header()) {
						t.Fatalf("request %d: huma's headers %v, the encoder's %v", i, got[0].Header(), got[1].Header())
					}
				}
			})
		}
	}
}

// TestSchemaLinksStartWithTheOriginTheClientReached: every answer's
// $schema URL starts with the scheme and host the client reached Latchkey
// at: --public-url when set; else the Host, over https only with TLS, or
// what a trusted proxy says in X-Forwarded-Host/-Proto or Forwarded.
// Forwarding headers from anyone else are forged and not read, and a
// host that would change the URL's shape is not taken. Both /api/v1/me
// encoders and huma's error answers are checked.
func TestSchemaLinksStartWithTheOriginTheClientReached(t *testing.T) {
	svc, logger := meServices(t, store.Policy{Creation: "everyone"})
	now := time.Now()
	user := &store.User{ID: "u1", Username: "mia", Role: store.Role("member"), Kind: store.UserKind("person"), CreatedAt: now, UpdatedAt: now}
	proxies, err := auth.ParseProxies([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	const direct, proxy = "203.0.113.9:4000", "10.1.2.3:4000"
	cases := []struct {
		name    string
		public  string // --public-url
		peer    string
		host    string
		tls     bool
		headers map[string]string
		want    string
	}{
		{name: "localhost", peer: direct, host: "localhost:8080", want: "http://localhost:8080"},
		{name: "host over plain http", peer: direct, host: "keys.example.org", want: "http://keys.example.org"},
		{name: "host over tls", peer: direct, host: "keys.example.org", tls: true, want: "https://keys.example.org"},
		{name: "ipv6 host", peer: direct, host: "[::1]:8080", want: "http://[::1]:8080"},
		{name: "no host", peer: direct, host: "", want: "http://latchkey.test:8080"},
		{name: "forged x-forwarded-host", peer: direct, host: "keys.example.org",
			headers: map[string]string{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}, want: "http://keys.example.org"},
		{name: "forged forwarded", peer: direct, host: "keys.example.org",
			headers: map[string]string{"Forwarded": `for=192.0.2.60;host="evil.example";proto=https`}, want: "http://keys.example.org"},
		{name: "proxy's x-forwarded-host", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"X-Forwarded-Host": "keys.example.net", "X-Forwarded-Proto": "https"}, want: "https://keys.example.net"},
		{name: "proxy's forwarded", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"Forwarded": `for=192.0.2.60;host="keys.example.net:8443";proto=https`},
			want:    "https://keys.example.net:8443"},
		{name: "proxy's appended forwarded: the proxy's element, not the client's", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"Forwarded": `for=192.0.2.60;host="evil.example";proto=http, for=192.0.2.61;host="keys.example.net:8443";proto=https`},
			want:    "https://keys.example.net:8443"},
		{name: "proxy's x-forwarded-host before forwarded, the last element", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"X-Forwarded-Host": "evil.example, keys.example.net", "Forwarded": `for=192.0.2.60;host=elsewhere.example`}, want: "http://keys.example.net"},
		{name: "proxy over tls saying http", peer: proxy, host: "latchkey.internal", tls: true,
			headers: map[string]string{"X-Forwarded-Proto": "http"}, want: "http://latchkey.internal"},
		{name: "proxy's host with a path", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"X-Forwarded-Host": "evil.example/x?"}, want: "http://latchkey.internal"},
		{name: "proxy's host with user info", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"X-Forwarded-Host": "keys.example.net@evil.example"}, want: "http://latchkey.internal"},
		{name: "proxy's odd scheme", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"X-Forwarded-Proto": "javascript"}, want: "http://latchkey.internal"},
		{name: "public url", public: "https://keys.example.com/latchkey", peer: proxy, host: "latchkey.internal",
			headers: map[string]string{"X-Forwarded-Host": "keys.example.net"}, want: "https://keys.example.com/latchkey"},
		{name: "public url, direct", public: "https://keys.example.com", peer: direct, host: "localhost:8080",
			want: "https://keys.example.com"},
	}
	for _, tc := range cases {
		for _, plain := range []bool{true, false} {
			p := &auth.Principal{User: user, Session: &store.Session{ID: "s1", CreatedAt: now}, Kind: "ses", ExpiresAt: &now}
			mux := http.NewServeMux()
			d := Deps{Services: svc, Verifier: onePrincipal{p}, Logger: logger, Now: func() time.Time { return now },
				PublicURL: "http://latchkey.test:8080"}
			if tc.public != "" {
				d.PublicURL, d.PublicURLSet = tc.public, true
			}
			a := New(mux, d)
			a.plainMe = plain
			h := auth.NewEdge(onePrincipal{p}, proxies, nil).Handler(mux)
			for _, path := range []string{"/api/v1/me", "/api/v1/me", "/api/v1/users/nobody"} {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.Host, r.RemoteAddr = tc.host, tc.peer
				if tc.tls {
					r.TLS = &tls.ConnectionState{}
				}
				if path == "/api/v1/me" {
					r.Header.Set("Authorization", "Bearer x")
				}
				for k, v := range tc.headers {
					r.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				schema := "MeOutputBody"
				if path != "/api/v1/me" {
					schema = "ErrorModel"
				}
				want := tc.want + "/api/v1/schemas/" + schema + ".json"
				if !strings.HasPrefix(w.Body.String(), `{"$schema":"`+want+`"`) {
					t.Errorf("%s (plain %v) %s: %d %.120s; want $schema %s", tc.name, plain, path, w.Code, w.Body, want)
				}
			}
		}
	}
}

// meServices returns the services over a new SQLite store with policy,
// and a logger that discards, for an API under test.
func meServices(t *testing.T, policy store.Policy) (*service.Services, *slog.Logger) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(st, scope.DefaultCatalog(), service.Config{}, nil, nil, logger)
	if err := svc.Policies.Init(context.Background(), policy, nil); err != nil {
		t.Fatal(err)
	}
	return svc, logger
}
