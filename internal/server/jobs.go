package server

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Background jobs: revoking tokens unused for longer than the policy allows,
// deleting sessions that ended a day ago, and sending expiry reminders. On a
// shared database one replica at a time runs them, under an advisory lock;
// they are idempotent besides (each reminder is claimed in the database
// before it is sent), so a lost lock costs only duplicate work.
const (
	jobsEvery      = time.Hour
	jobsFirstDelay = time.Minute
	sessionsKept   = 24 * time.Hour
	jobsLock       = "latchkey_jobs"
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
				a.RunJobs(ctx)
				timer.Reset(jobsEvery)
			}
		}
	}()
	a.closers = append(a.closers, func(context.Context) { cancel(); <-done })
}

// RunJobs runs every background job once, now, and reports true; when
// another replica of the same database is running them, it does nothing and
// reports false. The scheduler calls it hourly, tests call it directly.
func (a *App) RunJobs(ctx context.Context) bool {
	if l, ok := a.Store.(store.Locker); ok {
		release, got, err := l.TryLock(ctx, jobsLock)
		if err != nil {
			a.Logger.Error("take the background jobs lock", "err", err)
			return false
		}
		if !got {
			a.Logger.Debug("background jobs are running on another replica")
			return false
		}
		defer release()
	}
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
	if _, err := a.Store.DeleteExpiredDeviceCodes(ctx, now.Add(-time.Hour)); err != nil {
		a.Logger.Error("delete expired device codes", "err", err)
	}
	if res, err := a.Services.Tokens.SendReminders(ctx, now); err != nil {
		a.Logger.Error("send expiry reminders", "sent", res.Sent, "failed", res.Failed, "err", err)
	} else if res.Sent > 0 {
		a.Logger.Info("sent expiry reminders", "count", res.Sent)
	}
	return true
}
