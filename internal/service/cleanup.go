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
	var stale []string
	for _, state := range []store.TokenState{store.StateActive, store.StateExpiring} {
		cursor := ""
		for {
			page, err := s.store.ListTokens(ctx, store.TokenFilter{State: state, Now: now, Cursor: cursor, Limit: store.MaxPageLimit})
			if err != nil {
				return 0, fmt.Errorf("list tokens: %w", err)
			}
			for _, t := range page {
				if lastActivity(t).Before(cutoff) {
					stale = append(stale, t.ID)
				}
			}
			if len(page) < store.MaxPageLimit {
				break
			}
			cursor = page[len(page)-1].ID
		}
	}
	for _, id := range stale {
		err := s.revoke(ctx, Actor{}, id, "token.revoke", map[string]any{
			"reason": "unused", "unused_for": FormatDuration(p.RevokeUnusedFor),
		})
		if err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}

// lastActivity is when a token was last used, or else issued.
func lastActivity(t *store.Token) time.Time {
	last := t.CreatedAt
	if t.RegeneratedAt != nil && t.RegeneratedAt.After(last) {
		last = *t.RegeneratedAt
	}
	if t.LastUsedAt != nil && t.LastUsedAt.After(last) {
		last = *t.LastUsedAt
	}
	return last
}
