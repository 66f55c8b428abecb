package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
)

// Deps are what the API needs.
type Deps struct {
	Services *service.Services
	Verifier auth.Verifier
	Logger   *slog.Logger
	Now      func() time.Time
	Version  string
	// LoginLimiter throttles failed password logins and leak reports per
	// client address; the same limiter (through the Verifier, an
	// *auth.Edge) throttles failed token authentications.
	LoginLimiter *auth.FailureLimiter
	// AccountLimiter throttles failed password logins per user name, from
	// any number of addresses; nil = none.
	AccountLimiter *auth.AccountLimiter
	// Outage, when set, is told about every storage failure answered 503
	// (readiness reports a full disk from it).
	Outage func(error)
	// PublicURL is the URL users reach Latchkey at, without a trailing
	// slash; PublicURLSet says it was configured (--public-url) rather
	// than derived from --listen. The $schema URLs of answers start with
	// it when set, else with the request's own origin (see origin).
	PublicURL    string
	PublicURLSet bool
	// BasicUsernameMustMatch refuses Basic credentials whose user name is
	// not the token owner's (--basic-auth-username-must-match), here as
	// at /auth/verify.
	BasicUsernameMustMatch bool
}

// API is the mounted REST API.
type API struct {
	huma.API
	d   Deps
	mux *http.ServeMux
	// plainMe turns the encoded /api/v1/me answer off, for the test that
	// compares it with huma's.
	plainMe bool
}

// OpenAPIPath is where the generated OpenAPI document is served (.json, .yaml).
const OpenAPIPath = "/api/v1/openapi"

// New registers every operation on mux and returns the API.
func New(mux *http.ServeMux, d Deps) *API {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	cfg := huma.DefaultConfig("Latchkey API", d.Version)
	cfg.Info.Description = "Personal access tokens done right: create, list, update, regenerate and revoke scoped, expiring tokens; manage users, policy and the audit log."
	cfg.OpenAPIPath = OpenAPIPath
	cfg.DocsPath = "" // served from the binary by mountDocs
	cfg.SchemasPath = "/api/v1/schemas"
	cfg.Transformers = append(cfg.Transformers, explain)
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A personal access token, admin access token or session token"},
		"basic":  {Type: "http", Scheme: "basic", Description: "Any user name and the token as password (git over HTTPS)"},
	}
	documentRules(&cfg)
	a := &API{d: d, mux: mux}
	a.withMeEncoder(&cfg)
	a.API = humago.New(mux, cfg)
	a.UseMiddleware(a.refuseRepeatedQuery, a.authenticate)
	a.registerAuth()
	nullableObjects(a.OpenAPI(), "/api/v1/me", http.MethodGet, "token", "session")
	a.registerTokens()
	a.registerUsers()
	a.registerOrg()
	a.registerPolicyPreview()
	a.registerSessions()
	a.registerLeaks()
	a.registerAuditExport()
	a.registerJobs()
	a.registerFederation()
	a.documentOtherEndpoints()
	mountDocs(mux)
	a.documentSSOEndpoints()
	mux.HandleFunc("/api/", a.notFound)
	return a
}

// security marks an operation as needing a credential in the OpenAPI document.
var security = []map[string][]string{{"bearer": {}}}

type ctxKey int

const keyAuthErr ctxKey = iota

// authenticate verifies the Authorization header, when present, and leaves
// the principal (auth.WithPrincipal) or the failure in the context for
// handlers to use. The client is the edge's (auth.ClientOf).
func (a *API) authenticate(ctx huma.Context, next func(huma.Context)) {
	r, w := humago.Unwrap(ctx)
	// The API speaks only JSON; read bodies sent without a JSON content type
	// (curl -d sends form encoding by default) as the JSON they are.
	if ct := r.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "text/plain") {
		r.Header["Content-Type"] = jsonContentType
	}
	c := auth.ClientFrom(r.Context())
	if c == nil {
		c = auth.ClientOf(r)
		ctx = huma.WithContext(ctx, auth.WithClient(ctx.Context(), c))
	}
	secret, basicUser, ok := auth.Credential(r.Header)
	if !ok {
		if r.Header.Get("Authorization") != "" {
			ctx = huma.WithValue(ctx, keyAuthErr, error(&auth.Failure{Reason: auth.CredentialNotUnderstood}))
		}
		next(ctx)
		return
	}
	p, err := a.d.Verifier.Verify(ctx.Context(), secret, c.Request())
	if err == nil && a.d.BasicUsernameMustMatch && auth.IsBasic(r.Header) && basicUser != p.User.Username {
		err = &auth.Failure{Reason: auth.BasicUserMismatch}
	}
	if err != nil {
		ctx = huma.WithValue(ctx, keyAuthErr, err)
		next(ctx)
		return
	}
	p.Identity().SetExpiration(w.Header()) // formatted once per cached token
	next(huma.WithContext(ctx, auth.WithPrincipal(ctx.Context(), p)))
}

// jsonContentType is the Content-Type authenticate gives a request whose
// body is to be read as JSON; shared read-only.
var jsonContentType = []string{"application/json"}

// actor returns the authenticated caller, or the 401 (429) to answer with.
func (a *API) actor(ctx context.Context) (service.Actor, *auth.Principal, error) {
	if p, ok := auth.FromContext(ctx); ok {
		return actorOf(p, clientOf(ctx)), p, nil
	}
	if err, ok := ctx.Value(keyAuthErr).(error); ok {
		return service.Actor{}, nil, a.problem(ctx, err)
	}
	return service.Actor{}, nil, a.problem(ctx, auth.ErrNoCredential)
}

// actorOf is the principal as the services see it, with the request's origin.
func actorOf(p *auth.Principal, c *auth.Client) service.Actor {
	return service.Actor{User: p.User, Scopes: p.Scopes, CredentialID: p.CredentialID(), Session: p.Session != nil,
		Federated: p.Federated(), IP: c.IP, Agent: c.Agent}
}

// clientOf is the request's client as the edge computed it.
func clientOf(ctx context.Context) *auth.Client {
	if c := auth.ClientFrom(ctx); c != nil {
		return c
	}
	return &auth.Client{}
}

// notFound answers API paths no operation serves: 405 with Allow when the
// path exists for other methods, else 404.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	if allow := a.allowed(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, http.StatusMethodNotAllowed, r.Method+" is not supported on "+r.URL.Path+"; use "+strings.Join(allow, " or "))
		return
	}
	writeProblem(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path+"; see /api/v1/openapi.json for the routes")
}

// allowed lists the methods some operation serves r's path with.
func (a *API) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != "/api/" {
			out = append(out, m)
		}
	}
	return out
}
