package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// ScopeIntrospect is the scope a caller of the introspection endpoint needs.
const ScopeIntrospect = "introspect"

// Introspection is an RFC 7662 answer for an active token.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Iss       string `json:"iss,omitempty"`
	Jti       string `json:"jti,omitempty"`
	TokenID   string `json:"token_id,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Role      string `json:"role,omitempty"`
}

// IntrospectExtension answers for credentials that are not Latchkey
// secrets (the token-exchange service's JWTs). ok=false means "not mine".
type IntrospectExtension func(r *http.Request, raw string) (ans *Introspection, ok bool)

// Introspector serves POST /oauth2/introspect (RFC 7662).
type Introspector struct {
	Verifier  auth.Verifier
	Issuer    string
	Extension IntrospectExtension
}

// ServeHTTP answers an introspection request. The caller authenticates with
// a credential holding the introspect scope; the token to inspect comes in
// the form body, never the URL.
func (in *Introspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST with a form-encoded body")
		return
	}
	ip, agent := remoteIP(r), r.UserAgent()
	secret, _, ok := auth.Credential(r.Header)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "authenticate with a token that holds the introspect scope: Authorization: Bearer <token>")
		return
	}
	caller, err := in.Verifier.Verify(r.Context(), secret, auth.Request{IP: ip, Agent: agent})
	if err != nil {
		if OAuthOutage(w, err) {
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`", error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "the caller's credential was refused: "+err.Error())
		return
	}
	if caller.ExpiresAt != nil {
		w.Header().Set("Latchkey-Token-Expiration", caller.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if !caller.Scopes.Has(ScopeIntrospect) {
		oauthError(w, http.StatusForbidden, "insufficient_scope", "the caller's credential lacks the introspect scope; call with a token that holds introspect")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "send the body as application/x-www-form-urlencoded with a token parameter")
		return
	}
	if r.URL.Query().Has("token") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "send the token in the form body, never in the URL, where logs and proxies keep it")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the form body could not be read ("+err.Error()+"); send token=<token> form-encoded, at most 64 KiB")
		return
	}
	raw := r.PostForm.Get("token")
	if raw == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the token parameter is required: send token=<token> in the form body")
		return
	}
	ans, err := in.answer(r, raw, ip, agent)
	if err != nil && OAuthOutage(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// answer introspects raw. err is set only when the answer could not be
// known (the storage is down): an unknown token is not "inactive".
func (in *Introspector) answer(r *http.Request, raw, ip, agent string) (*Introspection, error) {
	if in.Extension != nil {
		if ans, ok := in.Extension(r, raw); ok {
			return ans, nil
		}
	}
	p, err := in.Verifier.Verify(r.Context(), raw, auth.Request{IP: ip, Agent: agent})
	if err != nil {
		if _, _, outage := store.Outage(err); outage {
			return nil, err
		}
		return &Introspection{Active: false}, nil
	}
	ans := &Introspection{
		Active: true, Scope: strings.Join(p.Scopes.Strings(), " "), Username: p.User.Username,
		Sub: p.User.ID, TokenType: "Bearer", Iss: in.Issuer, Kind: string(p.Kind), Role: string(p.User.Role),
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
	} else if p.Session != nil {
		ans.Iat = p.Session.CreatedAt.Unix()
	}
	return ans, nil
}

// OAuthOutage answers a storage failure on an OAuth endpoint: 503 with
// Retry-After and the RFC 6749 §5.2 members (error
// "temporarily_unavailable"), and reports true; any other error it leaves
// to the caller.
func OAuthOutage(w http.ResponseWriter, err error) bool {
	msg, retry, ok := store.Outage(err)
	if !ok {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", msg)
	return true
}

// oauthError answers with an RFC 9457 problem that also carries the OAuth
// error members (RFC 6749 §5.2) that introspection clients look for.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"title": http.StatusText(status), "status": status, "detail": desc,
		"error": code, "error_description": desc,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
