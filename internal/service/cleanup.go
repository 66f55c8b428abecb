package service

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// RevokeUnused revokes every live token that has not been used for the
// policy's RevokeUnusedFor (counting from its creation or regeneration when
// it was never used), and returns how many it revoked. With no such policy
// it does nothing. It runs as a background job, so the audit events name
// no actor.
func (s *Tokens) RevokeUnused(ctx context.Context, now time.Time) (int, error) {
	p := s.policies.Current(ctx)
	if p.RevokeUnusedFor <= 0 {
		return 0, nil
	}
	cutoff := now.Add(-p.RevokeUnusedFor)
	revoked, after := 0, ""
	for {
		// The store judges last activity and returns ids only: a page of
		// tokens read whole per thousand live ones made this hourly job
		// read every live token in full.
		ids, err := s.store.UnusedTokenIDs(ctx, cutoff, now, after, store.MaxPageLimit)
		if err != nil {
			return revoked, fmt.Errorf("list unused tokens: %w", err)
		}
		for _, id := range ids {
			err := s.revoke(ctx, Actor{}, id, "token.revoke", map[string]any{
				"reason": "unused", "unused_for": FormatDuration(p.RevokeUnusedFor),
			})
			if err != nil {
				return revoked, err
			}
			revoked++
		}
		if len(ids) < store.MaxPageLimit {
			return revoked, nil
		}
		after = ids[len(ids)-1]
	}
}
