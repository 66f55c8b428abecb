package client

import (
	"context"
	"net/http"
)

// Login signs in with a user name and password and returns a session token.
// The client's own credential is not sent. Use the session token with
// WithToken in a new Client.
func (c *Client) Login(ctx context.Context, username, password string) (*LoginResult, error) {
	body := map[string]string{"username": username, "password": password}
	var out LoginResult
	if err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/auth/login", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Logout ends the session the client's credential belongs to. Access tokens
// are not sessions: revoke them with RevokeToken.
func (c *Client) Logout(ctx context.Context) error {
	return c.send(ctx, http.MethodPost, "/api/v1/auth/logout", nil, nil)
}

// Me returns the caller, the credential used and its effective scopes.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var out Me
	if err := c.get(ctx, "/api/v1/me", nil, &out); err != nil {
		return nil, err
	}
	if out.User.ID == "" {
		// Some JSON, but not Latchkey's: every /me answer names its user.
		return nil, &Error{Status: http.StatusOK, Title: "not a Latchkey answer", notAPI: true,
			Detail: "GET /api/v1/me answered JSON without a user, not a Latchkey API answer: is " + c.BaseURL() + " the address of a Latchkey server (not a proxy or another service)?"}
	}
	return &out, nil
}
