package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
)

type loginInput struct {
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"64"`
		Password string `json:"password" minLength:"1" maxLength:"256"`
	}
}

type loginOutput struct {
	Body struct {
		Token     string    `json:"token" doc:"The session token (kind ses). Shown once."`
		ExpiresAt time.Time `json:"expires_at"`
		User      User      `json:"user"`
	}
}

type meOutput struct {
	Body meOutputBody
}

// meOutputBody is named as huma names the body of meOutput (the schema
// MeOutputBody); encoded is unexported, so the schema does not see it.
type meOutputBody struct {
	User    User     `json:"user"`
	Token   *Token   `json:"token" doc:"The access token used, or null for a session"`
	Session *Session `json:"session" doc:"The session used, or null for an access token"`
	Scopes  []string `json:"scopes" doc:"What this credential may do: the token's scopes within the owner's role"`

	encoded *meEncoded // the same body, encoded; see meEncoder
}

// Session is a login session as clients see it.
type Session struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// loginDescription is the login operation's description in the OpenAPI
// document.
const loginDescription = "Returns a session token (kind ses) valid for the configured session duration, refreshed on use unless disabled. " +
	"Failed logins are limited per client address and per user name (10, then one a minute, except from an address that signed in to the name in the last 30 days): " +
	"a limited login is answered 429 with Retry-After before the password is checked, the same for every name."

func (a *API) registerAuth() {
	huma.Register(a, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login", Tags: []string{"Auth"},
		Summary:     "Log in with user name and password",
		Description: loginDescription,
	}, a.login)
	huma.Register(a, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout", Tags: []string{"Auth"},
		Summary: "End the current session", DefaultStatus: http.StatusNoContent, Security: security,
	}, a.logout)
	huma.Register(a, huma.Operation{
		OperationID: "me", Method: http.MethodGet, Path: "/api/v1/me", Tags: []string{"Auth"},
		Summary: "Who am I: the caller, the credential used and its effective scopes", Security: security,
	}, a.me)
}

func (a *API) login(ctx context.Context, in *loginInput) (*loginOutput, error) {
	c := clientOf(ctx)
	// Both limits count this check from now until it is settled, so a
	// burst of guesses sent at once is limited as if sent one by one; the
	// name's is taken before the password is checked, and the same for
	// every name, whether an account has it or not.
	endIP, err := a.d.LoginLimiter.Begin(c.IP)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	endName, err := a.d.AccountLimiter.Begin(in.Body.Username, c.IP)
	if err != nil {
		endIP(false)
		return nil, a.problem(ctx, err)
	}
	o, err := a.d.Services.Sessions.Login(ctx, in.Body.Username, in.Body.Password, c.IP, c.Agent)
	failed := errors.Is(err, service.ErrUnauthenticated)
	endIP(failed)
	endName(failed)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	a.d.AccountLimiter.Succeed(in.Body.Username, c.IP)
	out := &loginOutput{}
	out.Body.Token, out.Body.ExpiresAt, out.Body.User = o.Secret, o.Session.ExpiresAt, userView(o.User)
	return out, nil
}

func (a *API) logout(ctx context.Context, _ *struct{}) (*struct{}, error) {
	actor, p, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	sessionID := ""
	if p.Session != nil {
		sessionID = p.Session.ID
	}
	if err := a.d.Services.Sessions.Logout(ctx, actor, sessionID); err != nil {
		return nil, a.problem(ctx, err)
	}
	return nil, nil
}

func (a *API) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	actor, p, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	out := &meOutput{}
	out.Body.User = userView(p.User)
	out.Body.Scopes = p.Identity().ScopeList() // shared between requests, read-only
	if p.Token != nil {
		v := tokenView(p.Token, a.d.Services.Policies.Current(ctx), a.d.Now())
		out.Body.Token = &v
	}
	if p.Session != nil {
		out.Body.Session = &Session{ID: p.Session.ID, CreatedAt: p.Session.CreatedAt, ExpiresAt: *p.ExpiresAt}
	}
	complete := func() { a.lastUseOf(ctx, actor, out.Body.Token) }
	if !a.plainMe {
		out.Body.encoded = encodedMe(p, &out.Body, complete)
	} else {
		complete()
	}
	return out, nil
}

// lastUseOf gives v, the view of the token the request authenticated with,
// the token's stored last use when verification left it out (the SQLite
// store's verification read does not read it). It costs one primary-key
// read per encoding of the answer, which is kept on the Principal, not one
// per request. A failed read is logged and leaves the last use empty: the
// caller was authenticated, and the rest of the answer stands.
func (a *API) lastUseOf(ctx context.Context, actor service.Actor, v *Token) {
	if v == nil || v.LastUsedAt != nil {
		return
	}
	t, err := a.d.Services.Tokens.LastUse(ctx, actor)
	if err != nil {
		a.d.Logger.WarnContext(ctx, "reading the last use of the token for /api/v1/me", "token_id", v.ID, "error", err)
		return
	}
	v.LastUsedAt, v.LastUsedIP, v.LastUsedAgent, v.RecentIPs = t.LastUsedAt, t.LastUsedIP, t.LastUsedAgent, nonNil(t.RecentIPs)
}
