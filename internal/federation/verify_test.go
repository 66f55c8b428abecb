package federation_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/federation"
	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/store"
)

// clock is a settable clock for the verifier.
type clock struct{ ns atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func trustOnly(iss string) func(string) bool {
	return func(s string) bool { return s == iss }
}

func newVerifier(c *clock) *federation.Verifier {
	return federation.NewVerifier(federation.Options{Now: c.Now, MinRefreshInterval: 10 * time.Second, Retries: 2, FetchTimeout: 2 * time.Second})
}

func wantRefusal(t *testing.T, err error, code, check string) {
	t.Helper()
	var fe *federation.Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v; want a *federation.Error %s/%s", err, code, check)
	}
	if fe.Code != code || fe.Check != check {
		t.Fatalf("refusal = %s/%s (%s); want %s/%s", fe.Code, fe.Check, fe.Msg, code, check)
	}
}

func TestVerifyAcceptsGitHubAndGitLabShapedTokens(t *testing.T) {
	is := oidctest.Start(t)
	v := newVerifier(newClock())
	for name, claims := range map[string]map[string]any{
		"github": oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey"),
		"gitlab": oidctest.GitLabClaims("acme/web", "main", "production", "latchkey"),
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tok.Issuer != is.URL || tok.Subject != claims["sub"] || len(tok.Audience) != 1 || tok.Audience[0] != "latchkey" || tok.ID == "" {
				t.Errorf("token = %+v", tok)
			}
		})
	}
	is.RotateEC(t, false)
	v = newVerifier(newClock())
	if _, err := v.Verify(t.Context(), is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), trustOnly(is.URL)); err != nil {
		t.Errorf("ES256 token after rotation to an EC key: %v", err)
	}
}

func TestVerifyRefusesForgedAndStaleTokens(t *testing.T) {
	is := oidctest.Start(t)
	c := newClock()
	v := newVerifier(c)
	base := oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")
	with := func(k string, val any) map[string]any {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = val
		return m
	}
	now := time.Now()
	sk := is.SigningKey()
	pub := sk.Public()
	der, _ := x509.MarshalPKIXPublicKey(pub.Key)
	hsSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: der}, (&jose.SignerOptions{}).WithHeader("kid", pub.KeyID))
	full := with("iss", is.URL)
	full["exp"], full["iat"], full["jti"] = now.Add(time.Minute).Unix(), now.Unix(), "x1"
	hs256, _ := jwt.Signed(hsSigner).Claims(full).Serialize()
	body, _ := json.Marshal(full)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(body) + "."
	good := is.Mint(t, base)
	parts := strings.Split(good, ".")
	other := oidctest.Start(t)

	cases := []struct {
		name, raw, code, check string
		trusted                func(string) bool
	}{
		{"alg none", none, federation.CodeInvalidGrant, "alg", nil},
		{"HS256 with the issuer's public key", hs256, federation.CodeInvalidGrant, "alg", nil},
		{"tampered claims", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(mustB64(t, parts[1])), "acme/web", "acme/wex", 1))) + "." + parts[2], federation.CodeInvalidGrant, "signature", nil},
		{"signed by another issuer's key", oidctest.MintWith(t, other.SigningKey(), full), federation.CodeInvalidGrant, "signature", nil},
		{"untrusted issuer", other.Mint(t, base), federation.CodeInvalidGrant, "issuer", nil},
		{"expired", is.Mint(t, with("exp", now.Add(-2*time.Minute).Unix())), federation.CodeInvalidGrant, "exp", nil},
		{"not yet valid", is.Mint(t, with("nbf", now.Add(5*time.Minute).Unix())), federation.CodeInvalidGrant, "nbf", nil},
		{"issued in the future", is.Mint(t, with("iat", now.Add(5*time.Minute).Unix())), federation.CodeInvalidGrant, "iat", nil},
		{"no exp", is.Mint(t, with("exp", nil)), federation.CodeInvalidGrant, "exp", nil},
		{"not a JWT", "lk_pat_notajwt", federation.CodeInvalidRequest, "format", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trusted := tc.trusted
			if trusted == nil {
				trusted = trustOnly(is.URL)
			}
			_, err := v.Verify(t.Context(), tc.raw, trusted)
			wantRefusal(t, err, tc.code, tc.check)
			if len(tc.raw) > 20 && strings.Contains(err.Error(), tc.raw[len(tc.raw)-20:]) {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
	t.Run("expired within the skew is accepted", func(t *testing.T) {
		if _, err := v.Verify(t.Context(), is.Mint(t, with("exp", now.Add(-20*time.Second).Unix())), trustOnly(is.URL)); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnknownKidTriggersOneJWKSRefresh(t *testing.T) {
	is := oidctest.Start(t)
	c := newClock()
	v := newVerifier(c)
	claims := oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")
	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
			t.Fatal(err)
		}
	}
	if n := is.JWKSHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for 6 tokens of one key; want 1 (cached)", n)
	}
	c.Add(11 * time.Second)
	is.Rotate(t, false) // the issuer rotates: the old key is gone
	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Fatalf("token signed with the rotated key: %v", err)
	}
	if n := is.JWKSHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after one unknown kid; want 2", n)
	}
	// Another unknown kid right away: no fetch storm, a clear refusal.
	forged := oidctest.Start(t)
	k := forged.SigningKey()
	k.KeyID = "no-such-kid"
	_, err := v.Verify(t.Context(), oidctest.MintWith(t, k, map[string]any{"iss": is.URL, "aud": "latchkey", "exp": time.Now().Add(time.Minute).Unix(), "jti": "j"}), trustOnly(is.URL))
	wantRefusal(t, err, federation.CodeInvalidGrant, "signature")
	if n := is.JWKSHits.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times; an unknown kid within the minimum interval must not refetch", n)
	}
}

