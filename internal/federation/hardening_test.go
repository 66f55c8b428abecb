package federation_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/federation"
	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/store"
)

// TestACallerWhoHangsUpCannotStopTheKeyRefreshOthersNeed: an attacker
// sends a token of a trusted issuer with an unknown kid (no valid signature
// needed) and hangs up at once. The JWKS refresh it triggers must still
// complete, or for the next MinRefreshInterval (and for ever, repeated)
// every token signed with the key the issuer just rotated to is refused.
func TestACallerWhoHangsUpCannotStopTheKeyRefreshOthersNeed(t *testing.T) {
	is := oidctest.Start(t)
	c := newClock()
	v := newVerifier(c)
	claims := oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")
	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Fatal(err)
	}
	c.Add(11 * time.Second)
	is.Rotate(t, true) // the issuer publishes a new key and signs with it

	forged := oidctest.Start(t).SigningKey()
	forged.KeyID = "attacker-kid"
	junk := oidctest.MintWith(t, forged, map[string]any{"iss": is.URL, "aud": "latchkey", "exp": time.Now().Add(time.Minute).Unix(), "jti": "x"})
	gone, cancel := context.WithCancel(context.Background())
	cancel() // the attacker's connection is already closed
	_, _ = v.Verify(gone, junk, trustOnly(is.URL))

	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Fatalf("a token signed with the issuer's new key, after an attacker aborted the refresh: %v", err)
	}
}

// TestKeyFetchesFollowNoRedirectToPlainHTTP: an issuer's JWKS answering
// with a redirect to a plain-http address that is not loopback (here
// 0.0.0.0, which reaches the server's own loopback services, as a cloud
// metadata address would reach its service) is not followed.
func TestKeyFetchesFollowNoRedirectToPlainHTTP(t *testing.T) {
	var internalHits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internalHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(internal.Close)
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())

	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": issuer + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://0.0.0.0:"+port+"/latest/meta-data/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	issuer = srv.URL

	key := oidctest.Start(t).SigningKey()
	v := federation.NewVerifier(federation.Options{Retries: 1, FetchTimeout: 2 * time.Second})
	_, err := v.Verify(t.Context(), oidctest.MintWith(t, key, map[string]any{
		"iss": issuer, "aud": "latchkey", "exp": time.Now().Add(time.Minute).Unix(), "jti": "r1",
	}), trustOnly(issuer))
	wantRefusal(t, err, federation.CodeUnavailable, "jwks")
	if n := internalHits.Load(); n != 0 {
		t.Errorf("the key fetch followed the issuer's redirect to http://0.0.0.0:%s (%d requests)", port, n)
	}
	if strings.Contains(err.Error(), port) || strings.Contains(err.Error(), "0.0.0.0") {
		t.Errorf("the refusal tells the caller where the fetch went: %v", err)
	}
}

// TestUnreachableKeysAreReportedWithoutTheFetchDetails: whoever holds a
// token of a trusted issuer (on github.com, anyone) must not learn the
// server's view of its network (addresses, connection errors) from the
// refusal; the operator's log has them.
func TestUnreachableKeysAreReportedWithoutTheFetchDetails(t *testing.T) {
	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": "http://127.0.0.2:1/internal-keys"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	issuer = srv.URL
	key := oidctest.Start(t).SigningKey()
	v := federation.NewVerifier(federation.Options{Retries: 1, FetchTimeout: time.Second})
	_, err := v.Verify(t.Context(), oidctest.MintWith(t, key, map[string]any{
		"iss": issuer, "aud": "latchkey", "exp": time.Now().Add(time.Minute).Unix(), "jti": "u1",
	}), trustOnly(issuer))
	wantRefusal(t, err, federation.CodeUnavailable, "jwks")
	for _, leak := range []string{"127.0.0.2", "internal-keys", "refused", "dial"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("the refusal reveals %q: %v", leak, err)
		}
	}
}

// TestAKeyPublishedForOneAlgorithmVerifiesNoOther: the JWK says alg
// RS256; a PS256 signature made with the same RSA key is refused, as
// RFC 7517 §4.4 and every OIDC client library (openid-client, jose) do.
func TestAKeyPublishedForOneAlgorithmVerifiesNoOther(t *testing.T) {
	is := oidctest.Start(t)
	v := newVerifier(newClock())
	claims := oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")
	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.PS256, jose.RS512} {
		k := is.SigningKey() // published with alg RS256
		k.Algorithm = string(alg)
		full := map[string]any{"iss": is.URL, "exp": time.Now().Add(time.Minute).Unix(), "jti": "alg-" + string(alg)}
		for n, val := range claims {
			full[n] = val
		}
		_, err := v.Verify(t.Context(), oidctest.MintWith(t, k, full), trustOnly(is.URL))
		wantRefusal(t, err, federation.CodeInvalidGrant, "alg")
	}
}

