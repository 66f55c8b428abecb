package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// OAuth token-exchange identifiers (RFC 8693).
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
)

// ExchangeRequest asks the server's security token service for a
// short-lived signed JWT in exchange for an access token.
type ExchangeRequest struct {
	// SubjectToken is the access token to exchange; empty = the client's own.
	SubjectToken string
	// Scopes narrow the JWT to these scopes (within the subject token's);
	// empty = all of the subject token's scopes.
	Scopes []string
	// Audience names the service the JWT is meant for.
	Audience string
}

// ExchangeResult is the answer of a token exchange.
type ExchangeResult struct {
	AccessToken     string `json:"access_token"` // the JWT
	IssuedTokenType string `json:"issued_token_type"`
	TokenType       string `json:"token_type"` // "Bearer" or "N_A"
	ExpiresIn       int64  `json:"expires_in"` // seconds
	Scope           string `json:"scope"`      // space-separated
}

// ExchangeToken trades an access token for a short-lived JWT (RFC 8693,
// POST /oauth2/token). Refusals come back as *OAuthError.
func (c *Client) ExchangeToken(ctx context.Context, req ExchangeRequest) (*ExchangeResult, error) {
	subject := req.SubjectToken
	if subject == "" {
		subject = c.token
	}
	if subject == "" {
		return nil, &OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "no subject token to exchange: give one or create the client WithToken"}
	}
	return c.exchange(ctx, subject, TokenTypeAccessToken, TokenTypeJWT, req.Scopes, "audience", req.Audience)
}

// exchange posts an RFC 8693 token exchange to /oauth2/token: subject (of
// subjectType) for a token of requestedType, narrowed to scopes when any,
// with one more parameter, param=value, left out when value is empty. An
// answer without an access_token is an error.
func (c *Client) exchange(ctx context.Context, subject, subjectType, requestedType string, scopes []string, param, value string) (*ExchangeResult, error) {
	form := url.Values{
		"grant_type":           {GrantTypeTokenExchange},
		"subject_token":        {subject},
		"subject_token_type":   {subjectType},
		"requested_token_type": {requestedType},
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	set(form, param, value)
	var out ExchangeResult
	if err := c.do(ctx, request{method: http.MethodPost, path: "/oauth2/token", form: form}, &out); err != nil {
		return nil, err
	}
	if out.AccessToken == "" {
		return nil, errors.New("token exchange answered without an access_token")
	}
	return &out, nil
}

// Introspection is an RFC 7662 answer. Active is false for any token that
// is not valid now; the other fields are then empty.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope"`
	ClientID  string `json:"client_id"`
	Username  string `json:"username"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
	Sub       string `json:"sub"`
	Iss       string `json:"iss"`
	Jti       string `json:"jti"`
	TokenID   string `json:"token_id"`
	Kind      string `json:"kind"`
	Role      string `json:"role"`
}

// Introspect asks whether token is valid and what it may do (RFC 7662). The
// client's credential must hold the introspect scope.
func (c *Client) Introspect(ctx context.Context, token string) (*Introspection, error) {
	var out Introspection
	err := c.do(ctx, request{method: http.MethodPost, path: "/oauth2/introspect", form: url.Values{"token": {token}}, auth: true}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
