package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// GetPolicy returns the token policy.
func (c *Client) GetPolicy(ctx context.Context) (*Policy, error) {
	var out Policy
	if err := c.get(ctx, "/api/v1/policy", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PolicyUpdate is a whole new token policy: PUT replaces every field, so
// start from GetPolicy's answer to change only some.
type PolicyUpdate struct {
	DefaultLifetime string `json:"default_lifetime"`
	MaxLifetime     string `json:"max_lifetime"`
	AllowNoExpiry   bool   `json:"allow_no_expiry"`
	Creation        string `json:"creation"`
	RevokeUnusedFor string `json:"revoke_unused_for"`
}

// Update returns the policy's settable fields, to modify and pass to
// SetPolicy.
func (p Policy) Update() PolicyUpdate {
	return PolicyUpdate{DefaultLifetime: p.DefaultLifetime, MaxLifetime: p.MaxLifetime, AllowNoExpiry: p.AllowNoExpiry,
		Creation: p.Creation, RevokeUnusedFor: p.RevokeUnusedFor}
}

// SetPolicy replaces the token policy (admins) and returns it as stored.
func (c *Client) SetPolicy(ctx context.Context, p PolicyUpdate) (*Policy, error) {
	var out Policy
	if err := c.send(ctx, http.MethodPut, "/api/v1/policy", p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Scopes returns the scope catalog. It needs no credential.
func (c *Client) Scopes(ctx context.Context) ([]Scope, error) {
	var out struct {
		Items []Scope `json:"items"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/scopes"}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// AuditOptions filters the audit log.
type AuditOptions struct {
	ActorID  string    // events by this user id
	TargetID string    // events about this token, user or session id
	Action   string    // an exact action, or a prefix ending in ".", e.g. "token."
	Since    time.Time // zero = no lower bound
	Until    time.Time // zero = no upper bound
	Cursor   string
	Limit    int
}

// ListAudit returns one page of audit events, newest first (admins).
func (c *Client) ListAudit(ctx context.Context, opts AuditOptions) (*Page[AuditEvent], error) {
	q := url.Values{}
	set(q, "actor_id", opts.ActorID)
	set(q, "target_id", opts.TargetID)
	set(q, "action", opts.Action)
	if !opts.Since.IsZero() {
		q.Set("since", opts.Since.UTC().Format(time.RFC3339Nano))
	}
	if !opts.Until.IsZero() {
		q.Set("until", opts.Until.UTC().Format(time.RFC3339Nano))
	}
	set(q, "cursor", opts.Cursor)
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	var out Page[AuditEvent]
	if err := c.get(ctx, "/api/v1/audit", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditEvents iterates over every audit event matching opts, newest first.
func (c *Client) AuditEvents(ctx context.Context, opts AuditOptions) iter.Seq2[AuditEvent, error] {
	return all(ctx, opts.Cursor, func(ctx context.Context, cursor string) (*Page[AuditEvent], error) {
		o := opts
		o.Cursor = cursor
		return c.ListAudit(ctx, o)
	})
}
