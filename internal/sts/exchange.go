package sts

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/token"
)

// RFC 8693 identifiers.
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TypeAccessToken    = "urn:ietf:params:oauth:token-type:access_token"
	TypeJWT            = "urn:ietf:params:oauth:token-type:jwt"
)

// Limits on what a request may ask for.
const (
	maxAudiences   = 10
	maxAudienceLen = 512
	maxFormBytes   = 64 << 10
)

// exchangeRequest is a parsed, syntactically valid token-exchange request.
type exchangeRequest struct {
	subject   string
	scope     []string // nil (absent or empty): the subject's effective scopes
	audiences []string // audience and resource values, in order
	issued    string   // the issued_token_type to answer with
}

// parseExchange reads and checks the form of a token request (RFC 6749 §3.2
// and RFC 8693 §2.1). It never looks at the credential itself.
func parseExchange(w http.ResponseWriter, r *http.Request) (*exchangeRequest, *oauthError) {
	if !isFormBody(r.Header.Get("Content-Type")) {
		return nil, invalidRequest("send the body as application/x-www-form-urlencoded: grant_type=" + GrantTokenExchange +
			"&subject_token=<token>&subject_token_type=" + TypeAccessToken)
	}
	if r.URL.Query().Has("subject_token") {
		return nil, invalidRequest("subject_token must be sent in the request body, never in the URL; revoke the token, since URLs end up in logs")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, formError(err)
	}
	f := r.PostForm
	for _, name := range []string{"grant_type", "subject_token", "subject_token_type", "scope", "requested_token_type"} {
		if len(f[name]) > 1 {
			return nil, invalidRequest("parameter " + name + " is repeated; send it once")
		}
	}
	switch g := f.Get("grant_type"); g {
	case GrantTokenExchange:
	case "":
		return nil, invalidRequest("grant_type is required; use " + GrantTokenExchange)
	default:
		return nil, &oauthError{http.StatusBadRequest, "unsupported_grant_type",
			"grant_type " + g + " is not supported; use " + GrantTokenExchange + " (token exchange), or " + GrantDeviceCode + " (the device flow)"}
	}
	if f.Has("actor_token") || f.Has("actor_token_type") {
		return nil, invalidRequest("delegation with actor_token is not supported; send only subject_token")
	}
	req := &exchangeRequest{subject: f.Get("subject_token")}
	if req.subject == "" {
		return nil, invalidRequest("subject_token is required: the personal or admin access token to exchange")
	}
	if t := f.Get("subject_token_type"); t != TypeAccessToken {
		return nil, invalidRequest("subject_token_type must be " + TypeAccessToken + " (a Latchkey personal or admin access token)" + got(t))
	}
	switch t := f.Get("requested_token_type"); t {
	case "", TypeJWT:
		req.issued = TypeJWT
	case TypeAccessToken:
		req.issued = TypeAccessToken
	default:
		return nil, invalidRequest("requested_token_type must be " + TypeJWT + " or " + TypeAccessToken + "; this server issues signed JWTs" + got(t))
	}
	if sc := strings.Fields(f.Get("scope")); len(sc) > 0 {
		req.scope = sc
	}
	var err *oauthError
	req.audiences, err = parseAudiences(f)
	return req, err
}

func got(v string) string {
	if v == "" {
		return " (it is missing)"
	}
	return " (got " + v + ")"
}

