package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
)

// PolicyPreview is what a policy change would do, computed without saving it.
type PolicyPreview struct {
	Policy         Policy `json:"policy" doc:"The policy the change would put in force"`
	TokensAffected int    `json:"tokens_affected" doc:"Live tokens whose effective expiry would come sooner"`
	TokensExpiring int    `json:"tokens_expiring_now" doc:"Of those, tokens that would stop working at once"`
}

type policyPreviewOutput struct{ Body PolicyPreview }

func (a *API) registerPolicyPreview() {
	huma.Register(a, huma.Operation{
		OperationID: "preview-policy", Method: http.MethodPost, Path: "/api/v1/policy/preview", Tags: []string{"Policy"},
		Summary: "Say how many tokens a policy change affects, without saving it (admins)",
		Description: "Takes the same body as PUT /api/v1/policy. Lowering max_lifetime, or turning allow_no_expiry off, " +
			"caps existing tokens at use time (counted from their issuance); this answers how many live tokens would " +
			"expire sooner and how many would stop working at once. Nothing is changed.",
		Security: security,
	}, a.previewPolicy)
}

func (a *API) previewPolicy(ctx context.Context, in *putPolicyInput) (*policyPreviewOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	imp, err := a.d.Services.Policies.Preview(ctx, actor, service.PolicyPatch{
		DefaultLifetime: b.DefaultLifetime, MaxLifetime: b.MaxLifetime, AllowNoExpiry: b.AllowNoExpiry,
		Creation: b.Creation, RevokeUnusedFor: b.RevokeUnusedFor,
	})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &policyPreviewOutput{Body: PolicyPreview{Policy: policyView(imp.Policy), TokensAffected: imp.Affected, TokensExpiring: imp.ExpiringNow}}, nil
}
