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
	out := make([]LeakVerdict, 0, len(reports))
	// The server takes at most MaxLeakReports secrets per report.
	for start := 0; start < len(reports); start += MaxLeakReports {
		batch := reports[start:min(start+MaxLeakReports, len(reports))]
		var got []LeakVerdict
		if err := c.send(ctx, http.MethodPost, "/api/v1/leaks", batch, &got); err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// MaxLeakReports is the most secrets the server takes in one report;
// ReportLeaks splits longer lists.
const MaxLeakReports = 100
