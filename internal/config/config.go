package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/token"
)

// Serve is the configuration of `latchkey serve`.
type Serve struct {
	Listen                string
	DataDir               string
	DatabaseURL           string
	ConfigFile            string
	TokenPrefix           string
	SessionDuration       time.Duration
	DisableSessionRefresh bool
	DefaultTokenLifetime  time.Duration
	MaxTokenLifetime      time.Duration
	AllowNoExpiry         bool
	TokenCreation         string
	TLSCert               string
	TLSKey                string
	AdminUsername         string
	AdminPassword         string
	AdminPasswordFile     string
	PublicURL             string
	LogLevel              string
	UsageFlushInterval    time.Duration
	Upstream              string
	// UpstreamTimeout bounds the wait for an upstream's response headers
	// in reverse-proxy mode; request bodies stream without a total limit.
	UpstreamTimeout time.Duration
	// RequestTimeout bounds an API, OAuth or SCIM request (not the audit
	// export, a job run, what only verifies a token, or the gateway): past
	// it, the request answers 503
	// rather than wait on a slow or unreachable database. 0 = no limit.
	RequestTimeout time.Duration
	// GatewayRealm is the realm of the Basic challenge sent by forward-auth
	// and reverse-proxy mode, so Git prompts for the token.
	GatewayRealm string
	// BasicAuthUsernameMustMatch refuses Basic credentials whose user name
	// is not the token owner's.
	BasicAuthUsernameMustMatch bool
	// TrustedProxies are the CIDRs of the proxies whose forwarding headers
	// (client address; for forward-auth the original method and URI) are
	// believed. Empty: none, every request is judged by its direct peer.
	TrustedProxies []string
	// ConsoleHost is the host the web console is served on in
	// reverse-proxy mode, apart from every upstream's origin.
	ConsoleHost string
	// CacheSize and CacheTTL bound the verification cache; size 0 disables it.
	CacheSize   int
	CacheTTL    time.Duration
	NegativeTTL time.Duration
	// MemoryLimit is the soft limit of the Go heap: "auto" (derived from
	// the entries the cache holds, at most CacheSize, unless $GOMEMLIMIT
	// is set), "off", or a size such as "512MiB". See MemoryLimitBytes.
	MemoryLimit string

	// Token exchange (internal/sts): JWT signing keys and lifetimes.
	SigningKeySecret     string // encrypts signing keys at rest
	SigningKeySecretFile string
	JWTLifetime          time.Duration
	KeyRotationInterval  time.Duration // 0 = rotate only with `latchkey keys rotate`
	JWTAlgorithm         string        // ES256 or EdDSA

	// Notifications (internal/notify): expiry reminders and leak notices by
	// email and webhook. Neither set = no notices.
	SMTPURL           string // smtp:// or smtps://, credentials included
	SMTPURLFile       string
	SMTPFrom          string
	WebhookURL        string
	WebhookSecret     string // HMAC key of X-Latchkey-Signature
	WebhookSecretFile string

	File File // the structured sections of the --config file

	// Changed reports whether an option was set by flag, env or file (not
	// left at its default), by flag name.
	Changed map[string]bool
}

// File is the structured part of the --config YAML file.
type File struct {
	Scopes    []scope.Def       `yaml:"scopes,omitempty"`
	Routes    scope.RulesConfig `yaml:"routes,omitempty"`
	Upstreams []Upstream        `yaml:"upstreams,omitempty"`
	SSO       SSO               `yaml:"sso,omitempty"`
	// Options holds top-level keys that name flags, e.g. "listen".
	Options map[string]any `yaml:",inline"`
}

// Upstream is a service Latchkey proxies to in reverse-proxy mode, chosen by
// host and/or path prefix.
type Upstream struct {
	Host        string `yaml:"host,omitempty"`
	PathPrefix  string `yaml:"path_prefix,omitempty"`
	URL         string `yaml:"url"`
	StripPrefix bool   `yaml:"strip_prefix,omitempty"`
	// Routes, when set, are this upstream's own route rules, matched
	// against the path the upstream sees; otherwise the top-level routes apply.
	Routes *scope.RulesConfig `yaml:"routes,omitempty"`
}

// option is one declared setting.
type option struct {
	name, help string
	bind       func(fs *pflag.FlagSet, name, help string)
}

