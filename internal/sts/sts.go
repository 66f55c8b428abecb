package sts

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Routes served by the token-exchange service.
const (
	TokenPath    = "/oauth2/token"
	JWKSPath     = "/.well-known/jwks.json"
	MetadataPath = "/.well-known/oauth-authorization-server"
	// IntrospectPath is served by Introspector.
	IntrospectPath = "/oauth2/introspect"
)

// Auditor records audit events.
type Auditor interface {
	Record(ctx context.Context, a service.Actor, action, targetType, targetID string, details map[string]any)
}

// TxAuditor is an Auditor that stores a change and its audit event
// together or not at all (service.Audit): InTx runs the change in one
// store transaction, Add appends the event in it.
type TxAuditor interface {
	Auditor
	InTx(ctx context.Context, change func(ctx context.Context) error) error
	Add(ctx context.Context, a service.Actor, action, targetType, targetID string, details map[string]any) error
}

// audited runs change with its event (a's action) stored together or not
// at all when au can (TxAuditor), else records the event after it,
// best-effort. An error means neither was stored.
func audited(ctx context.Context, au Auditor, change func(ctx context.Context) error, a service.Actor, action, targetType, targetID string, details map[string]any) error {
	if tx, ok := au.(TxAuditor); ok {
		return tx.InTx(ctx, func(ctx context.Context) error {
			if err := change(ctx); err != nil {
				return err
			}
			return tx.Add(ctx, a, action, targetType, targetID, details)
		})
	}
	if err := change(ctx); err != nil {
		return err
	}
	au.Record(ctx, a, action, targetType, targetID, details)
	return nil
}

// Parents looks up the token a JWT was exchanged from, and its owner.
type Parents interface {
	GetToken(ctx context.Context, id string) (*store.Token, error)
	GetUser(ctx context.Context, id string) (*store.User, error)
}

// Deps are what the service needs from the rest of the server.
type Deps struct {
	Keys     *Keyring
	Verifier auth.Verifier
	Catalog  *scope.Catalog
	Audit    Auditor
	Parents  Parents
	Policy   auth.PolicySource
	// Issuer returns the public base URL, the iss of every JWT. It is a
	// function because the URL may only be known once the server listens.
	Issuer func() string
	// Verifier (above) is the edge's: it refuses blocked addresses and
	// counts failed subject and client credentials. Limiter is the same
	// limiter, read for the Retry-After of a refusal.
	Limiter *auth.FailureLimiter
	Logger  *slog.Logger
	// Federation, when set, exchanges OIDC tokens of trusted workloads
	// (federated.go); nil turns that grant off.
	Federation *Federation
	// Device serves the device_code grant at the token endpoint; nil = off.
	Device *Device
	// Outage, when set, is told about every storage failure answered 503,
	// as the API's and the console's are (readiness reports a full disk or
	// a database that accepts no writes from it).
	Outage func(error)
}

// Options tune the service.
type Options struct {
	Lifetime time.Duration // of issued JWTs; default 15m
	Now      func() time.Time
}

// Service is the security token service: exchange, JWKS, metadata and
// introspection of the JWTs it issued.
type Service struct {
	d    Deps
	opts Options
	memo effectiveMemo
}

// New returns the service. d.Keys must have been Ensured.
func New(d Deps, opts Options) *Service {
	if opts.Lifetime <= 0 {
		opts.Lifetime = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d: d, opts: opts}
}

// Mount adds the token endpoint, the JWKS and the RFC 8414 metadata to mux.
func (s *Service) Mount(mux *http.ServeMux) {
	mux.HandleFunc(TokenPath, s.d.Device.Intercept(s.serveToken))
	mux.HandleFunc("GET "+JWKSPath, s.serveJWKS)
	mux.HandleFunc("GET "+MetadataPath, s.serveMetadata)
}

