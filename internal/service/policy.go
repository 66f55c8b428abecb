package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Policies reads and changes the organisation's token policy. The current
// policy is kept in memory so verification never reads it from the database;
// it is re-read at most every policyTTL to pick up changes made by another
// replica.
type Policies struct {
	store store.Store
	audit *Audit
	now   func() time.Time

	mu     sync.Mutex
	cur    store.Policy
	loaded time.Time
	// version counts changes made through this node, so that readers who
	// keep a snapshot (verification) see a change on the very next request.
	version atomic.Uint64
	// changed is told about every change made here (other replicas).
	changed func()
}

// Version counts the policy changes made through this node. It is one
// atomic load: verification compares it with its snapshot on every request.
func (p *Policies) Version() uint64 { return p.version.Load() }

const policyTTL = 5 * time.Second

// PolicyInput is a full replacement of the policy. Durations are Go duration
// strings or day counts ("90d"); empty means none.
type PolicyInput struct {
	DefaultLifetime string
	MaxLifetime     string
	AllowNoExpiry   bool
	Creation        string
	RevokeUnusedFor string
}

// Creation settings.
const (
	CreationEveryone = "everyone"
	CreationAdmins   = "admins"
)

// Init stores the initial policy when none exists, and applies overrides
// (the flags an operator set explicitly) on top of a stored one.
func (p *Policies) Init(ctx context.Context, initial store.Policy, override func(*store.Policy)) error {
	cur, err := p.store.GetPolicy(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cur = &initial
	case err != nil:
		return fmt.Errorf("load policy: %w", err)
	default:
		if override != nil {
			override(cur)
		}
	}
	if cur.MaxLifetime > 0 && cur.DefaultLifetime > cur.MaxLifetime {
		// --max-token-lifetime 720h alone must work: the default lifetime
		// (180d unless set) then shrinks to the maximum.
		cur.DefaultLifetime = cur.MaxLifetime
	}
	if err := validatePolicy(*cur); err != nil {
		return err
	}
	cur.UpdatedAt = p.now().UTC()
	if err := p.store.PutPolicy(ctx, cur); err != nil {
		return fmt.Errorf("store policy: %w", err)
	}
	p.mu.Lock()
	p.cur, p.loaded = *cur, p.now()
	p.mu.Unlock()
	p.version.Add(1)
	return nil
}

// Current returns the policy in force, from memory when fresh.
func (p *Policies) Current(ctx context.Context) store.Policy {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.now().Sub(p.loaded) < policyTTL {
		return p.cur
	}
	if cur, err := p.store.GetPolicy(ctx); err == nil {
		p.cur = *cur
	}
	p.loaded = p.now()
	return p.cur
}

