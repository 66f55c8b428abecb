package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// TokenFederation is where a fed token came from.
type TokenFederation struct {
	PolicyID string            `json:"policy_id" doc:"The trust policy that issued the token"`
	Claims   map[string]string `json:"claims" doc:"Claims of the exchanged OIDC token that the policy matched, with informative ones (repository, run_id, ref...)"`
}

func federationView(t *store.Token) *TokenFederation {
	if t.Kind != store.TokenFederated {
		return nil
	}
	c := t.FederationClaims
	if c == nil {
		c = map[string]string{}
	}
	return &TokenFederation{PolicyID: t.FederationPolicyID, Claims: c}
}

// FederationPolicy is a workload identity federation trust policy.
type FederationPolicy struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	Issuer           string            `json:"issuer" doc:"The OIDC issuer, exactly as the tokens' iss claim (https)"`
	Audience         string            `json:"audience" doc:"The aud the tokens must carry"`
	Conditions       map[string]string `json:"conditions" doc:"Claim name -> exact value or glob pattern (path.Match: * does not cross /)"`
	ServiceAccount   string            `json:"service_account" doc:"User id of the service account the issued tokens act as"`
	ServiceAccountID string            `json:"service_account_id"`
	Scopes           []string          `json:"scopes"`
	MaxLifetime      string            `json:"max_lifetime" doc:"Longest lifetime of an issued token (Go duration); the token policy's max_lifetime caps it"`
	Disabled         bool              `json:"disabled"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

func federationPolicyView(p *store.FederationPolicy) FederationPolicy {
	life := p.MaxLifetime
	if life <= 0 {
		life = service.DefaultFederatedLifetime
	}
	c := p.Conditions
	if c == nil {
		c = map[string]string{}
	}
	return FederationPolicy{
		ID: p.ID, Name: p.Name, Description: p.Description, Issuer: p.Issuer, Audience: p.Audience,
		Conditions: c, ServiceAccount: p.ServiceAccountID, ServiceAccountID: p.ServiceAccountID,
		Scopes: nonNil(p.Scopes), MaxLifetime: life.String(), Disabled: p.Disabled, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// federationPolicyBody is the body of create (required fields checked by
// the service, so the message says how to fix it) and of PATCH.
type federationPolicyBody struct {
	Name           *string           `json:"name,omitempty" maxLength:"63"`
	Description    *string           `json:"description,omitempty" maxLength:"1000"`
	Issuer         *string           `json:"issuer,omitempty" maxLength:"500" doc:"https URL, exactly as the tokens' iss claim"`
	Audience       *string           `json:"audience,omitempty" maxLength:"256"`
	Conditions     map[string]string `json:"conditions,omitempty" doc:"Claim name -> exact value or glob pattern; at least one"`
	ServiceAccount *string           `json:"service_account,omitempty" maxLength:"100" doc:"User id or user name of a service account"`
	Scopes         []string          `json:"scopes,omitempty" maxItems:"64"`
	MaxLifetime    *string           `json:"max_lifetime,omitempty" maxLength:"32" doc:"e.g. 15m (the default)"`
	Disabled       *bool             `json:"disabled,omitempty" doc:"A disabled policy issues nothing; disabling revokes its live tokens"`
}

func (b federationPolicyBody) input() service.FederationPolicyInput {
	return service.FederationPolicyInput{
		Name: b.Name, Description: b.Description, Issuer: b.Issuer, Audience: b.Audience, Conditions: b.Conditions,
		ServiceAccount: b.ServiceAccount, Scopes: b.Scopes, MaxLifetime: b.MaxLifetime, Disabled: b.Disabled,
	}
}

type federationPolicyInput struct {
	Body federationPolicyBody
}

type federationPolicyIDInput struct {
	ID string `path:"id" maxLength:"100"`
}

type federationPolicyPatchInput struct {
	ID   string `path:"id" maxLength:"100"`
	Body federationPolicyBody
}

type federationPolicyOutput struct{ Body FederationPolicy }

type federationPolicyListInput struct {
	Cursor string `query:"cursor" maxLength:"200"`
	Limit  int    `query:"limit" minimum:"0" maximum:"500"`
}

type federationPolicyPage struct {
	Body struct {
		Items      []FederationPolicy `json:"items"`
		NextCursor string             `json:"next_cursor"`
	}
}

func (a *API) registerFederation() {
	tags := []string{"Federation"}
	base := "/api/v1/federation/policies"
	huma.Register(a, huma.Operation{OperationID: "create-federation-policy", Method: http.MethodPost, Path: base, Tags: tags,
		Summary:       "Trust an OIDC issuer's tokens that match conditions (admins)",
		Description:   "Tokens from the issuer, for the audience, whose claims match every condition, can be exchanged at POST /oauth2/token (subject_token_type urn:ietf:params:oauth:token-type:id_token) for a short-lived fed token of the service account.",
		DefaultStatus: http.StatusCreated, Security: security}, a.createFederationPolicy)
	huma.Register(a, huma.Operation{OperationID: "list-federation-policies", Method: http.MethodGet, Path: base, Tags: tags,
		Summary: "List trust policies (admins)", Security: security}, a.listFederationPolicies)
	huma.Register(a, huma.Operation{OperationID: "get-federation-policy", Method: http.MethodGet, Path: base + "/{id}", Tags: tags,
		Summary: "Show a trust policy (admins)", Security: security}, a.getFederationPolicy)
	huma.Register(a, huma.Operation{OperationID: "update-federation-policy", Method: http.MethodPatch, Path: base + "/{id}", Tags: tags,
		Summary: "Change a trust policy (admins); disabling it revokes the tokens it issued", Security: security}, a.updateFederationPolicy)
	huma.Register(a, huma.Operation{OperationID: "delete-federation-policy", Method: http.MethodDelete, Path: base + "/{id}", Tags: tags,
		Summary: "Delete a trust policy (admins) and revoke every live token it issued", DefaultStatus: http.StatusNoContent,
		Security: security}, a.deleteFederationPolicy)
}

func (a *API) createFederationPolicy(ctx context.Context, in *federationPolicyInput) (*federationPolicyOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := a.d.Services.Federation.CreatePolicy(ctx, actor, in.Body.input())
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &federationPolicyOutput{Body: federationPolicyView(p)}, nil
}

func (a *API) listFederationPolicies(ctx context.Context, in *federationPolicyListInput) (*federationPolicyPage, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	ps, next, err := a.d.Services.Federation.ListPolicies(ctx, actor, in.Cursor, in.Limit)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	out := &federationPolicyPage{}
	out.Body.Items = make([]FederationPolicy, 0, len(ps))
	for _, p := range ps {
		out.Body.Items = append(out.Body.Items, federationPolicyView(p))
	}
	out.Body.NextCursor = next
	return out, nil
}

func (a *API) getFederationPolicy(ctx context.Context, in *federationPolicyIDInput) (*federationPolicyOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := a.d.Services.Federation.GetPolicy(ctx, actor, in.ID)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &federationPolicyOutput{Body: federationPolicyView(p)}, nil
}

func (a *API) updateFederationPolicy(ctx context.Context, in *federationPolicyPatchInput) (*federationPolicyOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := a.d.Services.Federation.UpdatePolicy(ctx, actor, in.ID, in.Body.input())
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &federationPolicyOutput{Body: federationPolicyView(p)}, nil
}

func (a *API) deleteFederationPolicy(ctx context.Context, in *federationPolicyIDInput) (*struct{}, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.d.Services.Federation.DeletePolicy(ctx, actor, in.ID); err != nil {
		return nil, a.problem(ctx, err)
	}
	return nil, nil
}
