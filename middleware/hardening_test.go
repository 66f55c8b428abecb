package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/middleware"
)

// TestAClientThatHangsUpCannotStopTheKeysBeingFetched: the first request
// after start (or after a rotation) makes the middleware fetch the JWKS.
// An attacker who sends that request and hangs up at once must not cancel
// the fetch, which would leave every caller refused (503, or "unknown key")
// until the next fetch is allowed; repeated every few seconds, that would
// keep the service down.
func TestAClientThatHangsUpCannotStopTheKeysBeingFetched(t *testing.T) {
	k := newKey(t, "k1", jose.ES256)
	var fetches atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		time.Sleep(300 * time.Millisecond) // a JWKS a little slow to answer
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"},
		}})
	}))
	t.Cleanup(jwks.Close)
	is := &issuer{srv: jwks}
	h := middleware.New(middleware.Options{Issuer: jwks.URL, Audience: "inventory", JWKSMinRefresh: time.Minute})(echo)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jwt := sign(t, k, "at+jwt", is.valid(time.Now()))

	// The attacker: any JWT, and gone after 50 ms.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the attacker's request was answered (%d) before it hung up; the JWKS should be slower", resp.StatusCode)
	}

	// A legitimate caller, right after.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after a client hung up during the first JWKS fetch, a valid JWT got %d, want 200 (fetches: %d)", resp.StatusCode, fetches.Load())
	}
}

// TestStringsThatAreNotLatchkeyTokensNeverReachIntrospection: a Latchkey
// token carries a checksum anyone can check offline. Without that check,
// every made-up credential sent to the protected service costs a call to
// Latchkey, and enough distinct ones empty the introspection cache of the
// tokens legitimate callers use.
func TestStringsThatAreNotLatchkeyTokensNeverReachIntrospection(t *testing.T) {
	s := servertest.Start(t, "--signing-key-secret", "middleware-test-secret-0123456789")
	admin := s.AdminSession(t)
	watcher := s.CreateToken(t, admin, map[string]any{"name": "watcher", "scopes": []string{"introspect"}})
	pat := s.CreateToken(t, admin, map[string]any{"name": "script", "scopes": []string{"repo:read"}})
	tr := &countingTransport{}
	h := middleware.New(middleware.Options{
		Issuer: s.URL, Audience: "inventory", IntrospectionURL: s.URL + "/oauth2/introspect",
		IntrospectionToken: watcher.Secret, HTTPClient: &http.Client{Transport: tr},
	})(echo)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	last := pat.Secret[len(pat.Secret)-1]
	flipped := byte('0')
	if last == '0' {
		flipped = '1'
	}
	fakes := []string{
		"hunter2", "lk_pat_" + strings.Repeat("A", 36), pat.Secret[:len(pat.Secret)-1] + string(flipped), // a typo
		strings.Replace(pat.Secret, "_pat_", "_adm_", 1), "lk_pat_" + strings.Repeat("é", 36),
	}
	for i := range 50 {
		fakes = append(fakes, fmt.Sprintf("lk_pat_%036d", i))
	}
	for _, f := range fakes {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		req.Header.Set("Authorization", "Bearer "+f)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%q: status %d, want 401", f, resp.StatusCode)
		}
	}
	if n := tr.n.Load(); n != 0 {
		t.Fatalf("%d introspection calls for %d strings that are not Latchkey tokens, want 0", n, len(fakes))
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+pat.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tr.n.Load() != 1 {
		t.Fatalf("a real token: status %d after %d introspection calls, want 200 after 1", resp.StatusCode, tr.n.Load())
	}
}