// EnvName is the environment twin of a flag: --data-dir → LATCHKEY_DATA_DIR.
func EnvName(flag string) string {
	return "LATCHKEY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func (c *Serve) options() []option {
	str := func(p *string, def string) func(*pflag.FlagSet, string, string) {
		return func(fs *pflag.FlagSet, n, h string) { fs.StringVar(p, n, def, h) }
	}
	dur := func(p *time.Duration, def time.Duration) func(*pflag.FlagSet, string, string) {
		return func(fs *pflag.FlagSet, n, h string) { DurationVar(fs, p, n, def, h) }
	}
	boolean := func(p *bool, def bool) func(*pflag.FlagSet, string, string) {
		return func(fs *pflag.FlagSet, n, h string) { fs.BoolVar(p, n, def, h) }
	}
	integer := func(p *int, def int) func(*pflag.FlagSet, string, string) {
		return func(fs *pflag.FlagSet, n, h string) { fs.IntVar(p, n, def, h) }
	}
	list := func(p *[]string) func(*pflag.FlagSet, string, string) {
		return func(fs *pflag.FlagSet, n, h string) { fs.StringSliceVar(p, n, nil, h) }
	}
	return []option{
		{"listen", "address to listen on", str(&c.Listen, "127.0.0.1:8080")},
		{"data-dir", "directory of the embedded SQLite database", str(&c.DataDir, "./latchkey-data")},
		{"database-url", "a postgres:// URL switches storage to PostgreSQL", str(&c.DatabaseURL, "")},
		{"config", "YAML file: scope catalog, route rules, upstreams, single sign-on (sso:, see docs/sso.md), and any option by its flag name", str(&c.ConfigFile, "")},
		{"token-prefix", "prefix of issued tokens, e.g. lk → lk_pat_...", str(&c.TokenPrefix, token.DefaultPrefix)},
		{"session-duration", "how long a login session lasts", dur(&c.SessionDuration, 24*time.Hour)},
		{"disable-session-expiry-refresh", "do not slide a session's expiry forward when it is used", boolean(&c.DisableSessionRefresh, false)},
		{"default-token-lifetime", "initial policy: lifetime of tokens created without an expiration", dur(&c.DefaultTokenLifetime, 180*24*time.Hour)},
		{"max-token-lifetime", "initial policy: longest token lifetime allowed (0 = none)", dur(&c.MaxTokenLifetime, 0)},
		{"allow-no-expiry", "initial policy: allow tokens that never expire", boolean(&c.AllowNoExpiry, true)},
		{"token-creation", "initial policy: who may create tokens: everyone or admins", str(&c.TokenCreation, "everyone")},
		{"tls-cert", "TLS certificate file (PEM); serve HTTPS when set with --tls-key", str(&c.TLSCert, "")},
		{"tls-key", "TLS private key file (PEM)", str(&c.TLSKey, "")},
		{"admin-username", "user name of the first owner, created on first start", str(&c.AdminUsername, "admin")},
		{"admin-password", "password of the first owner (default: random, printed once)", str(&c.AdminPassword, "")},
		{"admin-password-file", "file holding the first owner's password", str(&c.AdminPasswordFile, "")},
		{"public-url", "URL users reach Latchkey at; the API's $schema links, notices and issuers start with it (default: derived from --listen; $schema links then follow the request's own host and scheme)", str(&c.PublicURL, "")},
		{"log-level", "debug, info, warn or error", str(&c.LogLevel, "info")},
		{"usage-flush-interval", "how often aggregated last-used data is written", dur(&c.UsageFlushInterval, 5*time.Second)},
		{"upstream", "reverse-proxy mode: forward authenticated requests to this URL", str(&c.Upstream, "")},
		{"console-host", "reverse-proxy mode: the host name the web console is served on (e.g. latchkey.example.com); never on an upstream's origin", str(&c.ConsoleHost, "")},
		{"upstream-timeout", "reverse-proxy mode: how long to wait for an upstream's response headers (0 = no limit)", dur(&c.UpstreamTimeout, time.Minute)},
		{"request-timeout", "how long an API, OAuth, SCIM or console login request may take before it answers 503 (a slow or unreachable database, or a login waiting its turn for a password check) instead of waiting; the audit export, job runs, /api/v1/me and introspection are not bounded (0 = no limit)", dur(&c.RequestTimeout, 30*time.Second)},
		{"gateway-realm", "realm of the Basic challenge sent by /auth/verify and reverse-proxy mode", str(&c.GatewayRealm, "latchkey")},
		{"trusted-proxies", "comma-separated CIDRs of the proxies in front of Latchkey (e.g. 127.0.0.1/32,10.0.0.0/8): only they may set X-Forwarded-For, Forwarded, X-Real-IP, X-Forwarded-Host and X-Forwarded-Proto (where the API's $schema links point, without --public-url) and the forward-auth original method and URI (default: none, trust no header)", list(&c.TrustedProxies)},
		{"basic-auth-username-must-match", "refuse Basic credentials whose user name is not the token owner's", boolean(&c.BasicAuthUsernameMustMatch, false)},
		{"cache-size", "verification cache entries (0 disables the cache)", integer(&c.CacheSize, 100_000)},
		{"cache-ttl", "how long a cached verification may be reused before re-reading it", dur(&c.CacheTTL, 30*time.Second)},
		{"memory-limit", "soft limit of the Go heap, which makes the garbage collector return memory before the process grows past it: auto (64MiB plus 1,200 bytes per entry the verification cache holds, up to --cache-size entries, with the collector run at the limit rather than at each doubling of the heap unless $GOGC is set; $GOMEMLIMIT wins when set), off, or a size such as 512MiB", str(&c.MemoryLimit, "auto")},
		{"negative-cache-ttl", "how long an unknown token digest is remembered as unknown", dur(&c.NegativeTTL, 2*time.Second)},
		{"signing-key-secret", "secret that encrypts the JWT signing keys at rest (default with SQLite: generated into the data directory; required for token exchange with PostgreSQL, the same on every replica)", str(&c.SigningKeySecret, "")},
		{"signing-key-secret-file", "file holding the signing-key secret", str(&c.SigningKeySecretFile, "")},
		{"jwt-lifetime", "lifetime of JWTs issued by token exchange (never past the exchanged token's own expiry)", dur(&c.JWTLifetime, 15*time.Minute)},
		{"key-rotation-interval", "how often a new JWT signing key takes over (0 = only with 'latchkey keys rotate')", dur(&c.KeyRotationInterval, 720*time.Hour)},
		{"jwt-algorithm", "signature algorithm of new JWT signing keys: ES256 or EdDSA", str(&c.JWTAlgorithm, "ES256")},
		{"smtp-url", "mail server for expiry reminders and leak notices: smtp://user:password@host:587 (STARTTLS when offered) or smtps://...:465", str(&c.SMTPURL, "")},
		{"smtp-url-file", "file holding the --smtp-url (it contains the password)", str(&c.SMTPURLFile, "")},
		{"smtp-from", "sender address of notification emails, e.g. Latchkey <latchkey@example.com>", str(&c.SMTPFrom, "")},
		{"webhook-url", "URL that expiry reminders and leak notices are POSTed to as signed JSON", str(&c.WebhookURL, "")},
		{"webhook-secret", "secret that signs webhook bodies (X-Latchkey-Signature: sha256=HMAC); at least 16 characters", str(&c.WebhookSecret, "")},
		{"webhook-secret-file", "file holding the webhook secret", str(&c.WebhookSecretFile, "")},
	}
}

