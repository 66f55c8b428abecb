package sts

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
)

// RevokePath is served by Revocation.
const RevokePath = "/oauth2/revoke"

// HeldRevoker ends the credential whose secret the caller holds, and says
// whether the secret could have been one. *service.Tokens is one.
type HeldRevoker interface {
	RevokeHeld(ctx context.Context, origin service.Actor, raw, via string) (service.Held, error)
}

// Revocation serves POST /oauth2/revoke (RFC 7009).
//
// Possession is the proof: the token parameter itself authorizes revoking
// that token, so its holder, or whoever found it leaked, can end it with
// any OAuth client. A PAT, admin access or fed token is revoked as DELETE
// /api/v1/tokens/{id} revokes it, and a session token ends as at logout
// (service.Tokens.RevokeHeld: the same audit event, and the same cache
// invalidation on this node and every replica).
//
// A client may authenticate, as at the token endpoint: HTTP Basic with a
// token as client secret, a Bearer token, or client_secret in the form.
// The credential is then verified (a wrong one is 401 invalid_client and
// counts as a failure), but it grants nothing more: any caller may revoke
// what it holds. Latchkey has no client registry, so there is no "token
// issued to another client" to refuse (RFC 7009 §2.1).
//
// Every token that cannot be revoked now, whether unknown, malformed,
// expired or already revoked, is answered as a revoked one: 200 with an
// empty body (§2.2), so the answer never says whether a guessed token
// existed. Only the work differs: a token that existed is revoked and
// audited, which takes longer, and which tells its guesser only that it
// held a token that no longer works. JWTs from token exchange cannot be
// revoked one by one (there is no deny-list of jti; they live minutes and
// die with the token they came from): any credential shaped like a JWT is
// answered 400 unsupported_token_type (§2.2.1), which a client can act on.
//
// Failures: a string that is no token of this server (malformed, checksum
// wrong) or a well-formed one matching no token or session counts, with no
// sign in the answer, against the client address's failed authentications
// (the budget every surface shares), so revocation is no unlimited way to
// make the server look secrets up. A secret that exists, in any state,
// never counts: clients revoke at logout, retry, and revoke expired tokens,
// and an office behind one address must not lock itself out doing so. An
// address that used up its budget is refused 429 like at the other
// endpoints, except for a token whose verification is cached (it works
// from that address, so it can be revoked from it too, as auth.Edge.Verify
// lets it through).
type Revocation struct {
	Tokens HeldRevoker
	// Verifier verifies an optional client credential; it is the edge's,
	// which refuses blocked addresses and counts failures.
	Verifier auth.Verifier
	// Limiter is the edge's failure limiter (nil: no limit).
	Limiter *auth.FailureLimiter
	// Cached reports whether a credential's verification is cached
	// (auth.Edge.Cached); nil means never.
	Cached func(raw string) bool
	Logger *slog.Logger // nil: slog.Default()
	// Outage, when set, is told about every storage failure answered 503,
	// as the token endpoint's are (readiness reports a full disk or a
	// database that accepts no writes from it).
	Outage func(error)
}

// revokedParams are the parameters read, each allowed once (RFC 6749
// §3.2): a repeated token would leave open which one was revoked.
var revokedParams = [...]string{"token", "token_type_hint", "client_secret"}

