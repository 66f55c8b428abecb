package middleware_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/middleware"
)

func TestMiddlewareAcceptsOnlyValidJWTs(t *testing.T) {
	is := newIssuer(t)
	good := newKey(t, "k1", jose.ES256)
	ed := newKey(t, "k-ed", jose.EdDSA)
	is.publish(good, ed)
	c := &clock{t: time.Now()}
	now := c.now()
	h := middleware.New(middleware.Options{Issuer: is.srv.URL, Audience: "inventory", Now: c.now})(echo)

	mutate := func(f func(*claims)) claims { cl := is.valid(now); f(&cl); return cl }
	stranger := newKey(t, "k1", jose.ES256) // same kid, other key
	tests := []struct {
		name   string
		token  string
		status int
		reason string // part of the detail of a refusal
	}{
		{"valid ES256", sign(t, good, "at+jwt", is.valid(now)), 200, ""},
		{"valid EdDSA", sign(t, ed, "at+jwt", is.valid(now)), 200, ""},
		{"one of several audiences", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Audience = jwt.Audience{"billing", "inventory"} })), 200, ""},
		{"expired within the clock skew", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Expiry = jwt.NewNumericDate(now.Add(-30 * time.Second)) })), 200, ""},
		{"wrong issuer", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Issuer = "https://evil.example" })), 401, "issued by https://evil.example"},
		{"wrong audience", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Audience = jwt.Audience{"billing"} })), 401, "audience must include inventory"},
		{"no audience", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Audience = nil })), 401, "audience"},
		{"expired", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Expiry = jwt.NewNumericDate(now.Add(-2 * time.Minute)) })), 401, "expired"},
		{"no expiry", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Expiry = nil })), 401, "no expiry"},
		{"not yet valid", sign(t, good, "at+jwt", mutate(func(c *claims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) })), 401, "not valid before"},
		{"no subject", sign(t, good, "at+jwt", mutate(func(c *claims) { c.Subject = "" })), 401, "no subject"},
		{"tampered", tamper(t, sign(t, good, "at+jwt", is.valid(now)), "scope", "*"), 401, "signature does not verify"},
		{"signed by another key with a known kid", sign(t, stranger, "at+jwt", is.valid(now)), 401, "signature does not verify"},
		{"unknown kid", sign(t, newKey(t, "k9", jose.ES256), "at+jwt", is.valid(now)), 401, "unknown key"},
		{"alg none", algNone(t, is.valid(now)), 401, "ES256 or EdDSA"},
		{"HS256 keyed with the public key", hmacWithPublicKey(t, good, is.valid(now)), 401, "ES256 or EdDSA"},
		{"typ JWT", sign(t, good, "JWT", is.valid(now)), 401, "at+jwt"},
		{"no typ", sign(t, good, "", is.valid(now)), 401, "at+jwt"},
		{"not a JWT at all", "a.b.c", 401, "ES256 or EdDSA"},
		{"a raw token without introspection", "lk_pat_abc", 401, "accepts only exchanged Latchkey JWTs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, h, "GET", "/", "Bearer "+tt.token)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.status, a.body)
			}
			if tt.status == 200 {
				var p middleware.Principal
				if err := json.Unmarshal([]byte(a.body), &p); err != nil || p.Subject != "user-1" || p.Username != "ada" || !p.Exchanged {
					t.Fatalf("principal %s (%v)", a.body, err)
				}
				return
			}
			if a.ctype != "application/problem+json" || !contains(a.body, tt.reason) ||
				!strings.HasPrefix(a.challenge, `Bearer realm="latchkey", error="invalid_token"`) {
				t.Fatalf("refusal: %s %q challenge %q; want problem+json mentioning %q", a.ctype, a.body, a.challenge, tt.reason)
			}
		})
	}
	t.Run("no credential", func(t *testing.T) {
		a := call(t, h, "GET", "/", "")
		if a.status != 401 || a.challenge != `Bearer realm="latchkey"` || a.ctype != "application/problem+json" {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("basic auth is not a bearer token", func(t *testing.T) {
		a := call(t, h, "GET", "/", "Basic "+base64.StdEncoding.EncodeToString([]byte("x:"+sign(t, good, "at+jwt", is.valid(now)))))
		if a.status != 401 {
			t.Fatalf("%+v", a)
		}
	})
}

func TestMiddlewareFetchesTheJWKSAgainForANewKidAtMostSoOften(t *testing.T) {
	is := newIssuer(t)
	k1, k2 := newKey(t, "k1", jose.ES256), newKey(t, "k2", jose.EdDSA)
	is.publish(k1)
	c := &clock{t: time.Now()}
	h := middleware.New(middleware.Options{Issuer: is.srv.URL, Audience: "inventory", Now: c.now,
		JWKSMinRefresh: 10 * time.Second, JWKSRefresh: time.Hour})(echo)

	if a := call(t, h, "GET", "/", "Bearer "+sign(t, k1, "at+jwt", is.valid(c.now()))); a.status != 200 {
		t.Fatalf("k1: %+v", a)
	}
	// The issuer rotates; a JWT of the new key arrives within the minimum
	// refresh interval: refused, and the issuer is not asked again.
	is.publish(k2, k1)
	if a := call(t, h, "GET", "/", "Bearer "+sign(t, k2, "at+jwt", is.valid(c.now()))); a.status != 401 || !contains(a.body, "unknown key") {
		t.Fatalf("k2 within the min refresh: %+v", a)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches, want 1", n)
	}
	c.advance(11 * time.Second)
	for range 3 {
		if a := call(t, h, "GET", "/", "Bearer "+sign(t, k2, "at+jwt", is.valid(c.now()))); a.status != 200 {
			t.Fatalf("k2 after rotation: %+v", a)
		}
	}
	if a := call(t, h, "GET", "/", "Bearer "+sign(t, k1, "at+jwt", is.valid(c.now()))); a.status != 200 {
		t.Fatalf("k1 still published: %+v", a)
	}
	// Made-up kids do not make the middleware hammer the issuer.
	c.advance(11 * time.Second)
	for i := range 5 {
		call(t, h, "GET", "/", "Bearer "+sign(t, newKey(t, "bogus"+string(rune('a'+i)), jose.ES256), "at+jwt", is.valid(c.now())))
	}
	if n := is.fetches.Load(); n != 3 {
		t.Fatalf("%d JWKS fetches, want 3 (first use, the rotation, one for the bogus kids)", n)
	}
	// Once a key leaves the JWKS, a periodic refresh forgets it.
	is.publish(k2)
	c.advance(2 * time.Hour)
	if a := call(t, h, "GET", "/", "Bearer "+sign(t, k1, "at+jwt", is.valid(c.now()))); a.status != 401 {
		t.Fatalf("k1 after it left the JWKS: %+v", a)
	}
}

func TestMiddlewareAnswers503WhenTheKeysCannotBeFetched(t *testing.T) {
	is := newIssuer(t)
	k := newKey(t, "k1", jose.ES256)
	is.publish(k)
	url := is.srv.URL
	raw := sign(t, k, "at+jwt", is.valid(time.Now()))
	is.srv.Close()
	h := middleware.New(middleware.Options{Issuer: url, Audience: "inventory"})(echo)
	if a := call(t, h, "GET", "/", "Bearer "+raw); a.status != 503 || a.ctype != "application/problem+json" {
		t.Fatalf("%+v", a)
	}
}

func TestRequireScopeAndResource(t *testing.T) {
	is := newIssuer(t)
	k := newKey(t, "k1", jose.ES256)
	is.publish(k)
	now := time.Now()
	mux := http.NewServeMux()
	mux.Handle("GET /repos/{owner}/{name}", middleware.RequireResource("repo:read", func(r *http.Request) string {
		return r.PathValue("owner") + "/" + r.PathValue("name")
	})(echo))
	mux.Handle("GET /machines", middleware.RequireScope("machine")(echo))
	mux.Handle("GET /any-repo", middleware.RequireResource("repo", func(*http.Request) string { return "" })(echo))
	h := middleware.New(middleware.Options{Issuer: is.srv.URL, Audience: "inventory"})(mux)
	narrow := sign(t, k, "at+jwt", is.valid(now)) // repo=acme/* introspect

	tests := []struct {
		path   string
		status int
	}{
		{"/repos/acme/web", 200},
		{"/repos/other/web", 403},
		{"/machines", 403},
		{"/any-repo", 403}, // a narrowed grant does not pass a check naming no resource
	}
	for _, tt := range tests {
		a := call(t, h, "GET", tt.path, "Bearer "+narrow)
		if a.status != tt.status {
			t.Fatalf("%s: %d, want %d: %s", tt.path, a.status, tt.status, a.body)
		}
		if tt.status == 403 && (!contains(a.challenge, `error="insufficient_scope"`) || !contains(a.challenge, `scope="`) || a.ctype != "application/problem+json") {
			t.Fatalf("%s: 403 challenge %q, type %s", tt.path, a.challenge, a.ctype)
		}
	}
	wide := is.valid(now)
	wide.Scope = "repo machine"
	if a := call(t, h, "GET", "/any-repo", "Bearer "+sign(t, k, "at+jwt", wide)); a.status != 200 {
		t.Fatalf("an unrestricted grant on a route naming no resource: %+v", a)
	}
	if a := call(t, middleware.RequireScope("repo")(echo), "GET", "/", ""); a.status != 401 {
		t.Fatalf("RequireScope without the middleware: %+v", a)
	}
}

func TestAllowAnonymousPassesOnlyRequestsWithoutCredentials(t *testing.T) {
	is := newIssuer(t)
	is.publish(newKey(t, "k1", jose.ES256))
	h := middleware.New(middleware.Options{Issuer: is.srv.URL, AllowAnonymous: true})(echo)
	if a := call(t, h, "GET", "/", ""); a.status != 200 || a.body != "anonymous" {
		t.Fatalf("anonymous: %+v", a)
	}
	if a := call(t, h, "GET", "/", "Bearer x.y.z"); a.status != 401 {
		t.Fatalf("an invalid credential with AllowAnonymous: %+v", a)
	}
}

func TestNewPanicsOnUnusableOptions(t *testing.T) {
	for _, o := range []middleware.Options{
		{},
		{Issuer: "latchkey.example.com"},
		{Issuer: "https://latchkey.example.com", IntrospectionURL: "https://latchkey.example.com/oauth2/introspect"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", o)
				}
			}()
			middleware.New(o)
		}()
	}
}

// tamper rewrites one claim, keeping the signature.
func tamper(t *testing.T, raw, claim string, value any) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	m[claim] = value
	payload, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// algNone builds an unsigned JWT with alg "none".
func algNone(t *testing.T, c claims) string {
	t.Helper()
	tok := gojwt.NewWithClaims(gojwt.SigningMethodNone, toMap(t, c))
	tok.Header["kid"], tok.Header["typ"] = "k1", "at+jwt"
	raw, err := tok.SignedString(gojwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// hmacWithPublicKey is the classic key-confusion attack: HS256 keyed with
// the bytes of the issuer's public key.
func hmacWithPublicKey(t *testing.T, k key, c claims) string {
	t.Helper()
	pub := k.priv.Public().(*ecdsa.PublicKey)
	ecdh, _ := pub.ECDH()
	secret := ecdh.Bytes()
	tok := gojwt.NewWithClaims(gojwt.SigningMethodHS256, toMap(t, c))
	tok.Header["kid"], tok.Header["typ"] = k.kid, "at+jwt"
	raw, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func toMap(t *testing.T, c claims) gojwt.MapClaims {
	t.Helper()
	b, _ := json.Marshal(c)
	m := gojwt.MapClaims{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
