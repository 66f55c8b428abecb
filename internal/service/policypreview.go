package service

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// PolicyImpact is what a policy change would do to existing tokens, told
// to the admin before it is saved: lowering the maximum lifetime or
// forbidding "no expiration" reaches existing tokens at use time.
type PolicyImpact struct {
	Policy store.Policy // the policy the change would put in force
	// Affected counts live tokens whose effective expiry would come sooner.
	Affected int
	// ExpiringNow counts those of them that would stop working at once.
	ExpiringNow int
}

// Preview computes a patch's effect without saving it (admins only).
func (p *Policies) Preview(ctx context.Context, a Actor, in PolicyPatch) (PolicyImpact, error) {
	if err := a.requireAdmin(); err != nil {
		return PolicyImpact{}, err
	}
	next, err := resolvePolicy(p.patched(ctx, in))
	if err != nil {
		return PolicyImpact{}, err
	}
	return p.impact(ctx, p.Current(ctx), next)
}

// PreviewInput computes the effect of a full policy (as Set takes it)
// without saving it (admins only).
func (p *Policies) PreviewInput(ctx context.Context, a Actor, in PolicyInput) (PolicyImpact, error) {
	if err := a.requireAdmin(); err != nil {
		return PolicyImpact{}, err
	}
	next, err := resolvePolicy(in)
	if err != nil {
		return PolicyImpact{}, err
	}
	return p.impact(ctx, p.Current(ctx), next)
}

// impact walks every live token once, a page at a time.
func (p *Policies) impact(ctx context.Context, cur, next store.Policy) (PolicyImpact, error) {
	out := PolicyImpact{Policy: next}
	now := p.now().UTC()
	const page = 1000
	cursor := ""
	for {
		ts, err := p.store.ListTokens(ctx, store.TokenFilter{Cursor: cursor, Limit: page})
		if err != nil {
			return PolicyImpact{}, fmt.Errorf("list tokens: %w", err)
		}
		for _, t := range ts {
			if t.RevokedAt != nil || EffectiveState(t, cur, now) == store.StateExpired {
				continue
			}
			before, after := EffectiveExpiry(t, cur), EffectiveExpiry(t, next)
			if !sooner(after, before) {
				continue
			}
			out.Affected++
			if !now.Before(*after) {
				out.ExpiringNow++
			}
		}
		if len(ts) < page {
			return out, nil
		}
		cursor = ts[len(ts)-1].ID
	}
}

// sooner reports whether expiry a comes before b (nil = never).
func sooner(a, b *time.Time) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return a.Before(*b)
}
