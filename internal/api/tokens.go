package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// The ways to ask for an expiration (give at most one) are repeated in each
// body below because huma's schemas do not follow embedded structs.
func expiry(in string, at *time.Time, none bool) service.Expiry {
	return service.Expiry{ExpiresIn: in, ExpiresAt: at, NoExpiry: none}
}

type createTokenInput struct {
	Body struct {
		Name        string     `json:"name" maxLength:"200" doc:"Unique among the owner's active tokens, compared and kept in Unicode NFC (an accent typed as a combining mark is the same name). One line of text: no control, invisible or direction-changing characters, no U+2028/U+2029" example:"ci-deploy"`
		Description string     `json:"description,omitempty" maxLength:"2000"`
		Scopes      []string   `json:"scopes,omitempty" maxItems:"64" doc:"Scopes from GET /api/v1/scopes, optionally narrowed: repo:read=acme/*" example:"[\"repo:read\"]"`
		UserID      string     `json:"user_id,omitempty" maxLength:"100" doc:"Create on behalf of this user or service account (owners and admins)"`
		IPAllowlist []string   `json:"ip_allowlist,omitempty" maxItems:"64" doc:"CIDR ranges the token may be used from"`
		ExpiresIn   string     `json:"expires_in,omitempty" maxLength:"32" doc:"Lifetime as a Go duration or days: 720h, 30d. Presets: 7d, 30d, 60d, 90d, 180d" example:"720h"`
		ExpiresAt   *time.Time `json:"expires_at,omitempty" doc:"Absolute expiration time (RFC 3339)"`
		NoExpiry    bool       `json:"no_expiry,omitempty" doc:"Never expire (only if the policy allows it)"`
	}
}

type issuedOutput struct {
	Body struct {
		Token  Token  `json:"token"`
		Secret string `json:"secret" doc:"The token itself. Shown once: it is never stored and cannot be retrieved again."`
	}
}

