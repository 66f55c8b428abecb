package middleware

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/sameorigin"
)

// Defaults of Options.
const (
	DefaultClockSkew         = time.Minute
	DefaultJWKSRefresh       = 5 * time.Minute
	DefaultJWKSMinRefresh    = 5 * time.Second
	DefaultIntrospectionTTL  = 10 * time.Second
	DefaultIntrospectionSize = 10_000
)

// Options configure New. Only Issuer is required.
type Options struct {
	// Issuer is the Latchkey server's public URL, e.g.
	// "https://latchkey.example.com": the iss every accepted JWT must carry.
	Issuer string
	// Audience is this service's name, as clients pass it to token exchange
	// (`latchkey tokens exchange --audience inventory`); accepted JWTs must
	// list it in aud. Empty means the Issuer URL, the audience of JWTs
	// exchanged without one: convenient, but such a JWT is accepted by every
	// service configured without an audience.
	Audience string
	// JWKSURL is where the signing keys are published; default
	// Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// ClockSkew is the tolerance on exp, nbf and iat; zero means
	// DefaultClockSkew, a negative value none at all.
	ClockSkew time.Duration
	// JWKSRefresh is how long fetched keys are used before fetching them
	// again; default 5m. A JWT with an unknown kid triggers an earlier
	// fetch, at most once per JWKSMinRefresh (default 5s).
	JWKSRefresh    time.Duration
	JWKSMinRefresh time.Duration

	// IntrospectionURL, when set, makes the middleware also accept raw
	// Latchkey tokens (personal and admin access tokens and the federated
	// tokens of CI jobs, not sessions) by
	// asking this RFC 7662 endpoint, e.g. Issuer + "/oauth2/introspect".
	// IntrospectionToken is the middleware's own credential there: a
	// Latchkey token with the introspect scope. A string that is not a
	// well-formed Latchkey token (its checksum is checked offline) is
	// refused without a call.
	IntrospectionURL   string
	IntrospectionToken string
	// CacheTTL is how long an introspection answer is reused; default 10s.
	// It bounds how long a revoked token keeps working here.
	CacheTTL time.Duration
	// CacheSize bounds the introspection cache; default 10,000 entries.
	CacheSize int

	// Implies is the scope hierarchy used by Principal.Allows; nil means
	// DefaultImplies, the built-in catalog's.
	Implies map[string][]string
	// AllowAnonymous passes requests without any credential on, without a
	// principal, instead of answering 401. Invalid credentials still get 401.
	AllowAnonymous bool
	// Realm names the protection space in WWW-Authenticate; default
	// "latchkey".
	Realm string
	// ClientIP returns the address of the client of a request, against
	// which a token's IP allowlist (reported by introspection) is checked.
	// Default: the host of r.RemoteAddr. Behind a proxy, return the address
	// it forwards, read only when r comes from that proxy.
	ClientIP func(r *http.Request) string
	// HTTPClient fetches keys and calls introspection; default: a client
	// with a 10s timeout. Unless it has a CheckRedirect of its own, the
	// middleware follows a redirect only within the origin (scheme, host,
	// port) of the URL it asked, so that a token it introspects is never
	// POSTed to another server, nor keys or an answer taken from one.
	HTTPClient *http.Client
	// Logger receives fetch failures; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now. For tests.
	Now func() time.Time
}

// withDefaults validates o and fills in defaults. Configuration mistakes
// are programming errors found at start-up, so they panic with a message
// that says what to fix.
func (o Options) withDefaults() Options {
	if o.Issuer == "" {
		panic("middleware: Options.Issuer is required: the Latchkey server's public URL, e.g. https://latchkey.example.com")
	}
	if u, err := url.Parse(o.Issuer); err != nil || !u.IsAbs() {
		panic("middleware: Options.Issuer must be an absolute URL such as https://latchkey.example.com, not " + o.Issuer)
	}
	o.Issuer = strings.TrimRight(o.Issuer, "/")
	if o.Audience == "" {
		o.Audience = o.Issuer
	}
	if o.JWKSURL == "" {
		o.JWKSURL = o.Issuer + "/.well-known/jwks.json"
	}
	if (o.IntrospectionURL == "") != (o.IntrospectionToken == "") {
		panic("middleware: set Options.IntrospectionURL and IntrospectionToken together (a Latchkey token with the introspect scope), or neither")
	}
	switch {
	case o.ClockSkew == 0:
		o.ClockSkew = DefaultClockSkew
	case o.ClockSkew < 0:
		o.ClockSkew = 0
	}
	o.JWKSRefresh = orDefault(o.JWKSRefresh, DefaultJWKSRefresh)
	o.JWKSMinRefresh = orDefault(o.JWKSMinRefresh, DefaultJWKSMinRefresh)
	o.CacheTTL = orDefault(o.CacheTTL, DefaultIntrospectionTTL)
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultIntrospectionSize
	}
	if o.ClientIP == nil {
		o.ClientIP = func(r *http.Request) string {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return host
		}
	}
	if o.Realm == "" {
		o.Realm = "latchkey"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.HTTPClient.CheckRedirect == nil {
		hc := *o.HTTPClient
		hc.CheckRedirect = sameorigin.CheckRedirect
		o.HTTPClient = &hc
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
