package middleware_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/middleware"
)

// issuer is a stand-in Latchkey for crafting JWTs the real one would never
// issue (wrong issuer, expired...): it publishes a JWKS the test controls.
type issuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey // published
	fetches atomic.Int32
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		is.fetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: is.keys})
	}))
	t.Cleanup(is.srv.Close)
	return is
}

// key is a signing key of the test issuer.
type key struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func newKey(t *testing.T, kid string, alg jose.SignatureAlgorithm) key {
	t.Helper()
	var priv crypto.Signer
	var err error
	if alg == jose.EdDSA {
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	} else {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key{kid: kid, alg: alg, priv: priv}
}

func (is *issuer) publish(ks ...key) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys = nil
	for _, k := range ks {
		is.keys = append(is.keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
}

// claims are what the test puts in a JWT.
type claims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.Audience     `json:"aud,omitempty"`
	Expiry    *jwt.NumericDate `json:"exp,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	Scope     string           `json:"scope,omitempty"`
	TokenID   string           `json:"token_id,omitempty"`
	Username  string           `json:"username,omitempty"`
	Kind      string           `json:"kind,omitempty"`
}

// valid returns claims the middleware accepts at now.
func (is *issuer) valid(now time.Time) claims {
	return claims{
		Issuer: is.srv.URL, Subject: "user-1", Audience: jwt.Audience{"inventory"},
		Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)), NotBefore: jwt.NewNumericDate(now),
		IssuedAt: jwt.NewNumericDate(now), Scope: "repo=acme/* introspect", TokenID: "tok-1", Username: "ada", Kind: "pat",
	}
}

func sign(t *testing.T, k key, typ string, c claims) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// echo answers 200 with the principal as JSON.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := middleware.PrincipalFrom(r.Context())
	if !ok {
		_, _ = io.WriteString(w, "anonymous")
		return
	}
	w.Header().Set("X-Raw-Credential-Length", strconv.Itoa(len(p.Raw)))
	_ = json.NewEncoder(w).Encode(p)
})

type answer struct {
	rawLen    string // X-Raw-Credential-Length
	status    int
	body      string
	challenge string
	ctype     string
}

func call(t *testing.T, h http.Handler, method, path, authorization string) answer {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.Header.Get("X-Raw-Credential-Length"), resp.StatusCode, string(b), resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type")}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
