package sts_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/sts"
)

// testSecret is the signing-key secret of test servers, so a test can open
// the keyring the way `latchkey keys rotate` does.
const testSecret = "test-signing-key-secret-0123456789"

func start(t *testing.T, args ...string) *servertest.Server {
	t.Helper()
	return servertest.Start(t, append([]string{"--signing-key-secret", testSecret}, args...)...)
}

// eachBackend runs fn on a server on SQLite, and on PostgreSQL when
// LATCHKEY_TEST_POSTGRES_DSN is set.
func eachBackend(t *testing.T, fn func(t *testing.T, s *servertest.Server), args ...string) {
	servertest.ForEachBackend(t, fn, append([]string{"--signing-key-secret", testSecret}, args...)...)
}

// exchangeForm is a valid token-exchange request for subject.
func exchangeForm(subject string, extra ...string) url.Values {
	f := url.Values{
		"grant_type":         {sts.GrantTokenExchange},
		"subject_token":      {subject},
		"subject_token_type": {sts.TypeAccessToken},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Add(extra[i], extra[i+1])
	}
	return f
}

// post sends a form to path and decodes the JSON answer.
func post(t *testing.T, s *servertest.Server, path string, form url.Values, bearer string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("POST %s: status %d, body %q is not JSON: %v", path, resp.StatusCode, body, err)
	}
	return resp.StatusCode, out
}

// exchange exchanges subject and fails the test unless it succeeds.
func exchange(t *testing.T, s *servertest.Server, subject string, extra ...string) map[string]any {
	t.Helper()
	status, out := post(t, s, sts.TokenPath, exchangeForm(subject, extra...), "")
	if status != http.StatusOK {
		t.Fatalf("exchange: status %d: %v", status, out)
	}
	return out
}

// fetchJWKS downloads the published keys and decodes them with the
// standard library only, so that go-jose (which signs) is not what checks
// its own output.
func fetchJWKS(t *testing.T, s *servertest.Server) map[string]crypto.PublicKey {
	t.Helper()
	status, body, _ := s.Do(t, http.MethodGet, sts.JWKSPath, "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET JWKS: %d %s", status, body)
	}
	var set struct {
		Keys []struct {
			Kty, Crv, X, Y, Kid, Alg, Use, D string
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("decode JWKS %s: %v", body, err)
	}
	keys := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		if k.D != "" {
			t.Fatalf("the JWKS publishes a private key: %s", body)
		}
		if k.Use != "sig" || k.Kid == "" {
			t.Fatalf("JWK without use=sig and kid: %+v", k)
		}
		x := b64(t, k.X)
		switch {
		case k.Kty == "EC" && k.Crv == "P-256" && k.Alg == "ES256":
			keys[k.Kid] = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(b64(t, k.Y))}
		case k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == "EdDSA":
			keys[k.Kid] = ed25519.PublicKey(x)
		default:
			t.Fatalf("unexpected JWK %+v", k)
		}
	}
	return keys
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode base64url %q: %v", s, err)
	}
	return b
}

// verifyIndependently checks raw with github.com/golang-jwt/jwt/v5 against
// keys, requiring the issuer and audience.
func verifyIndependently(raw string, keys map[string]crypto.PublicKey, issuer, audience string) (jwt.MapClaims, *jwt.Token, error) {
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok {
			return nil, errors.New("unknown kid " + kid)
		}
		return k, nil
	}, jwt.WithValidMethods([]string{"ES256", "EdDSA"}), jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	return claims, tok, err
}

// introspect asks /oauth2/introspect about raw with a caller token holding
// the introspect scope.
func introspect(t *testing.T, s *servertest.Server, caller, raw string) map[string]any {
	t.Helper()
	status, out := post(t, s, sts.IntrospectPath, url.Values{"token": {raw}}, caller)
	if status != http.StatusOK {
		t.Fatalf("introspect: status %d: %v", status, out)
	}
	return out
}

// patFor creates a PAT of the admin with scopes and optional extra fields.
func patFor(t *testing.T, s *servertest.Server, bearer, name string, scopes []string, extra ...any) servertest.CreatedToken {
	t.Helper()
	req := map[string]any{"name": name, "scopes": scopes}
	for i := 0; i+1 < len(extra); i += 2 {
		req[extra[i].(string)] = extra[i+1]
	}
	return s.CreateToken(t, bearer, req)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func claimString(c jwt.MapClaims, k string) string { s, _ := c[k].(string); return s }