// serveToken is POST /oauth2/token.
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, r, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "use POST with a form-encoded body"})
		return
	}
	if s.federated(w, r) {
		return
	}
	req, oerr := parseExchange(w, r)
	if oerr != nil {
		writeOAuthError(w, r, oerr)
		return
	}
	resp, oerr := s.exchange(r, req)
	if oerr != nil {
		if oerr.status == http.StatusTooManyRequests {
			if rl, ok := s.d.Limiter.Err(auth.ClientOf(r).IP).(*auth.RateLimited); ok {
				w.Header().Set("Retry-After", rl.Seconds())
			}
		}
		writeOAuthError(w, r, oerr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// tokenResponse is the RFC 8693 §2.2.1 answer.
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope"`
}

// exchange verifies the subject, narrows the scopes, and signs the JWT.
func (s *Service) exchange(r *http.Request, req *exchangeRequest) (*tokenResponse, *oauthError) {
	p, oerr := s.subject(r, req.subject)
	if oerr != nil {
		return nil, oerr
	}
	if oerr := s.client(r, p); oerr != nil {
		return nil, oerr
	}
	granted, oerr := s.grantedScopes(p, req.scope)
	if oerr != nil {
		return nil, oerr
	}
	now := s.opts.Now()
	exp := now.Add(s.opts.Lifetime)
	if p.ExpiresAt != nil && p.ExpiresAt.Before(exp) {
		exp = *p.ExpiresAt // never outlive the exchanged token
	}
	issuer := s.d.Issuer()
	aud := req.audiences
	if len(aud) == 0 {
		aud = []string{issuer} // the default audience: see doc.go
	}
	jti, err := newJTI()
	if err != nil {
		return nil, serverError()
	}
	c := &Claims{
		Issuer: issuer, Subject: p.User.ID, Audience: aud, ID: jti,
		Expiry: numeric(exp), NotBefore: numeric(now), IssuedAt: numeric(now),
		Scope: strings.Join(granted.Strings(), " "), ClientID: p.Token.ID, TokenID: p.Token.ID,
		Username: p.User.Username, Kind: string(p.Token.Kind),
	}
	d := token.Hash(req.subject)
	c.SecretFP = secretFingerprint(d[:])
	raw, err := s.d.Keys.sign(r.Context(), c)
	if err != nil {
		s.d.Logger.ErrorContext(r.Context(), "sign exchanged JWT", "err", err)
		return nil, serverError()
	}
	// The JWT is handed out only once its event is on record: it is the
	// only record of a credential that services accept offline.
	if err := audited(r.Context(), s.d.Audit, func(context.Context) error { return nil }, actorOf(p, auth.ClientOf(r)), "token.exchange", "token", p.Token.ID, map[string]any{
		"jti": jti, "audience": aud, "scopes": granted.Strings(), "expires_at": exp.UTC().Truncate(time.Second).Format(time.RFC3339),
	}); err != nil {
		s.d.Logger.ErrorContext(r.Context(), "audit token exchange", "err", err)
		return nil, s.storageError(err)
	}
	return &tokenResponse{
		AccessToken: raw, IssuedTokenType: req.issued, TokenType: "Bearer",
		ExpiresIn: c.Expiry.Time().Unix() - now.Unix(), Scope: c.Scope,
	}, nil
}

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

// codeRateLimited is the error of a 429 answer: the client's address used
// up a budget (failed authentications, device codes) and may try again
// after Retry-After. RFC 6749 §5.2 has no code for it; this registered
// one says "try again later" to every client. It is not slow_down, which
// RFC 8628 §3.5 defines for a device-flow client polling faster than its
// interval: device-flow clients (golang.org/x/oauth2, openid-client) take
// slow_down as "poll again in 5 more seconds", and other clients as a
// device-flow answer they did not ask for.
const codeRateLimited = "temporarily_unavailable"

// tooManyFailures is the answer to a client whose address used up its
// failed authentications (auth.RateLimited); the caller sets Retry-After.
func tooManyFailures(err error) *oauthError {
	return &oauthError{http.StatusTooManyRequests, codeRateLimited, err.Error()}
}

func serverError() *oauthError {
	return &oauthError{http.StatusInternalServerError, "server_error", "the token could not be issued; the server log has the details"}
}

// serverErrorFor is serverError, or 503 temporarily_unavailable when the
// storage is down or full, saying which.
func serverErrorFor(err error) *oauthError {
	if msg, _, ok := store.Outage(err); ok {
		return &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", msg}
	}
	return serverError()
}

// storageError is serverErrorFor(err), telling Outage about a storage
// failure answered 503.
func (s *Service) storageError(err error) *oauthError {
	o := serverErrorFor(err)
	if o.status == http.StatusServiceUnavailable && s.d.Outage != nil {
		s.d.Outage(err)
	}
	return o
}

// formError is the answer to a form body ParseForm refused: too large,
// or not form encoding (net/url's errors quote the offending bytes).
func formError(err error) *oauthError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return invalidRequest("the form body is larger than 64 KiB")
	}
	return invalidRequest("the form body is not valid application/x-www-form-urlencoded (a % must start an escape such as %2F): " + err.Error())
}

// acceptPost answers, and returns false for, a request the endpoints that
// take a token in a form body refuse before reading it: a method other than
// POST (405 with Allow and usage), or a token or client secret in the URL,
// where logs and proxies keep it.
func acceptPost(w http.ResponseWriter, r *http.Request, usage string) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, r, &oauthError{http.StatusMethodNotAllowed, "invalid_request", usage})
		return false
	}
	if r.URL.RawQuery != "" {
		if q := r.URL.Query(); q.Has("token") || q.Has("client_secret") {
			writeOAuthError(w, r, invalidRequest("send the token in the form body, never in the URL, where logs and proxies keep it"))
			return false
		}
	}
	return true
}

func writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if e.code == "invalid_client" {
		w.Header().Set("WWW-Authenticate", clientChallenge(r, e.description))
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// clientChallenge is the WWW-Authenticate of an invalid_client answer.
// RFC 6749 §5.2: its scheme is the one the client authenticated with: a
// Bearer token gets an RFC 6750 Bearer challenge, HTTP Basic client
// credentials (client_secret_basic) a Basic one, and a client that sent no
// Authorization header (client_secret_post, or nothing) the Basic scheme it
// may use. One challenge only: a client that reads the first one (or all of
// them, as openid-client does) must not see a scheme it did not use. It
// repeats the error, so a client that stops at the challenge can show why.
func clientChallenge(r *http.Request, description string) string {
	desc := strings.ReplaceAll(strings.ReplaceAll(description, `\`, `\\`), `"`, `\"`)
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return `Bearer realm="` + Realm + `", error="invalid_token", error_description="` + desc + `"`
	}
	return `Basic realm="` + Realm + `", error="invalid_client", error_description="` + desc + `"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// actorOf is the principal as the services see it, with the request's origin.
func actorOf(p *auth.Principal, c *auth.Client) service.Actor {
	return service.Actor{User: p.User, Scopes: p.Scopes, CredentialID: p.CredentialID(), Session: p.Session != nil,
		Federated: p.Federated(), IP: c.IP, Agent: c.Agent}
}
