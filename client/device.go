package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Device-flow names (RFC 8628) served by Latchkey.
const (
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	CLIClientID     = "latchkey-cli"
)

// DeviceAuthorization is the answer of POST /oauth2/device_authorization.
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// DeviceToken is the session the device grant hands out once the code is
// approved.
type DeviceToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// DeviceAuthorize starts a device sign-in for the Latchkey CLI.
func (c *Client) DeviceAuthorize(ctx context.Context) (*DeviceAuthorization, error) {
	var out DeviceAuthorization
	err := c.do(ctx, request{method: http.MethodPost, path: "/oauth2/device_authorization", form: url.Values{"client_id": {CLIClientID}}}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeviceToken asks once whether the code was approved. Until then it
// returns an *OAuthError with Code authorization_pending (or slow_down).
func (c *Client) DeviceToken(ctx context.Context, deviceCode string) (*DeviceToken, error) {
	var out DeviceToken
	form := url.Values{"grant_type": {GrantDeviceCode}, "device_code": {deviceCode}, "client_id": {CLIClientID}}
	if err := c.do(ctx, request{method: http.MethodPost, path: "/oauth2/token", form: form}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PollDeviceToken polls until the code is approved, denied or expired,
// waiting the interval the server asks for (longer after slow_down).
func (c *Client) PollDeviceToken(ctx context.Context, d *DeviceAuthorization) (*DeviceToken, error) {
	interval := time.Duration(max(d.Interval, 1)) * time.Second
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
		tok, err := c.DeviceToken(ctx, d.DeviceCode)
		var oe *OAuthError
		switch {
		case err == nil:
			return tok, nil
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
		case errors.As(err, &oe) && oe.Code == "slow_down":
			interval += 5 * time.Second
		default:
			return nil, err
		}
	}
}