// Bind declares the serve flags on fs, with help naming each env twin.
func (c *Serve) Bind(fs *pflag.FlagSet) {
	for _, o := range c.options() {
		o.bind(fs, o.name, o.help+" ($"+EnvName(o.name)+")")
	}
}

// Resolve applies the environment and the config file to flags not given on
// the command line, reads the file's structured sections and validates.
func (c *Serve) Resolve(fs *pflag.FlagSet) error {
	c.Changed = map[string]bool{}
	opts := c.options()
	for _, o := range opts {
		f := fs.Lookup(o.name)
		if f.Changed {
			c.Changed[o.name] = true
			continue
		}
		if v, ok := os.LookupEnv(EnvName(o.name)); ok {
			if err := fs.Set(o.name, v); err != nil {
				return fmt.Errorf("$%s: %w", EnvName(o.name), err)
			}
			c.Changed[o.name] = true
		}
	}
	if c.ConfigFile != "" {
		if err := c.readFile(fs); err != nil {
			return err
		}
	}
	if c.AdminPasswordFile != "" && c.AdminPassword == "" {
		b, err := os.ReadFile(c.AdminPasswordFile)
		if err != nil {
			return fmt.Errorf("read --admin-password-file: %w", err)
		}
		c.AdminPassword = strings.TrimSpace(string(b))
	}
	if c.SigningKeySecretFile != "" && c.SigningKeySecret == "" {
		b, err := os.ReadFile(c.SigningKeySecretFile)
		if err != nil {
			return fmt.Errorf("read --signing-key-secret-file: %w", err)
		}
		c.SigningKeySecret = strings.TrimSpace(string(b))
	}
	if err := c.readNotifySecrets(); err != nil {
		return err
	}
	return c.validate()
}