type listTokensInput struct {
	UserID string `query:"user_id" maxLength:"100" doc:"Only this user's tokens (admins, or yourself)"`
	All    bool   `query:"all" doc:"Every token in the organisation (admins)"`
	State  string `query:"state" enum:"active,expiring,expired,revoked,"`
	Scope  string `query:"scope" maxLength:"100" doc:"Only tokens holding this scope"`
	Kind   string `query:"kind" enum:"pat,adm,fed,"`
	Cursor string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"0" maximum:"500" doc:"Page size, default 50"`
}

type tokenPage struct {
	Body struct {
		Items      []Token `json:"items"`
		NextCursor string  `json:"next_cursor" doc:"Pass as cursor to get the next page; empty on the last page"`
	}
}

type tokenIDInput struct {
	ID string `path:"id" maxLength:"100" doc:"Token id"`
}

type tokenOutput struct{ Body Token }

type updateTokenInput struct {
	ID   string `path:"id" maxLength:"100"`
	Body struct {
		Description *string   `json:"description,omitempty" maxLength:"2000"`
		Scopes      *[]string `json:"scopes,omitempty" maxItems:"64"`
		IPAllowlist *[]string `json:"ip_allowlist,omitempty" maxItems:"64"`
	}
}

type regenerateInput struct {
	ID   string `path:"id" maxLength:"100"`
	Body *struct {
		ExpiresIn   string     `json:"expires_in,omitempty" maxLength:"32" doc:"Lifetime as a Go duration or days: 720h, 30d. Presets: 7d, 30d, 60d, 90d, 180d" example:"720h"`
		ExpiresAt   *time.Time `json:"expires_at,omitempty" doc:"Absolute expiration time (RFC 3339)"`
		NoExpiry    bool       `json:"no_expiry,omitempty" doc:"Never expire (only if the policy allows it)"`
		GracePeriod string     `json:"grace_period,omitempty" maxLength:"32" doc:"How long the old secret keeps working, e.g. 10m; at most 7d" example:"10m"`
	}
}

type usageInput struct {
	ID   string `path:"id" maxLength:"100"`
	Days int    `query:"days" minimum:"1" maximum:"366" default:"30"` // maximum: store.UsageDaysKept
}

// UsageDay is a token's request count on one UTC day.
type UsageDay struct {
	Day   string `json:"day" doc:"UTC date, 2006-01-02"`
	Count int64  `json:"count"`
}

type usageOutput struct {
	Body struct {
		Days []UsageDay `json:"days" doc:"Days with requests, oldest first"`
	}
}

func (a *API) registerTokens() {
	tags := []string{"Tokens"}
	huma.Register(a, huma.Operation{OperationID: "create-token", Method: http.MethodPost, Path: "/api/v1/tokens", Tags: tags,
		Summary: "Create a token; the secret is returned once", DefaultStatus: http.StatusCreated, Security: security}, a.createToken)
	huma.Register(a, huma.Operation{OperationID: "list-tokens", Method: http.MethodGet, Path: "/api/v1/tokens", Tags: tags,
		Summary: "List tokens, newest first", Security: security}, a.listTokens)
	huma.Register(a, huma.Operation{OperationID: "get-token", Method: http.MethodGet, Path: "/api/v1/tokens/{id}", Tags: tags,
		Summary: "Show a token", Security: security}, a.getToken)
	huma.Register(a, huma.Operation{OperationID: "update-token", Method: http.MethodPatch, Path: "/api/v1/tokens/{id}", Tags: tags,
		Summary: "Change a token's description, scopes or IP allowlist without changing its secret", Security: security}, a.updateToken)
	huma.Register(a, huma.Operation{OperationID: "regenerate-token", Method: http.MethodPost, Path: "/api/v1/tokens/{id}/regenerate", Tags: tags,
		Summary: "Give a token a new secret, optionally a new expiration and a grace period for the old secret", Security: security}, a.regenerateToken)
	huma.Register(a, huma.Operation{OperationID: "revoke-token", Method: http.MethodDelete, Path: "/api/v1/tokens/{id}", Tags: tags,
		Summary: "Revoke a token for good", DefaultStatus: http.StatusNoContent, Security: security}, a.revokeToken)
	huma.Register(a, huma.Operation{OperationID: "token-usage", Method: http.MethodGet, Path: "/api/v1/tokens/{id}/usage", Tags: tags,
		Summary: "Requests per day over the last days", Security: security}, a.tokenUsage)
}

func (a *API) issued(ctx context.Context, it *service.IssuedToken) *issuedOutput {
	out := &issuedOutput{}
	out.Body.Token = tokenView(it.Token, a.d.Services.Policies.Current(ctx), a.d.Now())
	out.Body.Secret = it.Secret
	return out
}

func (a *API) tokenOut(ctx context.Context, t *store.Token) *tokenOutput {
	return &tokenOutput{Body: tokenView(t, a.d.Services.Policies.Current(ctx), a.d.Now())}
}

func (a *API) createToken(ctx context.Context, in *createTokenInput) (*issuedOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	it, err := a.d.Services.Tokens.Create(ctx, actor, service.CreateTokenInput{
		Name: b.Name, Description: b.Description, Scopes: b.Scopes, Expiry: expiry(b.ExpiresIn, b.ExpiresAt, b.NoExpiry), UserID: b.UserID, IPAllowlist: b.IPAllowlist,
	})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return a.issued(ctx, it), nil
}

func (a *API) listTokens(ctx context.Context, in *listTokensInput) (*tokenPage, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	ts, next, err := a.d.Services.Tokens.List(ctx, actor, service.TokenQuery{
		UserID: in.UserID, All: in.All, State: in.State, Scope: in.Scope, Kind: in.Kind, Cursor: in.Cursor, Limit: in.Limit,
	})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	p, now := a.d.Services.Policies.Current(ctx), a.d.Now()
	out := &tokenPage{}
	out.Body.Items = make([]Token, 0, len(ts))
	for _, t := range ts {
		out.Body.Items = append(out.Body.Items, tokenView(t, p, now))
	}
	out.Body.NextCursor = next
	return out, nil
}

func (a *API) getToken(ctx context.Context, in *tokenIDInput) (*tokenOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	t, err := a.d.Services.Tokens.Get(ctx, actor, in.ID)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return a.tokenOut(ctx, t), nil
}

func (a *API) updateToken(ctx context.Context, in *updateTokenInput) (*tokenOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	t, err := a.d.Services.Tokens.Update(ctx, actor, in.ID, service.UpdateTokenInput{
		Description: in.Body.Description, Scopes: in.Body.Scopes, IPAllowlist: in.Body.IPAllowlist,
	})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return a.tokenOut(ctx, t), nil
}

func (a *API) regenerateToken(ctx context.Context, in *regenerateInput) (*issuedOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	var req service.RegenerateInput
	if in.Body != nil {
		b := in.Body
		req = service.RegenerateInput{Expiry: expiry(b.ExpiresIn, b.ExpiresAt, b.NoExpiry), GracePeriod: b.GracePeriod}
	}
	it, err := a.d.Services.Tokens.Regenerate(ctx, actor, in.ID, req)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return a.issued(ctx, it), nil
}

func (a *API) revokeToken(ctx context.Context, in *tokenIDInput) (*struct{}, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.d.Services.Tokens.Revoke(ctx, actor, in.ID); err != nil {
		return nil, a.problem(ctx, err)
	}
	return nil, nil
}

func (a *API) tokenUsage(ctx context.Context, in *usageInput) (*usageOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	days, err := a.d.Services.Tokens.Usage(ctx, actor, in.ID, in.Days)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	out := &usageOutput{}
	out.Body.Days = make([]UsageDay, 0, len(days))
	for _, d := range days {
		out.Body.Days = append(out.Body.Days, UsageDay{Day: d.Day, Count: d.Count})
	}
	return out, nil
}