// TestLargeNumericClaimsMatchDigitForDigit: a numeric claim past 2^53 is
// compared as written, so two ids that round to the same float64 are not
// the same id.
func TestLargeNumericClaimsMatchDigitForDigit(t *testing.T) {
	is := oidctest.Start(t)
	v := newVerifier(newClock())
	raw := is.Mint(t, map[string]any{"aud": "latchkey", "sub": "x", "project_id": json.Number("9007199254740993")})
	tok, err := v.Verify(t.Context(), raw, trustOnly(is.URL))
	if err != nil {
		t.Fatal(err)
	}
	policy := func(id string) *store.FederationPolicy {
		return &store.FederationPolicy{Name: "p", Issuer: is.URL, Audience: "latchkey", Conditions: map[string]string{"project_id": id}}
	}
	if err := federation.Match(policy("9007199254740993"), tok); err != nil {
		t.Errorf("the token's own project_id does not match: %v", err)
	}
	if err := federation.Match(policy("9007199254740992"), tok); err == nil {
		t.Errorf("project_id 9007199254740993 matched a condition on 9007199254740992")
	}
}

// TestATokenWithoutKidSignedWithARotatedKeyRefreshesTheKeys: an issuer
// that signs without kid rotates its key; the first token signed with the
// new key makes the keys be fetched again (as an unknown kid does), rather
// than being refused until the cached keys grow old.
func TestATokenWithoutKidSignedWithARotatedKeyRefreshesTheKeys(t *testing.T) {
	is := oidctest.Start(t)
	c := newClock()
	v := newVerifier(c)
	mint := func() string {
		k := is.SigningKey()
		k.KeyID = ""
		full := map[string]any{"iss": is.URL, "exp": time.Now().Add(time.Minute).Unix(), "jti": "nokid-" + time.Now().String()}
		for n, val := range oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey") {
			full[n] = val
		}
		return oidctest.MintWith(t, k, full)
	}
	if _, err := v.Verify(t.Context(), mint(), trustOnly(is.URL)); err != nil {
		t.Fatal(err)
	}
	c.Add(11 * time.Second)
	is.Rotate(t, false)
	if _, err := v.Verify(t.Context(), mint(), trustOnly(is.URL)); err != nil {
		t.Fatalf("a kid-less token signed with the issuer's new key: %v", err)
	}
	if n := is.JWKSHits.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times; want 2", n)
	}
}

// TestAnHTTPSIssuerCannotSendKeyFetchesToPlainHTTPOnTheServersHost: the
// loopback exception to https is for loopback test issuers. An https
// issuer's discovery document (jwks_uri) or JWKS redirect that points at
// http://127.0.0.1:<port> would make Latchkey send GETs to services on
// its own host.
func TestAnHTTPSIssuerCannotSendKeyFetchesToPlainHTTPOnTheServersHost(t *testing.T) {
	var localHits atomic.Int64
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		localHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(local.Close)
	key := oidctest.Start(t).SigningKey()
	for name, viaRedirect := range map[string]bool{"jwks_uri": false, "redirect": true} {
		t.Run(name, func(t *testing.T) {
			var issuer string
			mux := http.NewServeMux()
			mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
				jwks := local.URL + "/keys"
				if viaRedirect {
					jwks = issuer + "/jwks"
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": jwks})
			})
			mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, local.URL+"/keys", http.StatusFound)
			})
			srv := httptest.NewTLSServer(mux)
			t.Cleanup(srv.Close)
			issuer = srv.URL
			v := federation.NewVerifier(federation.Options{HTTPClient: srv.Client(), Retries: 1, FetchTimeout: 2 * time.Second})
			_, err := v.Verify(t.Context(), oidctest.MintWith(t, key, map[string]any{
				"iss": issuer, "aud": "latchkey", "exp": time.Now().Add(time.Minute).Unix(), "jti": "h-" + name,
			}), trustOnly(issuer))
			wantRefusal(t, err, federation.CodeUnavailable, "jwks")
			if n := localHits.Load(); n != 0 {
				t.Errorf("https issuer %s made Latchkey GET %s (%d requests)", issuer, local.URL, n)
			}
		})
	}
}

// TestKeptClaimsAreValidTextWithoutControls: the claims kept with an
// issued token and written to the audit log are cut between characters,
// never inside one, and lose bidirectional overrides and zero-width marks
// that would disguise what the console and the log show.
func TestKeptClaimsAreValidTextWithoutControls(t *testing.T) {
	is := oidctest.Start(t)
	v := newVerifier(newClock())
	// 199 ASCII letters, then two-byte letters: a cut at byte 200 falls
	// inside the first of them.
	repo := "\u202e" + strings.Repeat("a", 199) + strings.Repeat("\u00e9", 20) + "\u200b\u2028"
	raw := is.Mint(t, map[string]any{"aud": "latchkey", "sub": "x", "repository": repo})
	tok, err := v.Verify(t.Context(), raw, trustOnly(is.URL))
	if err != nil {
		t.Fatal(err)
	}
	p := &store.FederationPolicy{Name: "p", Issuer: is.URL, Audience: "latchkey", Conditions: map[string]string{"sub": "x"}}
	if err := federation.Match(p, tok); err != nil {
		t.Fatal(err)
	}
	got := federation.MatchedClaims(p, tok)["repository"]
	if !utf8.ValidString(got) {
		t.Errorf("the kept repository claim is not valid UTF-8: %q", got)
	}
	if strings.ContainsAny(got, "\u202e\u200b\u2028") {
		t.Errorf("the kept repository claim carries a bidirectional override or zero-width mark: %q", got)
	}
	if want := strings.Repeat("a", 199) + "\u00e9..."; got != want {
		t.Errorf("kept repository claim = %q, want its first 200 characters then \"...\": %q", got, want)
	}
}