// ServeHTTP answers a revocation request.
func (rv *Revocation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !acceptPost(w, r, "use POST with a form-encoded body: token=<token>") {
		return
	}
	if !isFormBody(r.Header.Get("Content-Type")) {
		writeOAuthError(w, r, invalidRequest("send the body as application/x-www-form-urlencoded: token=<token>"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, r, formError(err))
		return
	}
	for _, name := range revokedParams {
		if len(r.PostForm[name]) > 1 {
			writeOAuthError(w, r, invalidRequest("parameter "+name+" is repeated; send it once"))
			return
		}
	}
	if oerr := rv.client(w, r); oerr != nil {
		writeOAuthError(w, r, oerr)
		return
	}
	// token_type_hint is only a hint (RFC 7009 §2.1): the token says what
	// it is, so every hint, known or not, is ignored.
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeOAuthError(w, r, invalidRequest("the token parameter is required: send token=<token> in the form body"))
		return
	}
	if LooksLikeJWT(raw) {
		writeOAuthError(w, r, &oauthError{http.StatusBadRequest, "unsupported_token_type",
			"a JWT from token exchange cannot be revoked by itself: it expires within minutes, and at once when the token it was exchanged from is revoked (revoke that token here or with DELETE /api/v1/tokens/{id})"})
		return
	}
	if oerr := rv.revoke(w, r, raw); oerr != nil {
		writeOAuthError(w, r, oerr)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
}

// revoke ends raw's credential, within the address's failure budget.
func (rv *Revocation) revoke(w http.ResponseWriter, r *http.Request, raw string) *oauthError {
	c := auth.ClientOf(r)
	// Counted from its start, so a burst of guesses sent at once gets no
	// more lookups than the budget (auth.FailureLimiter.Begin).
	settle, err := rv.Limiter.Begin(c.IP)
	if err != nil {
		if rv.Cached == nil || !rv.Cached(raw) {
			return rateLimited(w, err)
		}
		settle = func(bool) {}
	}
	held, err := rv.Tokens.RevokeHeld(r.Context(), service.Actor{IP: c.IP, Agent: c.Agent}, raw, RevokePath)
	settle(err == nil && held != service.HeldFound)
	if err != nil {
		rv.logger().ErrorContext(r.Context(), "revoke a held token", "err", err)
		if o := rv.storageError(err); o.status == http.StatusServiceUnavailable {
			return o
		}
		return &oauthError{http.StatusInternalServerError, "server_error", "the token could not be revoked; the server log has the details; try again"}
	}
	return nil
}

// client verifies the client credential, if the client sent one: in the
// Authorization header or as client_secret, not both.
func (rv *Revocation) client(w http.ResponseWriter, r *http.Request) *oauthError {
	header, posted := r.Header.Get("Authorization") != "", r.PostForm.Get("client_secret")
	switch {
	case header && posted != "":
		return invalidRequest("send the client credential once: in the Authorization header or as client_secret, not both (RFC 6749 §2.3)")
	case !header && posted == "":
		return nil // a public client: the token is the proof
	}
	secret := posted
	if header {
		var ok bool
		if secret, _, ok = auth.ClientCredential(r.Header); !ok {
			return &oauthError{http.StatusUnauthorized, "invalid_client",
				"the Authorization header is malformed; send Authorization: Bearer <token> or HTTP Basic with a token as client secret, or omit it (the token to revoke suffices)"}
		}
	}
	_, err := rv.Verifier.Verify(r.Context(), secret, auth.ClientOf(r).Request())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrRateLimited):
		return rateLimited(w, err)
	case errors.Is(err, auth.ErrUnauthenticated):
		return &oauthError{http.StatusUnauthorized, "invalid_client",
			"the client credential was refused: " + err.Error() + "; omit it (the token to revoke suffices) or send a working token"}
	}
	rv.logger().ErrorContext(r.Context(), "verify client credential", "err", err)
	return rv.storageError(err)
}

// storageError is serverErrorFor(err), telling Outage about a storage
// failure answered 503.
func (rv *Revocation) storageError(err error) *oauthError {
	o := serverErrorFor(err)
	if o.status == http.StatusServiceUnavailable && rv.Outage != nil {
		rv.Outage(err)
	}
	return o
}

func (rv *Revocation) logger() *slog.Logger {
	if rv.Logger == nil {
		return slog.Default()
	}
	return rv.Logger
}

// rateLimited is the 429 answer to err, an *auth.RateLimited, with its
// Retry-After set on w.
func rateLimited(w http.ResponseWriter, err error) *oauthError {
	var rl *auth.RateLimited
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", rl.Seconds())
	}
	return tooManyFailures(err)
}
