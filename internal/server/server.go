package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/internal/api"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/sts"
)

// App is an assembled server.
type App struct {
	Config   config.Serve
	Logger   *slog.Logger
	Out      io.Writer // where the first-start banner goes
	Store    store.Store
	Catalog  *scope.Catalog
	Services *service.Services
	Usage    *auth.Usage
	// Verifier is the edge's: it refuses blocked addresses and counts
	// failures. Every surface verifies through it.
	Verifier auth.Verifier
	// Edge is the request edge: client address, request id, failure limits.
	Edge *auth.Edge
	// Introspector serves /oauth2/introspect; mountSTS extends it to JWTs.
	Introspector *sts.Introspector
	// SSO holds the configured OIDC providers; Device the RFC 8628 flow.
	SSO     *identity.Providers
	Device  *sts.Device
	Mux     *http.ServeMux
	Handler http.Handler
	Version string

	failures *auth.FailureLimiter
	accounts *auth.AccountLimiter
	// usagePrunedAt is when the cleanup job last deleted per-day usage
	// counts past their keeping (Unix nanoseconds; 0 until the first time).
	usagePrunedAt atomic.Int64
	// cache is the verification cache (nil when --cache-size is 0);
	// followMemory makes Serve keep an auto memory limit at what it holds
	// (FollowCacheWithMemoryLimit).
	cache        *auth.Cache
	followMemory bool
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	// routeMetrics caches the children of requests and latency.
	routeMetrics sync.Map
	listener     net.Listener
	url          string
	closers      []func(context.Context)
	// releaseDataDir gives back the SQLite data directory's lock (nil on
	// PostgreSQL), after the store is closed.
	releaseDataDir func()
	// shutdownGrace overrides the package's shutdownGrace (tests).
	shutdownGrace time.Duration
	// firstPassword is set when this start created the first owner.
	firstPassword string
	outages       outages
}

// New assembles an App: open the store, build services and verification,
// mount the HTTP surfaces. It does not listen yet.
func New(ctx context.Context, cfg config.Serve, logger *slog.Logger, out io.Writer, version string) (*App, error) {
	// Every log line of a request carries its request id.
	logger = slog.New(auth.NewLogHandler(logger.Handler()))
	a := &App{Config: cfg, Logger: logger, Out: out, Version: version}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"open store", a.openStore},
		{"build services", a.buildServices},
		{"build notifications", a.buildNotifier},
		{"build verification", a.buildVerification},
		{"mount HTTP", a.mountHTTP},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			a.Close(context.Background())
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return a, nil
}

func (a *App) openStore(ctx context.Context) error {
	if a.Config.DatabaseURL != "" {
		st, err := a.openPostgresWaiting(ctx)
		if err != nil {
			return err
		}
		a.Store = st
		return nil
	}
	if err := os.MkdirAll(a.Config.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	release, err := lockDataDir(a.Config.DataDir, a.Logger)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(a.Config.DataDir, "latchkey.db"))
	if err != nil {
		release()
		return err
	}
	a.Store = st
	a.releaseDataDir = release
	return nil
}

func (a *App) buildServices(ctx context.Context) error {
	a.Catalog = scope.DefaultCatalog()
	if len(a.Config.File.Scopes) > 0 {
		cat, err := scope.NewCatalog(a.Config.File.Scopes)
		if err != nil {
			return fmt.Errorf("config file scopes: %w", err)
		}
		a.Catalog = cat
	}
	a.Services = service.New(a.Store, a.Catalog, service.Config{
		TokenPrefix: a.Config.TokenPrefix, SessionDuration: a.Config.SessionDuration,
		SSOOnly: a.Config.File.SSO.Only, BreakGlass: a.Config.File.SSO.BreakGlass,
		RoleRules: identity.RoleRules(a.Config.File.SSO.Providers),
	}, nil, nil, a.Logger)
	if err := a.Services.Policies.Init(ctx, a.initialPolicy(), a.policyOverrides); err != nil {
		return fmt.Errorf("initial policy: %w", err)
	}
	a.registerJobs()
	return nil
}

func (a *App) initialPolicy() store.Policy {
	return store.Policy{
		DefaultLifetime: a.Config.DefaultTokenLifetime, MaxLifetime: a.Config.MaxTokenLifetime,
		AllowNoExpiry: a.Config.AllowNoExpiry, Creation: a.Config.TokenCreation,
	}
}

