package client

import (
	"context"
	"net/http"
	"time"
)

// JobRun is what one on-demand run of a background job did.
type JobRun struct {
	Job        string         `json:"job"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Result     map[string]any `json:"result"`
}

// RunJob runs the background job name (reminders, cleanup or rotate-keys)
// now, instead of at its next scheduled time (admins only).
func (c *Client) RunJob(ctx context.Context, name string) (*JobRun, error) {
	p, err := pathID("job name", name)
	if err != nil {
		return nil, err
	}
	var out JobRun
	if err := c.send(ctx, http.MethodPost, "/api/v1/jobs/"+p+"/run", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
