package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// CreateTokenRequest asks for a new token. Give at most one of ExpiresIn,
// ExpiresAt and NoExpiry; none means the policy's default lifetime.
type CreateTokenRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	// UserID creates the token on behalf of this user or service account
	// (id or user name; owners and admins only).
	UserID      string   `json:"user_id,omitempty"`
	IPAllowlist []string `json:"ip_allowlist,omitempty"`
	// ExpiresIn is a lifetime: a Go duration or days, "720h" or "30d".
	ExpiresIn string     `json:"expires_in,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	NoExpiry  bool       `json:"no_expiry,omitempty"`
}

// CreateToken issues a token. The answer holds its secret, shown this once.
func (c *Client) CreateToken(ctx context.Context, req CreateTokenRequest) (*IssuedToken, error) {
	var out IssuedToken
	if err := c.send(ctx, http.MethodPost, "/api/v1/tokens", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTokensOptions filters a token listing. With no options it lists the
// caller's own tokens in every state, newest first.
type ListTokensOptions struct {
	UserID string // this user's tokens (id or user name; admins, or yourself)
	All    bool   // every token of the organisation (admins)
	State  string // StateActive, StateExpiring, StateExpired or StateRevoked
	Scope  string // only tokens holding this scope
	Kind   string // KindPersonal or KindAdmin
	Cursor string // NextCursor of the previous page
	Limit  int    // page size; 0 = the server's default (50), at most 500
}

func (o ListTokensOptions) query() url.Values {
	q := url.Values{}
	set(q, "user_id", o.UserID)
	if o.All {
		q.Set("all", "true")
	}
	set(q, "state", o.State)
	set(q, "scope", o.Scope)
	set(q, "kind", o.Kind)
	set(q, "cursor", o.Cursor)
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// ListTokens returns one page of tokens.
func (c *Client) ListTokens(ctx context.Context, opts ListTokensOptions) (*Page[Token], error) {
	var out Page[Token]
	if err := c.get(ctx, "/api/v1/tokens", opts.query(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tokens iterates over every token matching opts, page after page.
func (c *Client) Tokens(ctx context.Context, opts ListTokensOptions) iter.Seq2[Token, error] {
	return all(ctx, opts.Cursor, func(ctx context.Context, cursor string) (*Page[Token], error) {
		o := opts
		o.Cursor = cursor
		return c.ListTokens(ctx, o)
	})
}

// GetToken returns a token by id.
func (c *Client) GetToken(ctx context.Context, id string) (*Token, error) {
	p, err := pathID("token id", id)
	if err != nil {
		return nil, err
	}
	var out Token
	if err := c.get(ctx, "/api/v1/tokens/"+p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTokenRequest changes a token without changing its secret; nil
// fields are left as they are. Scopes and IPAllowlist replace the old lists.
type UpdateTokenRequest struct {
	Description *string   `json:"description,omitempty"`
	Scopes      *[]string `json:"scopes,omitempty"`
	IPAllowlist *[]string `json:"ip_allowlist,omitempty"`
}

// UpdateToken changes a token's description, scopes or IP allowlist.
func (c *Client) UpdateToken(ctx context.Context, id string, req UpdateTokenRequest) (*Token, error) {
	p, err := pathID("token id", id)
	if err != nil {
		return nil, err
	}
	var out Token
	if err := c.send(ctx, http.MethodPatch, "/api/v1/tokens/"+p, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegenerateTokenRequest asks for a new secret. Give at most one of
// ExpiresIn, ExpiresAt and NoExpiry. GracePeriod ("10m", at most 7 days)
// keeps the old secret working that long.
type RegenerateTokenRequest struct {
	ExpiresIn   string     `json:"expires_in,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	NoExpiry    bool       `json:"no_expiry,omitempty"`
	GracePeriod string     `json:"grace_period,omitempty"`
}

// RegenerateToken gives a token a new secret, keeping its id, name and
// scopes. The answer holds the new secret, shown this once.
func (c *Client) RegenerateToken(ctx context.Context, id string, req RegenerateTokenRequest) (*IssuedToken, error) {
	p, err := pathID("token id", id)
	if err != nil {
		return nil, err
	}
	var out IssuedToken
	if err := c.send(ctx, http.MethodPost, "/api/v1/tokens/"+p+"/regenerate", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeToken revokes a token for good: every later request with it is
// refused.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	p, err := pathID("token id", id)
	if err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, "/api/v1/tokens/"+p, nil, nil)
}

// TokenUsage returns a token's requests per UTC day over the last days
// (1 to 366; 0 = 30), oldest first, days without requests left out.
func (c *Client) TokenUsage(ctx context.Context, id string, days int) ([]UsageDay, error) {
	p, err := pathID("token id", id)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if days > 0 {
		q.Set("days", strconv.Itoa(days))
	}
	var out struct {
		Days []UsageDay `json:"days"`
	}
	if err := c.get(ctx, "/api/v1/tokens/"+p+"/usage", q, &out); err != nil {
		return nil, err
	}
	return out.Days, nil
}

func set(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}
