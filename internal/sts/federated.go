package sts

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/federation"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// Subject token types of workload identity federation (RFC 8693 §3).
const (
	TypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
)

// Federation is what the federated grant needs: the OIDC verifier and the
// service that holds trust policies and issues fed tokens.
type Federation struct {
	Verifier *federation.Verifier
	Service  *service.Federation
}

// federated handles a token-exchange request whose subject is an OIDC
// token (subject_token_type id_token or jwt) and reports whether it did;
// other requests are left to the PAT exchange. The form is parsed here
// with the same limits; parseExchange then finds it parsed.
func (s *Service) federated(w http.ResponseWriter, r *http.Request) bool {
	if s.d.Federation == nil || r.Method != http.MethodPost ||
		!isFormBody(r.Header.Get("Content-Type")) || r.URL.Query().Has("subject_token") {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return false
	}
	f := r.PostForm
	if f.Get("grant_type") != GrantTokenExchange {
		return false
	}
	if tt := f.Get("subject_token_type"); tt != TypeIDToken && tt != TypeJWT {
		return false
	}
	resp, oerr := s.exchangeFederated(r)
	if oerr != nil {
		switch oerr.status {
		case http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", "30")
		case http.StatusTooManyRequests:
			if rl, ok := s.d.Limiter.Err(auth.ClientOf(r).IP).(*auth.RateLimited); ok {
				w.Header().Set("Retry-After", rl.Seconds())
			}
		}
		writeOAuthError(w, r, oerr)
		return true
	}
	writeJSON(w, http.StatusOK, resp)
	return true
}

func (s *Service) exchangeFederated(r *http.Request) (*tokenResponse, *oauthError) {
	client := auth.ClientOf(r)
	if err := s.d.Limiter.Err(client.IP); err != nil {
		return nil, tooManyFailures(err)
	}
	f := r.PostForm
	for _, name := range []string{"grant_type", "subject_token", "subject_token_type", "scope", "requested_token_type", "policy"} {
		if len(f[name]) > 1 {
			return nil, invalidRequest("parameter " + name + " is repeated; send it once")
		}
	}
	if f.Has("actor_token") || f.Has("actor_token_type") {
		return nil, invalidRequest("delegation with actor_token is not supported; send only subject_token")
	}
	if f.Has("audience") || f.Has("resource") {
		return nil, &oauthError{http.StatusBadRequest, "invalid_target",
			"a federated exchange issues an opaque Latchkey token usable on every Latchkey surface; drop audience and resource"}
	}
	switch t := f.Get("requested_token_type"); t {
	case "", TypeAccessToken:
	default:
		return nil, invalidRequest("requested_token_type must be " + TypeAccessToken + " for a federated exchange" + got(t))
	}
	raw := f.Get("subject_token")
	if raw == "" {
		return nil, invalidRequest("subject_token is required: the OIDC token your CI system or workload was issued")
	}
	ctx := r.Context()
	var (
		policies []*store.FederationPolicy
		lookErr  error
	)
	trusted := func(iss string) bool {
		policies, lookErr = s.d.Federation.Service.PoliciesFor(ctx, iss)
		return lookErr == nil && len(policies) > 0
	}
	tok, err := s.d.Federation.Verifier.Verify(ctx, raw, trusted)
	if lookErr != nil {
		s.d.Logger.ErrorContext(ctx, "list federation policies", "err", lookErr)
		return nil, s.storageError(lookErr)
	}
	if err != nil {
		return nil, s.federationRefusal(r, err)
	}
	var scopes []string
	if sc := strings.Fields(f.Get("scope")); len(sc) > 0 {
		scopes = sc
	}
	issued, err := s.d.Federation.Service.Exchange(ctx, tok, policies, service.ExchangeInput{
		Policy: f.Get("policy"), Scopes: scopes, IP: client.IP, Agent: client.Agent,
	})
	if err != nil {
		return nil, s.federationRefusal(r, err)
	}
	now := s.opts.Now()
	return &tokenResponse{
		AccessToken: issued.Secret, IssuedTokenType: TypeAccessToken, TokenType: "Bearer",
		ExpiresIn: int64(issued.Token.ExpiresAt.Sub(now).Round(time.Second) / time.Second),
		Scope:     strings.Join(issued.Token.Scopes, " "),
	}, nil
}

// federationRefusal maps a refused exchange to its RFC 6749 §5.2 answer.
// Refused subject tokens count towards the client's failure limit.
func (s *Service) federationRefusal(r *http.Request, err error) *oauthError {
	var fe *federation.Error
	if !errors.As(err, &fe) {
		s.d.Logger.ErrorContext(r.Context(), "federated exchange", "err", err)
		return s.storageError(err) // 503 when the storage failed, saying how
	}
	switch fe.Code {
	case federation.CodeUnavailable:
		return &oauthError{http.StatusServiceUnavailable, fe.Code, fe.Msg}
	case federation.CodeInvalidGrant:
		s.d.Limiter.Fail(auth.ClientOf(r).IP)
	}
	// The reference ties the answer to this log line, which alone says
	// which policies were tried and what they require: the caller may be
	// anyone able to mint a token of a public issuer. Nothing is stored:
	// unauthenticated callers could fill a table.
	// A server that does not log at INFO (--log-level warn) writes no
	// such line: no reference then, which nobody could look up.
	if !s.d.Logger.Enabled(r.Context(), slog.LevelInfo) {
		return &oauthError{http.StatusBadRequest, fe.Code,
			fe.Msg + " (check: " + fe.Check + "); the server logs the reason of each refusal when it runs with --log-level info"}
	}
	ref := refusalRef()
	s.d.Logger.InfoContext(r.Context(), "federated exchange refused", "refusal", ref, "check", fe.Check, "reason", fe.Logged())
	return &oauthError{http.StatusBadRequest, fe.Code,
		fe.Msg + " (check: " + fe.Check + "); ask an admin to look up refusal " + ref + " in the server log"}
}

// refusalRef is a random reference to one refused exchange's log line.
func refusalRef() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
