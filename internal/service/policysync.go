package service

import "time"

// OnChange registers fn, called after every policy change made through this
// node, so that the change can be announced to the other replicas. Call it
// before serving.
func (p *Policies) OnChange(fn func()) {
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
	p.mu.Unlock()
	p.version.Add(1)
}

func (p *Policies) announce() {
	p.mu.Lock()
	fn := p.changed
	p.mu.Unlock()
	if fn != nil {
		fn()
	}
}