// policyOverrides applies policy options the operator set explicitly on top
// of the stored policy; the rest stays as admins last set it.
func (a *App) policyOverrides(p *store.Policy) {
	c := a.Config
	if c.Changed["default-token-lifetime"] {
		p.DefaultLifetime = c.DefaultTokenLifetime
	}
	if c.Changed["max-token-lifetime"] {
		p.MaxLifetime = c.MaxTokenLifetime
	}
	if c.Changed["allow-no-expiry"] {
		p.AllowNoExpiry = c.AllowNoExpiry
	}
	if c.Changed["token-creation"] {
		p.Creation = c.TokenCreation
	}
}

func (a *App) buildVerification(ctx context.Context) error {
	a.Usage = auth.NewUsage(a.Store, a.Config.UsageFlushInterval, a.Logger)
	// A flush the database refuses makes the server unready, as a refused
	// request does: with only verification traffic, which reads, nothing
	// else would tell readiness that writes are refused.
	a.Usage.OnOutage(a.outages.record)
	go a.Usage.Run()
	a.closers = append(a.closers, a.Usage.Close)
	src, err := a.verificationSource()
	if err != nil {
		return err
	}
	checker := auth.NewChecker(src, auth.Options{
		Prefix: a.Config.TokenPrefix, Catalog: a.Catalog, Policy: a.Services.Policies,
		Sessions: a.Store, SessionDuration: a.Config.SessionDuration,
		SessionRefresh: !a.Config.DisableSessionRefresh, Usage: a.Usage, Logger: a.Logger,
	})
	proxies, err := auth.ParseProxies(a.Config.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	// One budget of failed authentications per client address, shared by
	// every surface that checks passwords or secrets: 20 at once, then one
	// every 3 seconds.
	a.failures = auth.NewFailureLimiter(20, 3*time.Second)
	// And one per user name, from any number of addresses: 10 failures
	// (each address counting once in ten minutes, the time the 10 take to
	// refill), then one a minute, except from an address that signed in to
	// the name in the last 30 days, so an attacker cannot keep its user out.
	a.accounts = auth.NewAccountLimiter(10, time.Minute, 30*24*time.Hour)
	a.Edge = auth.NewEdge(checker, proxies, a.failures)
	a.Verifier = a.Edge
	return nil
}

func (a *App) mountHTTP(ctx context.Context) error {
	a.Mux = http.NewServeMux()
	api.New(a.Mux, api.Deps{
		Services: a.Services, Verifier: a.Verifier, Logger: a.Logger, Version: a.Version,
		LoginLimiter: a.failures, AccountLimiter: a.accounts, Outage: a.outages.record,
		PublicURL: a.PublicURL(), PublicURLSet: a.Config.PublicURL != "",
		BasicUsernameMustMatch: a.Config.BasicAuthUsernameMustMatch,
	})
	a.Introspector = &sts.Introspector{Verifier: a.Edge, Issuer: a.PublicURL}
	a.Mux.Handle(sts.IntrospectPath, a.Introspector)
	a.Mux.Handle(sts.RevokePath, &sts.Revocation{Tokens: a.Services.Tokens, Verifier: a.Edge, Limiter: a.failures,
		Cached: a.Edge.Cached, Logger: a.Logger, Outage: a.outages.record})
	sts.MountNotFound(a.Mux)
	a.mountOperations()
	for _, mount := range []func(context.Context) error{a.mountSTS, a.mountSSO, a.mountWeb, a.mountGateway} {
		if err := mount(ctx); err != nil {
			return err
		}
	}
	if a.Handler == nil { // mountGateway sets it in reverse-proxy mode
		a.Handler = a.withRequestTimeout(a.Mux)
	}
	a.Handler = a.Edge.Handler(a.middleware(api.RejectUndecodableQuery(api.RejectDotSegments(a.Handler))))
	return nil
}

// PublicURL is the base URL users reach this server at.
func (a *App) PublicURL() string {
	if a.Config.PublicURL != "" {
		return strings.TrimRight(a.Config.PublicURL, "/")
	}
	if a.url != "" {
		return a.url
	}
	return listenURL(a.Config.Listen, a.Config.TLSCert != "")
}

func listenURL(addr string, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Listen opens the listening socket, so the URL is known (port 0 picks one),
// and then, on a first start, creates the first owner: it is the last step
// that can fail, so a start that fails (a busy port, a bad certificate, a
// bad route rule in New) leaves no owner behind whose password nobody saw.
// Serve prints the password right after.
func (a *App) Listen() error {
	if a.Config.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(a.Config.TLSCert, a.Config.TLSKey); err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
	}
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.Listen, err)
	}
	if err := a.bootstrap(context.Background()); err != nil {
		_ = ln.Close()
		return err
	}
	a.listener = ln
	a.url = listenURL(ln.Addr().String(), a.Config.TLSCert != "")
	return nil
}

