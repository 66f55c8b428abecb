package client

import (
	"context"
	"net/http"
)

// LeakReport is one secret found somewhere it should not be, in the shape
// secret scanners send.
type LeakReport struct {
	Token  string `json:"token"`
	Type   string `json:"type,omitempty"`
	URL    string `json:"url,omitempty"`
	Source string `json:"source,omitempty"`
}

// LeakVerdict says whether a reported secret was a Latchkey credential; the
// server revoked those (Label "true_positive").
type LeakVerdict struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// ReportLeaks reports leaked secrets (POST /api/v1/leaks). No credential is
// needed: the server revokes every live token among them.
func (c *Client) ReportLeaks(ctx context.Context, reports []LeakReport) ([]LeakVerdict, error) {
	var out []LeakVerdict
	if err := c.send(ctx, http.MethodPost, "/api/v1/leaks", reports, &out); err != nil {
		return nil, err
	}
	return out, nil
}
