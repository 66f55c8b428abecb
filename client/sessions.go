package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// ListSessionsOptions selects whose sessions to list.
type ListSessionsOptions struct {
	UserID string // another user's sessions (id or user name; admins); "" = your own
	Cursor string
	Limit  int
}

// SessionPage is one page of sessions.
type SessionPage struct {
	Items      []Session `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// ListSessions returns one page of live sessions, newest first.
func (c *Client) ListSessions(ctx context.Context, o ListSessionsOptions) (*SessionPage, error) {
	q := url.Values{}
	if o.UserID != "" {
		q.Set("user_id", o.UserID)
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var out SessionPage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/sessions", query: q, auth: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllSessions iterates over every page of sessions.
func (c *Client) AllSessions(ctx context.Context, o ListSessionsOptions) iter.Seq2[Session, error] {
	return func(yield func(Session, error) bool) {
		for {
			page, err := c.ListSessions(ctx, o)
			if err != nil {
				yield(Session{}, err)
				return
			}
			for _, s := range page.Items {
				if !yield(s, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			o.Cursor = page.NextCursor
		}
	}
}

// RevokeSession ends one session, and the sessions it minted at /cli-auth.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	seg, err := pathID("session id", id)
	if err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, "/api/v1/sessions/"+seg, nil, nil)
}

// RevokeOtherSessions ends every session of the caller but the one in use
// ("log out everywhere else").
func (c *Client) RevokeOtherSessions(ctx context.Context) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/sessions", nil, nil)
}

// PolicyPreview is what a policy change would do to existing tokens.
type PolicyPreview struct {
	Policy         Policy `json:"policy"`
	TokensAffected int    `json:"tokens_affected"`     // live tokens that would expire sooner
	TokensExpiring int    `json:"tokens_expiring_now"` // of those, tokens that would stop at once
}

// PreviewPolicy says what SetPolicy(p) would do, without changing anything
// (admins).
func (c *Client) PreviewPolicy(ctx context.Context, p PolicyUpdate) (*PolicyPreview, error) {
	var out PolicyPreview
	if err := c.send(ctx, http.MethodPost, "/api/v1/policy/preview", p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