// parseAudiences collects audience values (logical names) and resource
// values (absolute URIs, RFC 8707), which both become the aud claim.
func parseAudiences(f url.Values) ([]string, *oauthError) {
	var out []string
	for _, a := range f["audience"] {
		if a == "" || len(a) > maxAudienceLen || strings.ContainsAny(a, " \t\r\n") {
			return nil, invalidRequest("audience must be a non-empty name without spaces, at most 512 characters, such as billing-api")
		}
		out = append(out, a)
	}
	for _, res := range f["resource"] {
		u, err := url.Parse(res)
		if err != nil || !u.IsAbs() || u.Fragment != "" || len(res) > maxAudienceLen {
			return nil, &oauthError{http.StatusBadRequest, "invalid_target",
				"resource must be an absolute URI without a fragment, such as https://api.example.com/"}
		}
		out = append(out, res)
	}
	if len(out) > maxAudiences {
		// Each value may be fine; the request is what is malformed.
		return nil, invalidRequest("at most 10 audience and resource values may be given")
	}
	return dedupe(out), nil
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// subject verifies the subject token and refuses what may not be exchanged.
func (s *Service) subject(r *http.Request, raw string) (*auth.Principal, *oauthError) {
	p, err := s.d.Verifier.Verify(r.Context(), raw, auth.ClientOf(r).Request())
	if errors.Is(err, auth.ErrRateLimited) {
		return nil, tooManyFailures(err)
	}
	if errors.Is(err, auth.ErrUnauthenticated) {
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "subject_token was refused: " + err.Error()}
	}
	if err != nil {
		s.d.Logger.ErrorContext(r.Context(), "verify subject token", "err", err)
		return nil, serverErrorFor(err)
	}
	if p.Kind == token.Session || p.Token == nil {
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant",
			"session tokens cannot be exchanged; create a personal access token (latchkey tokens create) and exchange that"}
	}
	return p, nil
}

// client checks the optional client authentication. RFC 8693 lets a client
// omit it, and the subject token is then the only credential; when one is
// sent, in the Authorization header (Bearer or client_secret_basic) or as
// client_secret in the body (client_secret_post), it must be valid and
// belong to the same user as the subject token, so a credential is never
// silently ignored.
func (s *Service) client(r *http.Request, subject *auth.Principal) *oauthError {
	header, posted := r.Header.Get("Authorization") != "", r.PostForm["client_secret"]
	if len(posted) == 1 && posted[0] == "" {
		posted = nil // public clients of some libraries send client_secret=
	}
	switch {
	case header && len(posted) > 0:
		return invalidRequest("send the client credential once: in the Authorization header or as client_secret, not both (RFC 6749 §2.3)")
	case len(posted) > 1:
		return invalidRequest("parameter client_secret is repeated; send it once")
	case !header && len(posted) == 0:
		return nil
	}
	var secret string
	if header {
		var ok bool
		if secret, _, ok = auth.ClientCredential(r.Header); !ok {
			return &oauthError{http.StatusUnauthorized, "invalid_client",
				"the Authorization header is malformed; send Authorization: Bearer <token> or HTTP Basic with the token as client secret, or omit it (the subject token suffices)"}
		}
	} else {
		secret = posted[0]
	}
	c, err := s.d.Verifier.Verify(r.Context(), secret, auth.ClientOf(r).Request())
	if err != nil {
		if errors.Is(err, auth.ErrRateLimited) {
			return tooManyFailures(err)
		}
		if errors.Is(err, auth.ErrUnauthenticated) {
			return &oauthError{http.StatusUnauthorized, "invalid_client", "the client credential was refused: " + err.Error()}
		}
		s.d.Logger.ErrorContext(r.Context(), "verify client credential", "err", err)
		return serverErrorFor(err)
	}
	if c.User.ID != subject.User.ID {
		return &oauthError{http.StatusUnauthorized, "invalid_client",
			"the client credential belongs to another user than subject_token; omit it or use one of the same user"}
	}
	return nil
}

// grantedScopes returns what the JWT will carry: the requested scopes if the
// subject holds all of them, else an invalid_scope error naming the excess.
func (s *Service) grantedScopes(p *auth.Principal, requested []string) (scope.Set, *oauthError) {
	if requested == nil {
		return p.Scopes, nil
	}
	want, err := s.d.Catalog.ParseSet(requested)
	if err != nil {
		return scope.Set{}, &oauthError{http.StatusBadRequest, "invalid_scope", err.Error()}
	}
	if !p.Scopes.Covers(want) {
		held := strings.Join(p.Scopes.Strings(), " ")
		if held == "" {
			held = "(none)"
		}
		return scope.Set{}, &oauthError{http.StatusBadRequest, "invalid_scope",
			"an exchanged token can only narrow the subject token's scopes, and it does not hold: " +
				strings.Join(p.Scopes.Missing(want), " ") + "; request a subset of: " + held}
	}
	return want, nil
}
