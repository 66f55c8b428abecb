package federation

import (
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
	HTTPClient         *http.Client // default: 10s timeout, no redirects to other schemes
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
	keys, err := v.keysFor(ctx, iss, kid)
	if err != nil {
		return nil, err
	}
	var (
		std    jwt.Claims
		claims map[string]any
	)
	verified := false
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if err := tok.Claims(k.Key, &std, &claims); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		if !hasKid(keys, kid) {
			return nil, refuse("signature", "issuer %s publishes no key with kid %q (checked its JWKS again)", printable(iss), printable(kid))
		}
		return nil, refuse("signature", "the JWT's signature does not verify with issuer %s's key", printable(iss))
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
