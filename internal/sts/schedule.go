package sts

import (
	"context"
	"log/slog"
	"time"
)

// checkEvery is how often the schedule looks at the keys: often enough that
// a rotation happens close to its due time, rarely enough to cost nothing.
func checkEvery(interval time.Duration) time.Duration {
	return min(max(interval/10, 10*time.Second), time.Hour)
}

// RunSchedule rotates the signing key every interval (0 = never; rotation
// is then only manual) and prunes retired keys, until ctx ends. Every
// replica runs it: each first re-reads the keys, so a rotation made by one
// is seen by the others, and if two rotate at once the newer key simply
// signs and the other is retired and published until pruned.
func (k *Keyring) RunSchedule(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	tick := time.NewTicker(checkEvery(max(interval, time.Minute)))
	defer tick.Stop()
	for {
		k.scheduledRun(ctx, interval, logger)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (k *Keyring) scheduledRun(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	if interval > 0 {
		sk, err := k.RotateIfDue(ctx, interval)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("rotate JWT signing key", "err", err)
		case sk != nil:
			logger.Info("rotated JWT signing key", "kid", sk.ID, "algorithm", sk.Algorithm)
		}
	}
	gone, err := k.Prune(ctx)
	if err != nil && ctx.Err() == nil {
		logger.Error("prune retired JWT signing keys", "err", err)
	}
	for _, kid := range gone {
		logger.Info("removed retired JWT signing key from the JWKS", "kid", kid)
	}
}
