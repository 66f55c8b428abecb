package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Token types of workload identity federation.
const (
	TokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
)

// FederatedExchangeRequest trades a CI job's or workload's OIDC token for a
// short-lived Latchkey fed token.
type FederatedExchangeRequest struct {
	SubjectToken string   // the OIDC token (a JWT)
	Scopes       []string // narrow the policy's scopes; empty = all of them
	Policy       string   // policy name, needed only when several match
}

// ExchangeFederated trades an OIDC token for a fed token (RFC 8693 at POST
// /oauth2/token with subject_token_type id_token). Refusals come back as
// *OAuthError and say which check failed.
func (c *Client) ExchangeFederated(ctx context.Context, req FederatedExchangeRequest) (*ExchangeResult, error) {
	if req.SubjectToken == "" {
		return nil, &OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "no OIDC token to exchange"}
	}
	return c.exchange(ctx, req.SubjectToken, TokenTypeIDToken, TokenTypeAccessToken, req.Scopes, "policy", req.Policy)
}

// FederationPolicy is a workload identity federation trust policy.
type FederationPolicy struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	Issuer           string            `json:"issuer"`
	Audience         string            `json:"audience"`
	Conditions       map[string]string `json:"conditions"`
	ServiceAccount   string            `json:"service_account"`
	ServiceAccountID string            `json:"service_account_id"`
	Scopes           []string          `json:"scopes"`
	MaxLifetime      string            `json:"max_lifetime"`
	Disabled         bool              `json:"disabled"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

// FederationPolicyRequest creates a policy (all of Name, Issuer, Audience,
// Conditions, ServiceAccount, Scopes) or changes one (nil = unchanged).
type FederationPolicyRequest struct {
	Name           *string           `json:"name,omitempty"`
	Description    *string           `json:"description,omitempty"`
	Issuer         *string           `json:"issuer,omitempty"`
	Audience       *string           `json:"audience,omitempty"`
	Conditions     map[string]string `json:"conditions,omitempty"`
	ServiceAccount *string           `json:"service_account,omitempty"`
	Scopes         []string          `json:"scopes,omitempty"`
	MaxLifetime    *string           `json:"max_lifetime,omitempty"`
	Disabled       *bool             `json:"disabled,omitempty"`
}

const federationPoliciesPath = "/api/v1/federation/policies"

// CreateFederationPolicy creates a trust policy (admins).
func (c *Client) CreateFederationPolicy(ctx context.Context, req FederationPolicyRequest) (*FederationPolicy, error) {
	var out FederationPolicy
	if err := c.send(ctx, http.MethodPost, federationPoliciesPath, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListFederationPolicies returns one page of policies.
func (c *Client) ListFederationPolicies(ctx context.Context, cursor string, limit int) (*Page[FederationPolicy], error) {
	q := url.Values{}
	set(q, "cursor", cursor)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out Page[FederationPolicy]
	if err := c.get(ctx, federationPoliciesPath, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FederationPolicies iterates over every policy.
func (c *Client) FederationPolicies(ctx context.Context) iter.Seq2[FederationPolicy, error] {
	return all(ctx, "", func(ctx context.Context, cursor string) (*Page[FederationPolicy], error) {
		return c.ListFederationPolicies(ctx, cursor, 0)
	})
}

// GetFederationPolicy returns a policy by id.
func (c *Client) GetFederationPolicy(ctx context.Context, id string) (*FederationPolicy, error) {
	p, err := pathID("policy id", id)
	if err != nil {
		return nil, err
	}
	var out FederationPolicy
	if err := c.get(ctx, federationPoliciesPath+"/"+p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateFederationPolicy changes a policy; disabling it revokes its tokens.
func (c *Client) UpdateFederationPolicy(ctx context.Context, id string, req FederationPolicyRequest) (*FederationPolicy, error) {
	p, err := pathID("policy id", id)
	if err != nil {
		return nil, err
	}
	var out FederationPolicy
	if err := c.send(ctx, http.MethodPatch, federationPoliciesPath+"/"+p, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteFederationPolicy deletes a policy and revokes every token it issued.
func (c *Client) DeleteFederationPolicy(ctx context.Context, id string) error {
	p, err := pathID("policy id", id)
	if err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, federationPoliciesPath+"/"+p, nil, nil)
}
