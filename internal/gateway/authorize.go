package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
)

// Authorizer decides whether a request to a protected service may pass. It
// holds no state of its own and is safe for concurrent use.
type Authorizer struct {
	Verifier auth.Verifier
	// Realm is named in the Basic challenge of a 401, so Git prompts.
	Realm string
	// UsernameMustMatch refuses Basic credentials whose user name is not
	// the token owner's; otherwise the user name is ignored.
	UsernameMustMatch bool
	Logger            *slog.Logger
}

// Request is the original request as the protected service received it.
type Request struct {
	Method string
	URI    string // path and query as sent, e.g. nginx's $request_uri
	Header http.Header
	IP     string // the client's address (auth.ClientOf), for IP allowlists and last-used
	Agent  string
}

// Outcome is the answer to one request.
type Outcome struct {
	Status    int             // 200, 400 (the request names two methods), 401, 403, 429 or 503
	Principal *auth.Principal // the caller, when authenticated; nil on public routes
	Decision  scope.Decision
	Reason    string // why not, safe to show the caller; "" on 200
	// RetryAfter is the Retry-After of a 429 or 503, in seconds.
	RetryAfter string
}

// Authorize applies router's rules to req and verifies its credential.
func (a *Authorizer) Authorize(ctx context.Context, router *scope.Router, req Request) Outcome {
	if reason := conflictingOverride(req); reason != "" {
		return Outcome{Status: http.StatusBadRequest, Reason: reason}
	}
	d := router.Decide(req.Method, req.URI)
	out := Outcome{Decision: d}
	switch {
	case d.Deny:
		return out.deny(http.StatusForbidden, "no route rule allows "+strings.ToUpper(req.Method)+" "+pathOf(req.URI)+
			": Latchkey refuses requests that match no rule, and paths with empty, \".\" or \"..\" segments, \";\" or a backslash; ask the operator to add a rule")
	case d.Public:
		out.Status = http.StatusOK
		return out
	}
	secret, basicUser, ok := auth.Credential(req.Header)
	if !ok {
		reason := "authentication required: send a Latchkey token as the password (Git) or as Authorization: Bearer <token>"
		if req.Header.Get("Authorization") != "" {
			reason = auth.CredentialNotUnderstood
		}
		return out.deny(http.StatusUnauthorized, reason)
	}
	p, err := a.Verifier.Verify(ctx, secret, auth.Request{IP: req.IP, Agent: req.Agent})
	if err != nil {
		var rl *auth.RateLimited
		if errors.As(err, &rl) {
			out.RetryAfter = rl.Seconds()
			return out.deny(http.StatusTooManyRequests, rl.Error())
		}
		if errors.Is(err, auth.ErrUnauthenticated) {
			return out.deny(http.StatusUnauthorized, err.Error())
		}
		if msg, retry, down := store.Outage(err); down {
			// The storage's own words (unreachable, too many clients, timed
			// out) and when to try again, as the API says them.
			a.logger().WarnContext(ctx, "gateway verification: storage unavailable", "err", err)
			out.RetryAfter = strconv.Itoa(retry)
			return out.deny(http.StatusServiceUnavailable, "token verification is unavailable: "+msg)
		}
		a.logger().ErrorContext(ctx, "gateway verification failed", "err", err)
		out.RetryAfter = "5"
		return out.deny(http.StatusServiceUnavailable, "token verification is unavailable; try again shortly")
	}
	if a.UsernameMustMatch && auth.IsBasic(req.Header) && basicUser != p.User.Username {
		return out.deny(http.StatusUnauthorized, auth.BasicUserMismatch)
	}
	out.Principal = p
	if d.Scope != "" && !p.Allows(d.Scope, d.Resource) {
		return out.deny(http.StatusForbidden, missingScope(d))
	}
	out.Status = http.StatusOK
	return out
}

func (o Outcome) deny(status int, reason string) Outcome {
	o.Status, o.Reason = status, reason
	return o
}

func (a *Authorizer) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

func missingScope(d scope.Decision) string {
	msg := "this token does not hold the " + d.Scope + " scope"
	if d.Resource != "" {
		msg += " on " + d.Resource
	}
	if d.Rule != nil && d.Rule.Name != "" {
		msg += " (route rule " + d.Rule.Name + ")"
	}
	return msg + "; use a token with that scope, or update this one's scopes"
}

// pathOf is the path of a request URI, without the query, which may hold
// secrets of the upstream's own.
func pathOf(uri string) string {
	p, _, _ := strings.Cut(uri, "?")
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	return p
}
