package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// JobRun is what one on-demand run of a background job did.
type JobRun struct {
	Job        string         `json:"job" doc:"The job that ran"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Result     map[string]any `json:"result" doc:"What the run did: for cleanup revoked_unused_tokens, deleted_sessions, forgotten_federation_jtis, deleted_device_codes, deleted_federation_tokens and deleted_usage_days; for reminders sent and failed; for rotate-keys new_key_id, algorithm and removed_key_ids"`
}

type runJobInput struct {
	Name string `path:"name" maxLength:"64" doc:"reminders, cleanup or rotate-keys"`
}

type runJobOutput struct{ Body JobRun }

func (a *API) registerJobs() {
	huma.Register(a, huma.Operation{
		OperationID: "run-job", Method: http.MethodPost, Path: "/api/v1/jobs/{name}/run", Tags: []string{"Operations"},
		Summary: "Run a background job now (admins)",
		Description: "Runs a scheduled job at once instead of waiting for its schedule: `cleanup` (revoke tokens unused " +
			"for longer than the policy allows; delete sessions that ended a day ago, federation tokens that expired " +
			"over 30 days ago and, once a day or at every run on demand, per-day usage counts older than 366 days; " +
			"hourly), `reminders` (expiry " +
			"reminders; hourly) or `rotate-keys` (a new JWT signing key takes over, retired ones past their retention " +
			"are removed; every --key-rotation-interval). Answers what the run did. 409 when the job is running on " +
			"another replica at that moment.",
		Security: security,
	}, a.runJob)
}

func (a *API) runJob(ctx context.Context, in *runJobInput) (*runJobOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	run, err := a.d.Services.Jobs.Run(ctx, actor, in.Name)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &runJobOutput{Body: JobRun{Job: run.Name, StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, Result: run.Result}}, nil
}
