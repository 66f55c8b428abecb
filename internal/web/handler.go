package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/service"
)

// LoginLimiter throttles clients whose password logins keep failing.
// auth.FailureLimiter satisfies it.
type LoginLimiter interface {
	Blocked(ip string) bool
	Fail(ip string)
	// Begin counts a password check as a failure until end settles it,
	// or is an *auth.RateLimited while ip is blocked.
	Begin(ip string) (end func(failed bool), err error)
	// Err is an *auth.RateLimited while ip is blocked, else nil.
	Err(ip string) error
}

// Deps are what the console needs. Services, Verifier and Logger are
// required.
type Deps struct {
	Services *service.Services
	Verifier auth.Verifier
	// Policy gives the token policy in force (expiration choices, effective
	// expiry); nil = Services.Policies.
	Policy auth.PolicySource
	Logger *slog.Logger
	// PublicURL is the base URL users reach Latchkey at; it is shown in the
	// commands the console suggests and used to recognise same-origin posts.
	PublicURL string
	// TLS tells whether users reach the console over HTTPS (served with TLS
	// here, or behind a proxy that terminates it); the session cookie is then
	// marked Secure.
	TLS bool
	// LoginLimiter throttles failed logins per client address; nil = none.
	LoginLimiter LoginLimiter
	// AccountLimiter throttles failed logins per user name; nil = none.
	AccountLimiter AccountLimiter
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// SSO are the OIDC providers of the login page; nil = none. SSOOnly
	// says password login is off but for break-glass owners.
	SSO     *identity.Providers
	SSOOnly bool
	// Device approves RFC 8628 codes on the /device page; nil = off.
	Device DeviceDecider
	// Outage, when set, is told about every storage failure a page answers
	// 503 for, as the API's Outage is (readiness reports a full disk or a
	// read-only database from it).
	Outage func(error)
}

// Handler serves the console.
type Handler struct {
	d       Deps
	pages   *pages
	csrf    *http.CrossOriginProtection
	secure  bool
	assets  assetVersions
	origins []string
}

// New builds the console handler, parsing its embedded templates.
func New(d Deps) (*Handler, error) {
	if d.Services == nil || d.Verifier == nil {
		return nil, errors.New("web: Services and Verifier are required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Policy == nil {
		d.Policy = d.Services.Policies
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	h := &Handler{d: d, secure: d.TLS || strings.HasPrefix(d.PublicURL, "https://")}
	h.assets = hashAssets()
	p, err := parsePages(h.funcs())
	if err != nil {
		return nil, fmt.Errorf("web: parse templates: %w", err)
	}
	h.pages = p
	h.csrf = http.NewCrossOriginProtection()
	if d.PublicURL != "" {
		u, err := url.Parse(d.PublicURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("web: public URL %q is not an absolute URL like https://latchkey.example.com", d.PublicURL)
		}
		if err := h.csrf.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("web: public URL %q: %w", d.PublicURL, err)
		}
	}
	h.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.forbidden(w, r, nil, "This form was sent from another site, so it was refused. Open the page in Latchkey and send it again.")
	}))
	return h, nil
}

// Mount registers the console's routes on mux. Every page path is
// explicit; the "/" catch-all answers unknown addresses with the console's
// 404 page (a way back included), except under the machine prefixes (API,
// OAuth, forward-auth, SCIM, operations), which keep plain 404s.
func (h *Handler) Mount(mux *http.ServeMux) {
	page := func(pattern string, fn visitHandler) { mux.Handle(pattern, h.signedIn(fn)) }
	admin := func(pattern string, fn visitHandler) { mux.Handle(pattern, h.signedIn(h.adminOnly(fn))) }
	public := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.protect(fn)) }

	public("GET /{$}", h.root)
	public("GET /login", h.loginForm)
	public("POST /login", h.login)
	page("POST /logout", h.logout)

	page("GET /tokens", h.listTokens)
	page("GET /tokens/new", h.newTokenForm)
	page("POST /tokens/new", h.createToken)
	page("GET /tokens/{id}", h.showToken)
	page("GET /tokens/{id}/issued", h.showIssued)
	page("GET /tokens/{id}/edit", h.editTokenForm)
	page("POST /tokens/{id}/edit", h.updateToken)
	page("GET /tokens/{id}/regenerate", h.regenerateForm)
	page("POST /tokens/{id}/regenerate", h.regenerateToken)
	page("GET /tokens/{id}/revoke", h.revokeForm)
	page("POST /tokens/{id}/revoke", h.revokeToken)
	page("GET /cli-auth", h.cliAuthForm)
	page("POST /cli-auth", h.cliAuth)
	page("GET /cli-auth/issued", h.cliAuthIssued)
	page("GET /sessions", h.listSessions)
	page("POST /sessions/revoke-others", h.revokeOtherSessions)
	page("POST /sessions/{id}/revoke", h.revokeSession)

	admin("GET /admin/{$}", func(w http.ResponseWriter, r *http.Request, _ *visit) {
		seeOther(w, r, "/admin/users")
	})
	admin("GET /admin/users", h.listUsers)
	admin("POST /admin/users", h.createUser)
	admin("GET /admin/users/{id}", h.showUser)
	admin("POST /admin/users/{id}/role", h.changeRole)
	admin("POST /admin/users/{id}/email", h.changeEmail)
	admin("POST /admin/users/{id}/suspend", h.suspendUser)
	admin("POST /admin/users/{id}/delete", h.deleteUser)
	admin("GET /admin/service-accounts", h.listServiceAccounts)
	admin("POST /admin/service-accounts", h.createServiceAccount)
	admin("GET /admin/tokens", h.listAllTokens)
	admin("GET /admin/policy", h.policyForm)
	admin("POST /admin/policy", h.setPolicy)
	admin("GET /admin/audit", h.auditLog)
	admin("GET /admin/federation", h.listFederation)
	admin("POST /admin/federation", h.createFederation)
	admin("POST /admin/federation/{id}/delete", h.deleteFederation)
	h.mountSSO(mux)

	mux.Handle("GET /static/{file...}", h.static())
	// Unknown paths under the console's own prefixes get the console's 404
	// page; everything else stays with the mux's default.
	for _, prefix := range []string{"/tokens/", "/admin/", "/login/", "/cli-auth/", "/sessions/"} {
		public(prefix, h.notFound)
	}
	mux.Handle("/", h.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.unknownAddress(mux, w, r) })))
}

// machinePrefixes are where programs, not people, send requests: an
// unknown address there gets a plain 404, not a page.
var machinePrefixes = []string{"/api/", "/oauth2/", "/auth/", "/.well-known/", "/scim/", "/healthz", "/readyz", "/metrics", "/static/"}

// unknownAddress answers a path no route serves for r's method: 405 when
// the path exists for other methods (as the mux would without the
// catch-all), else 404.
func (h *Handler) unknownAddress(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	for _, p := range machinePrefixes {
		if strings.HasPrefix(r.URL.Path, p) {
			http.NotFound(w, r)
			return
		}
	}
	h.notFound(w, r)
}

// root sends people to their tokens, or to the login page.
func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	if v := h.session(w, r); v != nil {
		seeOther(w, r, "/tokens")
		return
	}
	seeOther(w, r, "/login")
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.renderError(w, r, h.session(w, r), http.StatusNotFound, "Page not found",
		"There is no page at this address. It may have moved, or the link may be mistyped.")
}
