package service

import (
	"context"
	"time"
)

// OnChange registers fn, called in the store transaction of every policy
// change made through this node with that transaction's context, so that
// the change is announced to the other replicas with its commit, or not at
// all (a process killed between a commit and an announcement sent after it
// would leave them on the old policy until policyTTL). An error from fn
// fails the change. Call it before serving.
func (p *Policies) OnChange(fn func(ctx context.Context) error) {
	p.mu.Lock()
	p.changed = fn
	p.mu.Unlock()
}

// Reload makes the next read of the policy go to the store: another replica
// changed it (or may have, while this one could not hear). Verification
// sees the new policy on its next request.
func (p *Policies) Reload() {
	p.mu.Lock()
	p.loaded = time.Time{}
	p.reloads++
	p.mu.Unlock()
	p.version.Add(1)
}

func (p *Policies) announce(ctx context.Context) error {
	p.mu.Lock()
	fn := p.changed
	p.mu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(ctx)
}
