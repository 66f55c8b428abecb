package server

import (
	"context"
	"time"
)

// Background jobs: revoking tokens unused for longer than the policy allows,
// and deleting sessions that ended a day ago. Both are idempotent, so
// running them on every replica is harmless.
const (
	jobsEvery      = time.Hour
	jobsFirstDelay = time.Minute
	sessionsKept   = 24 * time.Hour
)

// startJobs runs the background jobs until the App closes.
func (a *App) startJobs() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		timer := time.NewTimer(jobsFirstDelay)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
				a.runJobs(ctx)
				timer.Reset(jobsEvery)
			}
		}
	}()
	a.closers = append(a.closers, func(context.Context) { cancel(); <-done })
}

func (a *App) runJobs(ctx context.Context) {
	now := time.Now()
	if n, err := a.Services.Tokens.RevokeUnused(ctx, now); err != nil {
		a.Logger.Error("revoke unused tokens", "err", err)
	} else if n > 0 {
		a.Logger.Info("revoked unused tokens", "count", n)
	}
	if n, err := a.Store.DeleteExpiredSessions(ctx, now.Add(-sessionsKept)); err != nil {
		a.Logger.Error("delete ended sessions", "err", err)
	} else if n > 0 {
		a.Logger.Info("deleted ended sessions", "count", n)
	}
}
