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
	owner    *ownerRef
	deadline int64 // re-read after, Unix nanoseconds
	// prev is set when the digest is the token's previous secret, which
	// works until prevUntil (a regeneration's grace period).
	prev bool
	// firstTaken is set by the one build that fills in first (below).
	firstTaken atomic.Bool
	prevUntil  int64
	// early refuses before the clock checks (revoked); late after them
	// (owner gone or suspended, scopes no longer valid), keeping the order
	// of reasons a client sees the same with and without the cache.
	early, late error
	text        *scopeText // the effective scopes' text forms, shared; nil: made per Principal
	allow       []netip.Prefix
	prepared    atomic.Pointer[prepared]
	cell        atomic.Pointer[cellRef]
	// first is the first prepared Principal, allocated with the entry: a
	// cache full of entries that are each used once or twice (most tokens
	// of a large platform) is what the collector marks on every cycle, so
	// an entry is one object, not three, and holds nothing twice
	// (BenchmarkCacheEntryBytes: 1,026 bytes, 1,218 before). The entry is
	// built with first.p's kind, token or session, owner and effective
	// scopes set, read-only from then on (kind, tok, sess, scopes read
	// them); the one build that sets firstTaken fills in the rest.
	first prepared
}

// The entry's credential, as it was built with.
func (e *entry) kind() token.Kind     { return e.first.p.Kind }    // the kind a presented secret must have
func (e *entry) tok() *store.Token    { return e.first.p.Token }   // nil for a session
func (e *entry) sess() *store.Session { return e.first.p.Session } // nil for a token
func (e *entry) scopes() scope.Set    { return e.first.p.Scopes }  // effective: token scopes ∩ owner's role

// prepared is the Principal an entry hands out, for one set of policy
// lifetime caps (the only policy settings verification depends on).
type prepared struct {
	p     Principal // one allocation with its expiry and identity, not three
	expAt time.Time
	caps  lifeCaps
	exp   int64    // Unix nanoseconds; 0 = never
	id    Identity // p's text forms, which p.Identity returns
}

// principal returns the entry's Principal under the policy's lifetime caps,
// rebuilding it when the policy changed.
func (e *entry) principal(caps lifeCaps) *prepared {
	if pp := e.prepared.Load(); pp != nil && pp.caps == caps {
		return pp
	}
	pp := &e.first
	if !e.firstTaken.CompareAndSwap(false, true) {
		// The policy's caps changed, or a concurrent first build.
		pp = new(prepared)
		pp.p.User, pp.p.Token, pp.p.Kind, pp.p.Scopes = e.first.p.User, e.tok(), e.kind(), e.scopes()
	}
	pp.caps = caps
	t := e.tok()
	maxLife := caps.expiring
	if t.ExpiresAt == nil {
		maxLife = caps.forever
	}
	exp, ok := effectiveExpiry(t, maxLife)
	if e.prev {
		exp, ok = time.Unix(0, e.prevUntil), true
	}
	if ok {
		pp.expAt, pp.exp = exp, exp.UnixNano()
		pp.p.ExpiresAt = &pp.expAt
	}
	pp.id.fill(&pp.p, e.text)
	pp.p.identity.Store(&pp.id)
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
