package auth

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// entry is a prepared verification of one digest: everything that does not
// depend on the clock or the request, computed once from the store's rows.
// It is immutable once built except for its lazily rebuilt Principal and
// usage cell, which are swapped atomically.
type entry struct {
	kind     token.Kind // the kind a presented secret must have
	tok      *store.Token
	sess     *store.Session
	owner    *ownerRef
	deadline int64 // re-read after, Unix nanoseconds
	// prev is set when the digest is the token's previous secret, which
	// works until prevUntil (a regeneration's grace period).
	prev      bool
	prevUntil int64
	// early refuses before the clock checks (revoked); late after them
	// (owner gone or suspended, scopes no longer valid), keeping the order
	// of reasons a client sees the same with and without the cache.
	early, late error
	scopes      scope.Set // effective: token scopes ∩ owner's role
	allow       []netip.Prefix
	prepared    atomic.Pointer[prepared]
	cell        atomic.Pointer[useCell]
}

// prepared is the Principal an entry hands out, for one set of policy
// lifetime caps (the only policy settings verification depends on).
type prepared struct {
	p     Principal // one allocation with its expiry, not three
	expAt time.Time
	caps  lifeCaps
	exp   int64 // Unix nanoseconds; 0 = never
}

// principal returns the entry's Principal under the policy's lifetime caps,
// rebuilding it when the policy changed.
func (e *entry) principal(caps lifeCaps) *prepared {
	if pp := e.prepared.Load(); pp != nil && pp.caps == caps {
		return pp
	}
	pp := &prepared{caps: caps, p: Principal{
		User: e.owner.user, Token: e.tok, Kind: e.kind, Scopes: e.scopes,
	}}
	maxLife := caps.expiring
	if e.tok.ExpiresAt == nil {
		maxLife = caps.forever
	}
	exp, ok := effectiveExpiry(e.tok, maxLife)
	if e.prev {
		exp, ok = time.Unix(0, e.prevUntil), true
	}
	if ok {
		pp.expAt, pp.exp = exp, exp.UnixNano()
		pp.p.ExpiresAt = &pp.expAt
	}
	e.prepared.Store(pp)
	return pp
}

// effectiveExpiry is service.EffectiveExpiry for a maximum lifetime: a
// policy maximum also caps tokens issued before it, counted from issuance.
// ok is false for a token that never expires.
func effectiveExpiry(t *store.Token, maxLife time.Duration) (exp time.Time, ok bool) {
	if maxLife <= 0 {
		if t.ExpiresAt == nil {
			return time.Time{}, false
		}
		return *t.ExpiresAt, true
	}
	issued := t.CreatedAt
	if t.RegeneratedAt != nil {
		issued = *t.RegeneratedAt
	}
	limit := issued.Add(maxLife)
	if t.ExpiresAt == nil || limit.Before(*t.ExpiresAt) {
		return limit, true
	}
	return *t.ExpiresAt, true
}

// allows reports whether the request's address passes the token's allowlist.
func (e *entry) allows(ip string) bool {
	if len(e.allow) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range e.allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parseAllowlist parses stored CIDRs; entries that do not parse allow nothing.
func parseAllowlist(cidrs []string) []netip.Prefix {
	if len(cidrs) == 0 {
		return nil
	}
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if len(out) == 0 {
		// Every entry was unreadable: allow no address rather than any.
		out = append(out, netip.Prefix{})
	}
	return out
}