// bootstrap creates the first owner when the database has no user yet.
func (a *App) bootstrap(ctx context.Context) error {
	pw, err := a.Services.Users.Bootstrap(ctx, a.Config.AdminUsername, a.Config.AdminPassword)
	if err != nil {
		return fmt.Errorf("create first owner: %w", err)
	}
	a.firstPassword = pw
	if pw == "" && a.Config.AdminPassword != "" {
		a.Logger.Warn("an admin password was given but an owner already exists; it is ignored. To set a password, run `latchkey admin reset-password USER`",
			"admin_username", a.Config.AdminUsername)
	}
	return nil
}

// URL is where the server listens, once Listen has run.
func (a *App) URL() string { return a.url }

// Serve serves until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context) error {
	if a.listener == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	a.banner()
	a.startJobs()
	a.startMemoryFollower()
	srv := &http.Server{
		Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if a.Config.TLSCert != "" {
			errc <- srv.ServeTLS(a.listener, a.Config.TLSCert, a.Config.TLSKey)
			return
		}
		errc <- srv.Serve(a.listener)
	}()
	a.Logger.Info("serving", "url", a.url, "storage", a.storageName())
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	a.Logger.Info("shutting down")
	grace := a.shutdownGrace
	if grace <= 0 {
		grace = shutdownGrace
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// A request that outlives the grace (a slow upload, a long export,
		// a slow upstream) is cut off; the stop is still an orderly one.
		a.Logger.Warn("requests still in flight when the shutdown grace ended were cut off", "grace", grace.String(), "err", err)
		_ = srv.Close()
	}
	// The last usage flush gets a budget of its own: the grace may be
	// spent, and an expired context would drop the usage it holds.
	cctx, ccancel := context.WithTimeout(context.Background(), closeBudget)
	defer ccancel()
	a.Close(cctx)
	return nil
}

// shutdownGrace is how long a stopping server lets requests in flight
// finish; closeBudget how long it then has to write the last usage and
// close the store. Together they fit the 30 s that Kubernetes and systemd
// give a process between SIGTERM and SIGKILL.
const (
	shutdownGrace = 20 * time.Second
	closeBudget   = 8 * time.Second
)

// Close flushes usage data and closes the store.
func (a *App) Close(ctx context.Context) {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i](ctx)
	}
	a.closers = nil
	if a.Store != nil {
		if err := a.Store.Close(); err != nil {
			a.Logger.Warn("close store", "err", err)
		}
		a.Store = nil
	}
	if a.releaseDataDir != nil {
		a.releaseDataDir()
		a.releaseDataDir = nil
	}
}

func (a *App) storageName() string {
	if a.Config.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite:" + filepath.Join(a.Config.DataDir, "latchkey.db")
}

// banner tells a person where to log in, and on first start the first
// owner's credentials, once. It goes to Out, never to the log.
func (a *App) banner() {
	if a.Out == nil {
		return
	}
	fmt.Fprintf(a.Out, "Latchkey is running at %s\n", a.PublicURL())
	fmt.Fprintf(a.Out, "  console:  %s/login\n  API:      %s/api/v1 (OpenAPI: %s%s.json)\n", a.PublicURL(), a.PublicURL(), a.PublicURL(), api.OpenAPIPath)
	switch {
	case a.firstPassword == "":
	case a.Config.AdminPassword == "":
		fmt.Fprintf(a.Out, "\nFirst start: created the owner account.\n  username: %s\n  password: %s\n", a.Config.AdminUsername, a.firstPassword)
		fmt.Fprintf(a.Out, "  (generated; shown only this once — change it after logging in)\n")
	default:
		// The operator chose it: it is theirs already, and this output
		// often lands in a journal or a container's log.
		fmt.Fprintf(a.Out, "\nFirst start: created the owner account.\n  username: %s\n  password: the one you gave (--admin-password, --admin-password-file or $LATCHKEY_ADMIN_PASSWORD)\n", a.Config.AdminUsername)
	}
	fmt.Fprintln(a.Out)
}
