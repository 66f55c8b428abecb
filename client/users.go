package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// CreateUserRequest describes a new account (admins). Role defaults to
// member and Kind to person; service accounts take no password.
type CreateUserRequest struct {
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	Role     string `json:"role,omitempty"`
	Kind     string `json:"kind,omitempty"`
	// Email is where expiry reminders and leak notices go; "" = none.
	Email string `json:"email,omitempty"`
}

// CreateUser adds a person or a service account.
func (c *Client) CreateUser(ctx context.Context, req CreateUserRequest) (*User, error) {
	var out User
	if err := c.send(ctx, http.MethodPost, "/api/v1/users", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListUsersOptions filters a user listing.
type ListUsersOptions struct {
	Kind   string // KindPerson or KindService; empty = both
	Cursor string
	Limit  int
}

// ListUsers returns one page of users (admins).
func (c *Client) ListUsers(ctx context.Context, opts ListUsersOptions) (*Page[User], error) {
	q := url.Values{}
	set(q, "kind", opts.Kind)
	set(q, "cursor", opts.Cursor)
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	var out Page[User]
	if err := c.get(ctx, "/api/v1/users", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Users iterates over every user matching opts, page after page.
func (c *Client) Users(ctx context.Context, opts ListUsersOptions) iter.Seq2[User, error] {
	return all(ctx, opts.Cursor, func(ctx context.Context, cursor string) (*Page[User], error) {
		o := opts
		o.Cursor = cursor
		return c.ListUsers(ctx, o)
	})
}

// GetUser returns a user by id or user name: yourself, or anyone for admins.
func (c *Client) GetUser(ctx context.Context, idOrName string) (*User, error) {
	p, err := pathID("user", idOrName)
	if err != nil {
		return nil, err
	}
	var out User
	if err := c.get(ctx, "/api/v1/users/"+p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUserRequest changes a user; nil fields are left as they are. Role
// and Suspended are for admins; Password and Email for yourself or admins.
type UpdateUserRequest struct {
	Role      *string `json:"role,omitempty"`
	Suspended *bool   `json:"suspended,omitempty"`
	Password  *string `json:"password,omitempty"`
	// Email sets where notices go ("" removes it): your own with a
	// session, anyone's for admins.
	Email *string `json:"email,omitempty"`
}

// UpdateUser changes a user's role, suspension or password. Suspending a
// user stops all of their tokens and sessions at once.
func (c *Client) UpdateUser(ctx context.Context, idOrName string, req UpdateUserRequest) (*User, error) {
	p, err := pathID("user", idOrName)
	if err != nil {
		return nil, err
	}
	var out User
	if err := c.send(ctx, http.MethodPatch, "/api/v1/users/"+p, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser deletes a user; all of their tokens and sessions stop at once.
func (c *Client) DeleteUser(ctx context.Context, idOrName string) error {
	p, err := pathID("user", idOrName)
	if err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, "/api/v1/users/"+p, nil, nil)
}
