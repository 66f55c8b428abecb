package federation

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Algorithms are the signature algorithms accepted: asymmetric only. "none"
// and HMAC are refused before any key is looked at, so a token signed with
// an issuer's public key as an HMAC secret never verifies.
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Options tune a Verifier. Zero values take the defaults.
type Options struct {
	HTTPClient         *http.Client // default: 10s timeout; without a CheckRedirect, at most 3 redirects, never from https to http
	Now                func() time.Time
	Skew               time.Duration // tolerance on exp, nbf, iat; default 1 minute
	MinRefreshInterval time.Duration // between fetches of one issuer's keys; default 30s
	MaxKeyAge          time.Duration // cached keys are refetched after this; default 1h
	Retries            int           // attempts per fetch; default 3
	FetchTimeout       time.Duration // per attempt; default 5s
	Logger             *slog.Logger
}

// Verifier verifies OIDC tokens of trusted issuers. It is safe for
// concurrent use; keys are cached per issuer for the process's life.
type Verifier struct {
	opts    Options
	mu      sync.Mutex
	issuers map[string]*keyset
	fetches atomic.Int64
}

// NewVerifier returns a Verifier with opts' defaults filled in.
func NewVerifier(opts Options) *Verifier {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.HTTPClient.CheckRedirect == nil {
		c := *opts.HTTPClient
		c.CheckRedirect = checkRedirect
		opts.HTTPClient = &c
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Skew <= 0 {
		opts.Skew = time.Minute
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = 30 * time.Second
	}
	if opts.MaxKeyAge <= 0 {
		opts.MaxKeyAge = time.Hour
	}
	if opts.Retries <= 0 {
		opts.Retries = 3
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Verifier{opts: opts, issuers: map[string]*keyset{}}
}

// Fetches is how many times keys were fetched successfully (for tests and
// metrics).
func (v *Verifier) Fetches() int64 { return v.fetches.Load() }

// Token is a verified OIDC token.
type Token struct {
	Issuer   string
	Subject  string
	Audience []string
	ID       string // jti
	Expiry   time.Time
	Claims   map[string]any // every claim, as decoded JSON
}

// maxTokenLen bounds what is parsed at all.
const maxTokenLen = 16 << 10

// Verify checks raw's algorithm, issuer (trusted must accept it), signature
// and times, and returns its claims. Every refusal is an *Error naming the
// check that failed; none contains the token.
func (v *Verifier) Verify(ctx context.Context, raw string, trusted func(issuer string) bool) (*Token, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return nil, &Error{Code: CodeInvalidRequest, Check: "format", Msg: "subject_token must be a JWT of at most 16 KiB"}
	}
	if err := checkAlg(raw); err != nil {
		return nil, err
	}
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return nil, malformed("subject_token is not a signed JWT in compact form (three base64url parts)")
	}
	if len(tok.Headers) != 1 {
		return nil, refuse("format", "subject_token must carry exactly one signature")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, refuse("format", "the JWT's claims are not a JSON object with standard claim types")
	}
	iss := unverified.Issuer
	if iss == "" {
		return nil, refuse("issuer", "the JWT has no iss claim")
	}
	if !trusted(iss) {
		return nil, refuse("issuer", "issuer %q is not trusted by any federation policy; an admin must create one for it", printable(iss))
	}
	kid := tok.Headers[0].KeyID
	keys, err := v.keysFor(ctx, iss, kid, false)
	if err != nil {
		return nil, err
	}
	// The signature is checked alone, into the raw payload: a payload that
	// verifies but does not decode is then refused as such, not as a bad
	// signature. A key that names its algorithm (the JWK's alg) verifies
	// only tokens of that algorithm (RFC 7517 §4.4), so a key published for
	// RS256 never verifies a PS256 or RS512 signature.
	alg := tok.Headers[0].Algorithm
	payload, algMismatch := verifySignature(tok, keys, kid, alg)
	if payload == nil && kid == "" {
		// Without a kid an unknown key cannot be told from a bad signature:
		// the issuer may have rotated, so its keys are fetched again
		// (at most once per MinRefreshInterval), as for an unknown kid.
		if keys, err = v.keysFor(ctx, iss, kid, true); err != nil {
			return nil, err
		}
		payload, algMismatch = verifySignature(tok, keys, kid, alg)
	}
	if payload == nil {
		if !hasKid(keys, kid) {
			return nil, refuse("signature", "issuer %s publishes no key with kid %q (checked its JWKS again)", printable(iss), printable(kid))
		}
		if algMismatch != "" && kid != "" {
			return nil, refuse("alg", "the JWT is signed with %s but issuer %s publishes key %q for %s only", printable(alg), printable(iss), printable(kid), printable(algMismatch))
		}
		return nil, refuse("signature", "the JWT's signature does not verify with issuer %s's key", printable(iss))
	}
	var std jwt.Claims
	if err := json.Unmarshal(payload, &std); err != nil {
		return nil, refuse("claims", "the JWT's registered claims (iss, sub, aud, exp, nbf, iat, jti) do not have their standard types")
	}
	// Numbers stay as written (json.Number): a large numeric id must match
	// a condition digit for digit, not after rounding to a float64.
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, refuse("claims", "the JWT's claims are not a JSON object")
	}
	now := v.opts.Now()
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: iss, Time: now}, v.opts.Skew); err != nil {
		switch err {
		case jwt.ErrExpired:
			return nil, refuse("exp", "the JWT expired at %s; request a fresh one from the CI system", std.Expiry.Time().UTC().Format(time.RFC3339))
		case jwt.ErrNotValidYet:
			return nil, refuse("nbf", "the JWT is not valid before %s; check the clocks", std.NotBefore.Time().UTC().Format(time.RFC3339))
		case jwt.ErrIssuedInTheFuture:
			return nil, refuse("iat", "the JWT was issued in the future (%s); check the clocks", std.IssuedAt.Time().UTC().Format(time.RFC3339))
		}
		return nil, refuse("claims", "the JWT's claims are invalid: %v", err)
	}
	if std.Expiry == nil {
		return nil, refuse("exp", "the JWT has no exp claim; only expiring tokens are exchanged")
	}
	return &Token{
		Issuer: iss, Subject: std.Subject, Audience: []string(std.Audience), ID: std.ID,
		Expiry: std.Expiry.Time(), Claims: claims,
	}, nil
}

// verifySignature returns tok's payload if one of keys (the one named kid,
// when kid is set) verifies its signature, and otherwise the alg of a key
// skipped because it is published for another algorithm.
func verifySignature(tok *jwt.JSONWebToken, keys []jose.JSONWebKey, kid, alg string) (payload []byte, algMismatch string) {
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			algMismatch = k.Algorithm
			continue
		}
		var raw json.RawMessage
		if err := tok.Claims(k.Key, &raw); err == nil {
			return raw, ""
		}
	}
	return nil, algMismatch
}

// checkAlg reads the JOSE header's alg to refuse "none" and HMAC with a
// clear message before go-jose does so with a generic one.
func checkAlg(raw string) *Error {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return malformed("subject_token is not a JWT (no '.' separated parts); send the OIDC token as issued")
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return malformed("the JWT header is not base64url")
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return malformed("the JWT header is not JSON")
	}
	for _, a := range Algorithms {
		if string(a) == h.Alg {
			return nil
		}
	}
	return refuse("alg", "JWT algorithm %q is refused: only asymmetric signatures (RS*, PS*, ES*, EdDSA) are accepted, never none or HMAC", printable(h.Alg))
}