func TestIssuerDownKeepsCachedKeysAndAnswersUnavailableOtherwise(t *testing.T) {
	is := oidctest.Start(t)
	c := newClock()
	v := federation.NewVerifier(federation.Options{Now: c.Now, MinRefreshInterval: 10 * time.Second, MaxKeyAge: 30 * time.Second, Retries: 2})
	claims := oidctest.GitLabClaims("acme/web", "main", "", "latchkey")
	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Fatal(err)
	}
	is.SetDown(true)
	c.Add(40 * time.Second) // cached keys are stale: a refresh is tried and fails
	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Fatalf("cached key while the issuer is down: %v", err)
	}
	c.Add(20 * time.Second)
	is.Rotate(t, false)
	_, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL))
	wantRefusal(t, err, federation.CodeUnavailable, "jwks")
	if !errors.Is(err, federation.ErrUnavailable) {
		t.Errorf("errors.Is(err, ErrUnavailable) = false")
	}
	cold := newVerifier(c)
	_, err = cold.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL))
	wantRefusal(t, err, federation.CodeUnavailable, "jwks")
	is.SetDown(false)
	c.Add(20 * time.Second)
	if _, err := v.Verify(t.Context(), is.Mint(t, claims), trustOnly(is.URL)); err != nil {
		t.Errorf("after the issuer recovered: %v", err)
	}
}

func TestMatchRefusesEachNearMiss(t *testing.T) {
	is := oidctest.Start(t)
	v := newVerifier(newClock())
	p := &store.FederationPolicy{Name: "deploy", Issuer: is.URL, Audience: "latchkey", Conditions: map[string]string{
		"repository": "acme/web", "ref": "refs/heads/main", "event_name": "push", "environment": "production",
		"sub": "repo:acme/*:environment:production",
	}}
	verify := func(c map[string]any) *federation.Token {
		tok, err := v.Verify(context.Background(), is.Mint(t, c), trustOnly(is.URL))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ok := oidctest.GitHubClaims("acme/web", "refs/heads/main", "production", "latchkey")
	if err := federation.Match(p, verify(ok)); err != nil {
		t.Fatalf("matching token refused: %v", err)
	}
	miss := func(k string, val any) map[string]any {
		m := oidctest.GitHubClaims("acme/web", "refs/heads/main", "production", "latchkey")
		m[k] = val
		return m
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		check  string
	}{
		{"other repository", miss("repository", "acme/web2"), "condition:repository"},
		{"other owner, same name", miss("repository", "evil/web"), "condition:repository"},
		{"other branch", miss("ref", "refs/heads/main2"), "condition:ref"},
		{"pull request event", miss("event_name", "pull_request"), "condition:event_name"},
		{"other environment", miss("environment", "staging"), "condition:environment"},
		{"sub of another owner", miss("sub", "repo:evil/web:environment:production"), "condition:sub"},
		{"sub crossing a slash", miss("sub", "repo:acme/x/y:environment:production"), "condition:sub"},
		{"missing claim", miss("environment", nil), "condition:environment"},
		{"wrong audience", miss("aud", "https://github.com/acme"), "audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantRefusal(t, federation.Match(p, verify(tc.claims)), federation.CodeInvalidGrant, tc.check)
		})
	}
}

func TestValidateConditions(t *testing.T) {
	for _, bad := range []map[string]string{{"": "x"}, {"repository": ""}, {"ref": "refs/[heads"}, {"aud": "x"}, {"iss": "x"}} {
		if err := federation.ValidateConditions(bad); err == nil {
			t.Errorf("ValidateConditions(%v) = nil; want an error", bad)
		}
	}
	if err := federation.ValidateConditions(map[string]string{"sub": "repo:acme/*:ref:refs/heads/main"}); err != nil {
		t.Errorf("valid pattern refused: %v", err)
	}
	for _, bad := range []string{"http://issuer.example.com", "ftp://x", "https://user:pw@x", "https://x/?q=1", "issuer"} {
		if err := federation.CheckIssuerURL(bad); err == nil {
			t.Errorf("CheckIssuerURL(%q) = nil; want an error", bad)
		}
	}
	for _, good := range []string{"https://token.actions.githubusercontent.com", "https://gitlab.com", "http://127.0.0.1:8080", "http://localhost:1/x"} {
		if err := federation.CheckIssuerURL(good); err != nil {
			t.Errorf("CheckIssuerURL(%q) = %v", good, err)
		}
	}
}