func (c *Serve) readFile(fs *pflag.FlagSet) error {
	b, err := os.ReadFile(c.ConfigFile)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c.File); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", c.ConfigFile, err)
	}
	for key, v := range c.File.Options {
		f := fs.Lookup(key)
		if f == nil || key == "config" {
			return fmt.Errorf("config file %s: unknown key %q; keys are scopes, routes, upstreams, sso, or a serve flag name such as listen", c.ConfigFile, key)
		}
		if c.Changed[key] {
			continue
		}
		if l, ok := v.([]any); ok {
			// A YAML list sets a list option, e.g. trusted_proxies: [a, b].
			parts := make([]string, len(l))
			for i, x := range l {
				parts[i] = fmt.Sprint(x)
			}
			v = strings.Join(parts, ",")
		}
		if err := fs.Set(key, fmt.Sprint(v)); err != nil {
			return fmt.Errorf("config file %s: %s: %w", c.ConfigFile, key, err)
		}
		c.Changed[key] = true
	}
	return nil
}

func (c *Serve) validate() error {
	if err := token.ValidatePrefix(c.TokenPrefix); err != nil {
		return fmt.Errorf("--token-prefix: %w", err)
	}
	if c.SessionDuration < time.Minute {
		return fmt.Errorf("--session-duration must be at least 1m")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key must be given together")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("--database-url must be a postgres:// URL; leave it empty for the embedded SQLite database in --data-dir")
	}
	if c.TokenCreation != "everyone" && c.TokenCreation != "admins" {
		return fmt.Errorf("--token-creation must be everyone or admins")
	}
	if c.MaxTokenLifetime < 0 || c.DefaultTokenLifetime < 0 {
		return fmt.Errorf("token lifetimes must not be negative")
	}
	if c.CacheSize < 0 {
		return fmt.Errorf("--cache-size must not be negative")
	}
	if _, err := c.MemoryLimitBytes(); err != nil {
		return err
	}
	if c.GatewayRealm == "" || strings.ContainsAny(c.GatewayRealm, "\"\\\r\n") {
		return fmt.Errorf("--gateway-realm must be a non-empty name without quotes, backslashes or line breaks, e.g. latchkey")
	}
	if _, err := auth.ParseProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.UpstreamTimeout < 0 {
		return fmt.Errorf("--upstream-timeout must not be negative; use 0 for no limit")
	}
	if c.RequestTimeout < 0 {
		return fmt.Errorf("--request-timeout must not be negative; use 0 for no limit")
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	if err := c.File.SSO.resolve(os.Getenv); err != nil {
		return fmt.Errorf("config file %s: %w", c.ConfigFile, err)
	}
	return c.validateExchange()
}

// validateExchange checks the token-exchange options.
func (c *Serve) validateExchange() error {
	if c.JWTAlgorithm != "ES256" && c.JWTAlgorithm != "EdDSA" {
		return fmt.Errorf("--jwt-algorithm must be ES256 or EdDSA, not %q", c.JWTAlgorithm)
	}
	if c.JWTLifetime < time.Second || c.JWTLifetime > 24*time.Hour {
		return fmt.Errorf("--jwt-lifetime must be between 1s and 24h (it is %s); short-lived is the point of token exchange", c.JWTLifetime)
	}
	if c.KeyRotationInterval != 0 && c.KeyRotationInterval < time.Minute {
		return fmt.Errorf("--key-rotation-interval must be 0 (no schedule) or at least 1m (it is %s)", c.KeyRotationInterval)
	}
	if c.SigningKeySecret != "" && len(c.SigningKeySecret) < 16 {
		return fmt.Errorf("the signing-key secret must be at least 16 characters (32 random ones recommended, e.g. from `openssl rand -base64 32`)")
	}
	return nil
}
