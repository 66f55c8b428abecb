package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
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
	// refreshing is set while one caller of Current re-reads the policy;
	// reloads counts Reload calls, so that a read that began before one
	// is not taken for a read after it.
	refreshing bool
	reloads    uint64
	// version counts changes made through this node, so that readers who
	// keep a snapshot (verification) see a change on the very next request.
	version atomic.Uint64
	// changed is told about every change made here, in its transaction
	// (other replicas).
	changed func(ctx context.Context) error
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
	p.reloads++ // a read in flight began before this
	p.mu.Unlock()
	p.version.Add(1)
	return nil
}

// policyReadTimeout bounds a refresh of the policy in memory. Every
// verification asks for the policy; a database that stopped answering
// (a silent partition) must not hold one of them longer than that.
const policyReadTimeout = 2 * time.Second

// Current returns the policy in force, from memory when fresh. When it is
// not, one caller re-reads it, bounded by policyReadTimeout and not by its
// request, without holding the lock: the others go on with the policy
// last read meanwhile, as they do when the read fails.
func (p *Policies) Current(ctx context.Context) store.Policy {
	p.mu.Lock()
	if p.refreshing || p.now().Sub(p.loaded) < policyTTL {
		cur := p.cur
		p.mu.Unlock()
		return cur
	}
	p.refreshing = true
	gen := p.reloads
	p.mu.Unlock()

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), policyReadTimeout)
	cur, err := p.store.GetPolicy(rctx)
	cancel()

	p.mu.Lock()
	defer p.mu.Unlock()
	p.refreshing = false
	if err == nil && gen == p.reloads {
		p.cur = *cur
	}
	if gen == p.reloads {
		// A Reload during the read asked for a read after it: the policy
		// stays due.
		p.loaded = p.now()
	}
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
	if a.Federated {
		cur, err := p.fresh(ctx)
		if err != nil {
			return store.Policy{}, err
		}
		if loose := policyLoosens(cur, next); len(loose) > 0 {
			return store.Policy{}, forbidden("a token issued by workload identity federation cannot loosen the token policy (%s): the looser policy would outlive the CI run and its trust policy; it may still tighten the policy, and a login session or a personal access token with %q may loosen it", strings.Join(loose, ", "), scopeAdminOrg)
		}
	}
	next.UpdatedAt = p.now().UTC()
	p.mu.Lock()
	prev := p.cur
	p.mu.Unlock()
	// The policy and its audit event are stored together or not at all.
	err = p.audit.inTx(ctx, func(ctx context.Context) error {
		if err := p.store.PutPolicy(ctx, &next); err != nil {
			return err
		}
		if err := p.announce(ctx); err != nil {
			return err
		}
		return p.audit.add(ctx, a, "policy.update", "policy", "", map[string]any{
			"before": PolicyView(prev), "after": PolicyView(next),
		})
	})
	if err != nil {
		return store.Policy{}, fmt.Errorf("store policy: %w", err)
	}
	p.mu.Lock()
	p.cur, p.loaded = next, p.now()
	p.reloads++ // a read in flight began before this
	p.mu.Unlock()
	p.version.Add(1)
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

// patched is the full policy input a patch makes of the policy in force,
// read from the store: a patch made on a cached copy could undo a change
// another replica made a moment ago.
func (p *Policies) patched(ctx context.Context, in PolicyPatch) PolicyInput {
	cur, err := p.fresh(ctx)
	if err != nil {
		cur = p.Current(ctx) // the write that follows reports the store's trouble
	}
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

// fresh returns the stored policy, read now rather than from the cache.
func (p *Policies) fresh(ctx context.Context) (store.Policy, error) {
	cur, err := p.store.GetPolicy(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return p.Current(ctx), nil
	}
	if err != nil {
		return store.Policy{}, fmt.Errorf("load policy: %w", err)
	}
	return *cur, nil
}

// unlimited stands for "none" where a zero duration means no limit.
const unlimited = time.Duration(math.MaxInt64)

// policyLoosens names the fields in which next lets tokens be created, or
// live, where cur would refuse or end them:
//
//   - max_lifetime: a longer maximum, or none (0) where there was one;
//   - default_lifetime: a longer lifetime for tokens created without an
//     expiry, as issued (the default, capped by the maximum; with no
//     default, 180 days, or no expiry where the policy allows it and has no
//     maximum);
//   - allow_no_expiry: turned on;
//   - creation: from admins to everyone;
//   - revoke_unused_for: unused tokens kept longer, or for ever (0).
//
// Equal or tighter values loosen nothing.
func policyLoosens(cur, next store.Policy) []string {
	var out []string
	if limit(next.MaxLifetime) > limit(cur.MaxLifetime) {
		out = append(out, "max_lifetime")
	}
	if defaultLifetime(next) > defaultLifetime(cur) {
		out = append(out, "default_lifetime")
	}
	if next.AllowNoExpiry && !cur.AllowNoExpiry {
		out = append(out, "allow_no_expiry")
	}
	if cur.Creation == CreationAdmins && next.Creation != CreationAdmins {
		out = append(out, "creation")
	}
	if limit(next.RevokeUnusedFor) > limit(cur.RevokeUnusedFor) {
		out = append(out, "revoke_unused_for")
	}
	return out
}

func limit(d time.Duration) time.Duration {
	if d <= 0 {
		return unlimited
	}
	return d
}

// defaultLifetime is how long a token created without an expiry lives
// under p, as ExpiresAt issues it; unlimited when it never expires.
func defaultLifetime(p store.Policy) time.Duration {
	d := p.DefaultLifetime
	if d <= 0 {
		if p.AllowNoExpiry && p.MaxLifetime == 0 {
			return unlimited
		}
		d = DefaultLifetime
	}
	if p.MaxLifetime > 0 && d > p.MaxLifetime {
		d = p.MaxLifetime
	}
	return d
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
