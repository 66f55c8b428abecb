package server

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// Background jobs: revoking tokens unused for longer than the policy allows,
// deleting sessions that ended a day ago, federation tokens that expired a
// month ago and per-day usage counts past store.UsageDaysKept, and sending
// expiry reminders. On a
// shared database one replica at a time runs them, under an advisory lock;
// they are idempotent besides (each reminder is claimed in the database
// before it is sent), so a lost lock costs only duplicate work.
const (
	jobsEvery      = time.Hour
	jobsFirstDelay = time.Minute
	sessionsKept   = 24 * time.Hour
	// usagePruneEvery is how often the scheduled cleanup deletes per-day
	// usage counts past store.UsageDaysKept: a day is their unit, and the
	// deletion goes through every token (on a million tokens, seconds of
	// the writer's time in short transactions). A run on demand always
	// deletes them.
	usagePruneEvery = 24 * time.Hour
	// fedTokensKept is how long an expired federation token is kept (one
	// per CI run: without this the tokens table grows by a row per run for
	// ever); the audit log keeps its events.
	fedTokensKept = 30 * 24 * time.Hour
	jobsLock      = "latchkey_jobs"
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

// RunJobs runs every scheduled background job once, now, and reports
// true; when another replica of the same database is running them, it does
// nothing and reports false. The scheduler calls it hourly, tests call it
// directly.
func (a *App) RunJobs(ctx context.Context) bool {
	release, got := a.jobsLock(ctx)
	if !got {
		return false
	}
	defer release()
	for _, job := range []struct {
		name string
		run  service.JobFunc
	}{{"cleanup", a.cleanupJob(false)}, {"reminders", a.reminders}} {
		res, err := job.run(ctx)
		if err != nil {
			a.Logger.Error("background job failed", "job", job.name, "err", err)
			continue
		}
		a.Logger.Debug("background job ran", "job", job.name, "result", res)
	}
	return true
}

// jobsLock takes the lock that keeps the jobs on one replica at a time.
func (a *App) jobsLock(ctx context.Context) (release func(), ok bool) {
	l, isShared := a.Store.(store.Locker)
	if !isShared {
		return func() {}, true
	}
	release, got, err := l.TryLock(ctx, jobsLock)
	if err != nil {
		a.Logger.Error("take the background jobs lock", "err", err)
		return nil, false
	}
	if !got {
		a.Logger.Debug("background jobs are running on another replica")
		return nil, false
	}
	return release, true
}

// registerJobs makes the jobs runnable on demand (POST /api/v1/jobs/{name}/run).
// rotate-keys is registered by mountSTS, which holds the keyring.
func (a *App) registerJobs() {
	for name, fn := range map[string]service.JobFunc{"cleanup": a.cleanupJob(true), "reminders": a.reminders} {
		a.Services.Jobs.Register(name, func(ctx context.Context) (map[string]any, error) {
			release, got := a.jobsLock(ctx)
			if !got {
				return nil, service.ErrJobBusy
			}
			defer release()
			return fn(ctx)
		})
	}
}

// cleanupJob is the cleanup job: it revokes tokens unused for longer than
// the policy allows, deletes sessions that ended a day ago, forgets
// federation token ids (jti) past their expiry, deletes device codes that
// expired an hour ago and federation tokens that expired fedTokensKept
// ago and, every usagePruneEvery or always when onDemand,
// deletes the per-day usage counts of days past store.UsageDaysKept.
func (a *App) cleanupJob(onDemand bool) service.JobFunc {
	return func(ctx context.Context) (map[string]any, error) { return a.cleanup(ctx, onDemand) }
}

func (a *App) cleanup(ctx context.Context, onDemand bool) (map[string]any, error) {
	// Last uses still in memory or in the usage journal count: a token
	// used a moment ago is not unused.
	a.Usage.Flush(ctx)
	if err := a.Usage.Fold(ctx); err != nil {
		return nil, fmt.Errorf("apply recent token use before revoking unused tokens: %w", err)
	}
	now := time.Now()
	revoked, err := a.Services.Tokens.RevokeUnused(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("revoke unused tokens: %w", err)
	}
	if revoked > 0 {
		a.Logger.Info("revoked unused tokens", "count", revoked)
	}
	deleted, err := a.Store.DeleteExpiredSessions(ctx, now.Add(-sessionsKept))
	if err != nil {
		return nil, fmt.Errorf("delete ended sessions: %w", err)
	}
	if deleted > 0 {
		a.Logger.Info("deleted ended sessions", "count", deleted)
	}
	forgotten, err := a.Store.DeleteFederationJTIsBefore(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("forget expired federation token ids: %w", err)
	}
	codes, err := a.Store.DeleteExpiredDeviceCodes(ctx, now.Add(-time.Hour))
	if err != nil {
		return nil, fmt.Errorf("delete expired device codes: %w", err)
	}
	fedTokens, err := a.Store.DeleteExpiredFederatedTokens(ctx, now.Add(-fedTokensKept))
	if err != nil {
		return nil, fmt.Errorf("delete federation tokens that expired over %d days ago (deleted %d): %w", int(fedTokensKept.Hours()/24), fedTokens, err)
	}
	if fedTokens > 0 {
		a.Logger.Info("deleted expired federation tokens", "count", fedTokens)
	}
	usageDays := 0
	if last := a.usagePrunedAt.Load(); onDemand || now.Sub(time.Unix(0, last)) >= usagePruneEvery {
		// After the fold above: what it moved to the per-day counts is
		// judged too.
		if usageDays, err = a.Store.DeleteTokenUsageBefore(ctx, store.UsageCutoff(now)); err != nil {
			return nil, fmt.Errorf("delete per-day token usage older than %d days (deleted %d): %w", store.UsageDaysKept, usageDays, err)
		}
		a.usagePrunedAt.Store(now.UnixNano())
	}
	return map[string]any{"revoked_unused_tokens": revoked, "deleted_sessions": deleted,
		"forgotten_federation_jtis": forgotten, "deleted_device_codes": codes, "deleted_federation_tokens": fedTokens,
		"deleted_usage_days": usageDays}, nil
}

// reminders sends the expiry reminders that are due.
func (a *App) reminders(ctx context.Context) (map[string]any, error) {
	res, err := a.Services.Tokens.SendReminders(ctx, time.Now())
	if err != nil {
		return nil, fmt.Errorf("send expiry reminders (sent %d, failed %d): %w", res.Sent, res.Failed, err)
	}
	if res.Sent > 0 {
		a.Logger.Info("sent expiry reminders", "count", res.Sent)
	}
	return map[string]any{"sent": res.Sent, "failed": res.Failed}, nil
}
