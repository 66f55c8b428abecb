package service

import (
	"context"
	"slices"

	"github.com/latchkey/latchkey/internal/store"
)

// ExpiringSummary is what the console's banner says: how many of the
// actor's tokens expire within store.ExpiringWindow, and the soonest ones.
type ExpiringSummary struct {
	Count   int
	Soonest []*store.Token // sorted by effective expiry, soonest first
}

// Expiring counts every one of the actor's own expiring tokens (effective
// expiry, policy caps included) and returns the soonest n of them.
func (s *Tokens) Expiring(ctx context.Context, a Actor, n int) (ExpiringSummary, error) {
	var all []*store.Token
	q := TokenQuery{State: string(store.StateExpiring), Limit: 500}
	for {
		ts, next, err := s.List(ctx, a, q)
		if err != nil {
			return ExpiringSummary{}, err
		}
		all = append(all, ts...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	p := s.policies.Current(ctx)
	slices.SortStableFunc(all, func(x, y *store.Token) int {
		ex, ey := EffectiveExpiry(x, p), EffectiveExpiry(y, p)
		return ex.Compare(*ey) // expiring tokens always have an expiry
	})
	return ExpiringSummary{Count: len(all), Soonest: all[:min(n, len(all))]}, nil
}
