package sts

import (
	"context"
	"errors"
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
)

// ScopeIntrospect is the scope a caller of the introspection endpoint needs.
const ScopeIntrospect = "introspect"

// Realm is the realm named in WWW-Authenticate challenges.
const Realm = "latchkey"

// Introspection is an RFC 7662 answer.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	TokenID   string   `json:"token_id,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	Role      string   `json:"role,omitempty"`
	// IPAllowlist is set when the token may only be used from these
	// addresses (CIDRs): the resource server must check its client's
	// address against it, since Latchkey cannot see that address.
	IPAllowlist []string `json:"ip_allowlist,omitempty"`
}

// EdgeVerifier verifies the caller (counting its failures) and the token
// inspected (on behalf of the resource server). *auth.Edge satisfies it.
type EdgeVerifier interface {
	Verify(ctx context.Context, raw string, req auth.Request) (*auth.Principal, error)
	Inspect(ctx context.Context, raw string) (*auth.Principal, error)
}

// JWTIntrospector answers for credentials shaped like JWTs; ok=false means
// "not mine". Service.IntrospectJWT is one.
type JWTIntrospector func(ctx context.Context, raw string) (ans *Introspection, ok bool)

// Introspector serves POST /oauth2/introspect (RFC 7662). It works without
// token exchange (JWT nil): Latchkey's own tokens are always answered.
type Introspector struct {
	Verifier EdgeVerifier
	// Issuer returns the public base URL, the iss of every answer.
	Issuer func() string
	JWT    JWTIntrospector

	bufs answerBufs // for reading form bodies and encoding answers
}

// ServeHTTP answers an introspection request. The caller authenticates with
// a credential holding the introspect scope, sent as client_secret_basic
// (any client_id, the token as client_secret), as a Bearer token, or as
// client_secret_post; the token to inspect comes in the form body, never
// the URL. Errors are RFC 6749 §5.2 JSON.
func (in *Introspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !acceptPost(w, r, "use POST with a form-encoded body") {
		return
	}
	f, err := in.readForm(w, r, maxFormBytes)
	if err != nil {
		writeOAuthError(w, r, invalidRequest("the form body could not be read ("+err.Error()+"); send token=<token> form-encoded, at most 64 KiB"))
		return
	}
	if f.repeated != "" {
		writeOAuthError(w, r, invalidRequest("parameter "+f.repeated+" is repeated; send it once"))
		return
	}
	caller, err := in.caller(r, f.clientSecret)
	if err != nil {
		// Declared here, not above: errors.As makes them escape, and a
		// caller who passes should not pay for them.
		var rl *auth.RateLimited
		var oerr *oauthError
		switch {
		case errors.As(err, &rl):
			w.Header().Set("Retry-After", rl.Seconds())
			writeOAuthError(w, r, tooManyFailures(rl))
			return
		case errors.As(err, &oerr):
			writeOAuthError(w, r, oerr)
			return
		}
	}
	caller.Identity().SetExpiration(w.Header())
	if !caller.Scopes.Has(ScopeIntrospect) {
		writeOAuthError(w, r, &oauthError{http.StatusForbidden, "insufficient_scope",
			"the caller's credential lacks the introspect scope; call with a token that holds introspect"})
		return
	}
	if !f.form {
		writeOAuthError(w, r, invalidRequest("send the body as application/x-www-form-urlencoded with a token parameter"))
		return
	}
	if f.token == "" {
		writeOAuthError(w, r, invalidRequest("the token parameter is required: send token=<token> in the form body"))
		return
	}
	in.writeIntrospection(w, in.answer(r.Context(), f.token))
}

// caller authenticates the resource server. postedSecret is the form's
// client_secret, used only when no Authorization header is sent.
func (in *Introspector) caller(r *http.Request, postedSecret string) (*auth.Principal, error) {
	secret, _, ok := auth.ClientCredential(r.Header)
	if !ok && r.Header.Get("Authorization") == "" {
		secret, ok = postedSecret, postedSecret != ""
	}
	if !ok {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client",
			"authenticate with a token that holds the introspect scope: HTTP Basic with the token as client secret (client_secret_basic), or Authorization: Bearer <token>"}
	}
	p, err := in.Verifier.Verify(r.Context(), secret, auth.ClientOf(r).Request())
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		return nil, err
	case errors.Is(err, auth.ErrUnauthenticated):
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client", "the caller's credential was refused: " + err.Error()}
	case err != nil:
		if o := serverErrorFor(err); o.status == http.StatusServiceUnavailable {
			return nil, o // says whether the database is unreachable or the disk full
		}
		return nil, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "token verification is unavailable; try again shortly"}
	}
	return p, nil
}

func (in *Introspector) answer(ctx context.Context, raw string) *Introspection {
	if in.JWT != nil {
		if ans, ok := in.JWT(ctx, raw); ok {
			return ans
		}
	}
	p, err := in.Verifier.Inspect(ctx, raw)
	if err != nil {
		return &Introspection{Active: false}
	}
	ans := &Introspection{
		Active: true, Scope: p.Identity().Scopes(), Username: p.User.Username,
		Sub: p.User.ID, TokenType: "Bearer", Iss: in.Issuer(), Kind: string(p.Kind), Role: string(p.User.Role),
		TokenID: p.CredentialID(), ClientID: p.CredentialID(),
	}
	if p.ExpiresAt != nil {
		ans.Exp = p.ExpiresAt.Unix()
	}
	if p.Token != nil {
		ans.Iat = p.Token.CreatedAt.Unix()
		if p.Token.RegeneratedAt != nil {
			ans.Iat = p.Token.RegeneratedAt.Unix()
		}
		if len(p.Token.IPAllowlist) > 0 {
			ans.IPAllowlist = append([]string(nil), p.Token.IPAllowlist...)
		}
	} else if p.Session != nil {
		ans.Iat = p.Session.CreatedAt.Unix()
	}
	return ans
}