// Get returns the policy to an admin. Anyone signed in may read it: the
// console and CLI need it to offer valid expirations.
func (p *Policies) Get(ctx context.Context, a Actor) (store.Policy, error) {
	if a.User == nil {
		return store.Policy{}, &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	return p.Current(ctx), nil
}

// Set replaces the policy (admins only).
func (p *Policies) Set(ctx context.Context, a Actor, in PolicyInput) (store.Policy, error) {
	if err := a.requireAdmin(); err != nil {
		return store.Policy{}, err
	}
	next, err := resolvePolicy(in)
	if err != nil {
		return store.Policy{}, err
	}
	next.UpdatedAt = p.now().UTC()
	if err := p.store.PutPolicy(ctx, &next); err != nil {
		return store.Policy{}, fmt.Errorf("store policy: %w", err)
	}
	p.mu.Lock()
	prev := p.cur
	p.cur, p.loaded = next, p.now()
	p.mu.Unlock()
	p.version.Add(1)
	p.announce()
	p.audit.record(ctx, a, "policy.update", "policy", "", map[string]any{
		"before": PolicyView(prev), "after": PolicyView(next),
	})
	return next, nil
}

// resolvePolicy parses and validates a full policy.
func resolvePolicy(in PolicyInput) (store.Policy, error) {
	next := store.Policy{AllowNoExpiry: in.AllowNoExpiry, Creation: in.Creation}
	var err error
	if next.DefaultLifetime, err = optionalDuration("default_lifetime", in.DefaultLifetime); err != nil {
		return store.Policy{}, err
	}
	if next.MaxLifetime, err = optionalDuration("max_lifetime", in.MaxLifetime); err != nil {
		return store.Policy{}, err
	}
	if next.RevokeUnusedFor, err = optionalDuration("revoke_unused_for", in.RevokeUnusedFor); err != nil {
		return store.Policy{}, err
	}
	if next.Creation == "" {
		next.Creation = CreationEveryone
	}
	if err := validatePolicy(next); err != nil {
		return store.Policy{}, err
	}
	return next, nil
}

// PolicyPatch changes some fields of the policy; nil fields keep their
// current value. Strings are as in PolicyInput ("" = none).
type PolicyPatch struct {
	DefaultLifetime *string
	MaxLifetime     *string
	AllowNoExpiry   *bool
	Creation        *string
	RevokeUnusedFor *string
}

// Update applies a patch to the policy in force (admins only): the API's
// PUT takes a full policy, and a client that sends only the fields it means
// to change must not silently reset the others.
func (p *Policies) Update(ctx context.Context, a Actor, in PolicyPatch) (store.Policy, error) {
	if err := a.requireAdmin(); err != nil {
		return store.Policy{}, err
	}
	return p.Set(ctx, a, p.patched(ctx, in))
}

// patched is the full policy input a patch makes of the policy in force.
func (p *Policies) patched(ctx context.Context, in PolicyPatch) PolicyInput {
	cur := p.Current(ctx)
	next := PolicyInput{
		DefaultLifetime: FormatDuration(cur.DefaultLifetime), MaxLifetime: FormatDuration(cur.MaxLifetime),
		AllowNoExpiry: cur.AllowNoExpiry, Creation: cur.Creation, RevokeUnusedFor: FormatDuration(cur.RevokeUnusedFor),
	}
	setIf(&next.DefaultLifetime, in.DefaultLifetime)
	setIf(&next.MaxLifetime, in.MaxLifetime)
	if in.MaxLifetime != nil && in.DefaultLifetime == nil {
		// Lowering only the maximum below the current default lowers the
		// default with it, rather than refusing a change the admin did not ask for.
		if maxLife, err := ParseDuration(next.MaxLifetime); err == nil && maxLife > 0 && maxLife < cur.DefaultLifetime {
			next.DefaultLifetime = FormatDuration(maxLife)
		}
	}
	setIf(&next.AllowNoExpiry, in.AllowNoExpiry)
	setIf(&next.Creation, in.Creation)
	setIf(&next.RevokeUnusedFor, in.RevokeUnusedFor)
	return next
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// PolicyView is the policy as clients see it, durations as strings.
func PolicyView(p store.Policy) map[string]any {
	return map[string]any{
		"default_lifetime":  FormatDuration(p.DefaultLifetime),
		"max_lifetime":      FormatDuration(p.MaxLifetime),
		"allow_no_expiry":   p.AllowNoExpiry,
		"creation":          p.Creation,
		"revoke_unused_for": FormatDuration(p.RevokeUnusedFor),
	}
}

func optionalDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, invalid(field, "%s: %v", field, err)
	}
	if d < 0 {
		return 0, invalid(field, "%s must not be negative; leave it empty for none", field)
	}
	if d > maxLifetime {
		return 0, invalid(field, "%s must be at most 100 years", field)
	}
	return d, nil
}

func validatePolicy(p store.Policy) error {
	switch p.Creation {
	case CreationEveryone, CreationAdmins:
	default:
		return invalid("creation", "creation must be %q or %q, not %q", CreationEveryone, CreationAdmins, p.Creation)
	}
	if p.DefaultLifetime != 0 && p.DefaultLifetime < minLifetime {
		return invalid("default_lifetime", "default_lifetime must be at least 1m")
	}
	if p.MaxLifetime != 0 && p.MaxLifetime < minLifetime {
		return invalid("max_lifetime", "max_lifetime must be at least 1m")
	}
	if p.MaxLifetime > 0 && p.DefaultLifetime > p.MaxLifetime {
		return invalid("default_lifetime", "default_lifetime (%s) exceeds max_lifetime (%s); lower it or raise the maximum", FormatDuration(p.DefaultLifetime), FormatDuration(p.MaxLifetime))
	}
	if p.RevokeUnusedFor != 0 && p.RevokeUnusedFor < 24*time.Hour {
		return invalid("revoke_unused_for", "revoke_unused_for must be at least 1d")
	}
	return nil
}
