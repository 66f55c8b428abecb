package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
)

type policyOutput struct{ Body Policy }

type putPolicyInput struct {
	Body struct {
		DefaultLifetime *string `json:"default_lifetime,omitempty" maxLength:"32" doc:"Lifetime of tokens created without an expiration, e.g. 180d. Empty: such tokens never expire when allow_no_expiry is true and there is no max_lifetime, else 180d (capped by max_lifetime)"`
		MaxLifetime     *string `json:"max_lifetime,omitempty" maxLength:"32" doc:"e.g. 90d; empty = no maximum"`
		AllowNoExpiry   *bool   `json:"allow_no_expiry,omitempty"`
		Creation        *string `json:"creation,omitempty" enum:"everyone,admins"`
		RevokeUnusedFor *string `json:"revoke_unused_for,omitempty" maxLength:"32" doc:"e.g. 90d; empty = never"`
	}
}

type scopesOutput struct {
	Body struct {
		Items []Scope `json:"items"`
	}
}

type auditInput struct {
	ActorID  string    `query:"actor_id" maxLength:"100"`
	TargetID string    `query:"target_id" maxLength:"100"`
	Action   string    `query:"action" maxLength:"100" doc:"Exact action, or a prefix ending in '.', e.g. token."`
	Since    time.Time `query:"since"`
	Until    time.Time `query:"until"`
	Cursor   string    `query:"cursor" maxLength:"200"`
	Limit    int       `query:"limit" minimum:"0" maximum:"500"`
}

// auditFilter is auditInput without pages, for the export (huma reads
// the parameters of one flat struct, so they are written out again).
type auditFilter struct {
	ActorID  string    `query:"actor_id" maxLength:"100"`
	TargetID string    `query:"target_id" maxLength:"100"`
	Action   string    `query:"action" maxLength:"100" doc:"Exact action, or a prefix ending in '.', e.g. token."`
	Since    time.Time `query:"since"`
	Until    time.Time `query:"until"`
}

type auditPage struct {
	Body struct {
		Items      []AuditEvent `json:"items"`
		NextCursor string       `json:"next_cursor"`
	}
}

func (a *API) registerOrg() {
	huma.Register(a, huma.Operation{OperationID: "get-policy", Method: http.MethodGet, Path: "/api/v1/policy", Tags: []string{"Policy"},
		Summary: "Read the token policy", Security: security}, a.getPolicy)
	huma.Register(a, huma.Operation{OperationID: "put-policy", Method: http.MethodPut, Path: "/api/v1/policy", Tags: []string{"Policy"},
		Summary: "Set the token policy (admins); fields left out keep their value", Security: security}, a.putPolicy)
	huma.Register(a, huma.Operation{OperationID: "list-scopes", Method: http.MethodGet, Path: "/api/v1/scopes", Tags: []string{"Policy"},
		Summary: "The scope catalog"}, a.listScopes)
	huma.Register(a, huma.Operation{OperationID: "list-audit", Method: http.MethodGet, Path: "/api/v1/audit", Tags: []string{"Audit"},
		Summary: "Read the audit log, newest first (admins)", Security: security}, a.listAudit)
}

func (a *API) getPolicy(ctx context.Context, _ *struct{}) (*policyOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := a.d.Services.Policies.Get(ctx, actor)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &policyOutput{Body: policyView(p)}, nil
}

func (a *API) putPolicy(ctx context.Context, in *putPolicyInput) (*policyOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	p, err := a.d.Services.Policies.Update(ctx, actor, service.PolicyPatch{
		DefaultLifetime: b.DefaultLifetime, MaxLifetime: b.MaxLifetime, AllowNoExpiry: b.AllowNoExpiry,
		Creation: b.Creation, RevokeUnusedFor: b.RevokeUnusedFor,
	})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &policyOutput{Body: policyView(p)}, nil
}

func (a *API) listScopes(ctx context.Context, _ *struct{}) (*scopesOutput, error) {
	// Public, but a credential that was sent and refused is still refused:
	// a client must learn its token is dead on any request.
	if err, ok := ctx.Value(keyAuthErr).(error); ok {
		return nil, a.problem(ctx, err)
	}
	out := &scopesOutput{}
	for _, d := range a.d.Services.Catalog.Defs() {
		out.Body.Items = append(out.Body.Items, scopeView(d))
	}
	return out, nil
}

func (a *API) listAudit(ctx context.Context, in *auditInput) (*auditPage, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	es, next, err := a.d.Services.Audit.List(ctx, actor, service.AuditQuery{
		ActorID: in.ActorID, TargetID: in.TargetID, Action: in.Action, Since: in.Since, Until: in.Until, Cursor: in.Cursor, Limit: in.Limit,
	})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	out := &auditPage{}
	out.Body.Items = make([]AuditEvent, 0, len(es))
	for _, e := range es {
		out.Body.Items = append(out.Body.Items, auditView(e))
	}
	out.Body.NextCursor = next
	return out, nil
}
