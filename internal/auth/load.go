package auth

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// load builds the prepared verification of digest from the store. It
// returns errUnknown when no token or session has the digest. gen is the
// cache's invalidation count read before the first store read (0 without
// a cache).
func (c *Checker) load(ctx context.Context, d token.Digest, kind token.Kind, nowNano int64, gen uint64) (*entry, error) {
	if kind == token.Session {
		s, err := c.src.GetSessionByDigest(ctx, d[:])
		if errors.Is(err, store.ErrNotFound) {
			return nil, errUnknown
		}
		if err != nil {
			return nil, fmt.Errorf("look up session: %w", err)
		}
		return c.sessionEntry(ctx, s, nowNano, gen)
	}
	// One indexed read brings the token and its owner, so a verification
	// without the cache is one query.
	t, u, err := c.src.GetTokenAndOwnerByDigest(ctx, d[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	return c.tokenEntry(ctx, t, u, d, nowNano, gen)
}

// tokenEntry prepares the verification of token t, whose owner u (nil when
// deleted) was read with it.
func (c *Checker) tokenEntry(ctx context.Context, t *store.Token, u *store.User, d token.Digest, nowNano int64, gen uint64) (*entry, error) {
	e := &entry{owner: noOwner, allow: parseAllowlist(t.IPAllowlist)}
	e.first.p.Kind, e.first.p.Token = token.Kind(t.Kind), t
	if !token.Equal(t.Digest, d[:]) {
		// Only the previous secret during a grace period gets here.
		if t.PrevExpiresAt == nil || !token.Equal(t.PrevDigest, d[:]) {
			return nil, errUnknown
		}
		e.prev, e.prevUntil = true, t.PrevExpiresAt.UnixNano()
	}
	if t.RevokedAt != nil {
		e.early = errRevoked
		e.deadline = c.deadline(nowNano, e.owner)
		return e, nil
	}
	owner := c.readOwner(t.UserID, u, nowNano, gen)
	e.owner, e.late = owner, ownerRefusal(owner)
	e.first.p.User = owner.user
	if e.late == nil {
		m, err := c.effective(t.Scopes, string(owner.user.Role))
		if err != nil {
			// A scope removed from the catalog since the token was made grants nothing.
			e.late = fail("the token's scopes are no longer valid: " + err.Error())
		}
		e.first.p.Scopes, e.text = m.set, m.text
		// Rows of a cache share what they have in common, so an entry
		// costs little more than the row's own strings.
		t.Scopes, t.UserID = m.scopes, owner.user.ID
	}
	t.Kind = internKind(t.Kind)
	e.deadline = c.deadline(nowNano, e.owner)
	return e, nil
}

func (c *Checker) sessionEntry(ctx context.Context, s *store.Session, nowNano int64, gen uint64) (*entry, error) {
	e := &entry{owner: noOwner}
	e.first.p.Kind, e.first.p.Session = token.Session, s
	if s.RevokedAt != nil {
		e.early = errSessionEnded
		e.deadline = c.deadline(nowNano, e.owner)
		return e, nil
	}
	owner, err := c.owner(ctx, s.UserID, nowNano, gen)
	if err != nil {
		return nil, err
	}
	e.owner, e.late = owner, ownerRefusal(owner)
	e.first.p.User = owner.user
	if e.late == nil {
		e.first.p.Scopes = c.forRole(string(owner.user.Role))
	}
	e.deadline = c.deadline(nowNano, e.owner)
	return e, nil
}

// deadline is when an entry built now must be re-read: after the cache's
// TTL, and no later than its owner's snapshot.
func (c *Checker) deadline(nowNano int64, owner *ownerRef) int64 {
	if c.cache == nil {
		return math.MaxInt64
	}
	return min(nowNano+int64(c.cache.cfg.TTL), owner.deadline)
}

// owner returns a snapshot of the user: the cache's shared one when live,
// else read from the store.
func (c *Checker) owner(ctx context.Context, id string, nowNano int64, gen uint64) (*ownerRef, error) {
	if c.cache != nil {
		if r := c.cache.owners.get(id, nowNano); r != nil {
			return r, nil
		}
	}
	u, err := c.src.GetUser(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("look up token owner: %w", err)
	}
	r := &ownerRef{user: u, deadline: math.MaxInt64}
	if err != nil {
		r.user = nil
	}
	if c.cache == nil {
		return r, nil
	}
	r.deadline = nowNano + int64(c.cache.cfg.TTL)
	return c.cache.storeOwner(id, r, nowNano, gen), nil
}

// readOwner is owner for a user already read with the token (nil:
// deleted): the cache's shared snapshot when live, else u.
func (c *Checker) readOwner(id string, u *store.User, nowNano int64, gen uint64) *ownerRef {
	if c.cache == nil {
		return &ownerRef{user: u, deadline: math.MaxInt64}
	}
	if r := c.cache.owners.get(id, nowNano); r != nil {
		return r
	}
	r := &ownerRef{user: u, deadline: nowNano + int64(c.cache.cfg.TTL)}
	return c.cache.storeOwner(id, r, nowNano, gen)
}

func ownerRefusal(r *ownerRef) error {
	switch {
	case r.user == nil:
		return errOwnerGone
	case r.user.Suspended:
		return errSuspended
	}
	return nil
}

// scopeMemo is a parsed, role-capped scope set and the stored scope
// strings it came from, shared by every token with the same scopes.
type scopeMemo struct {
	set    scope.Set
	scopes []string
	text   *scopeText // set's text forms, for the entries' identities
}

// effective returns the token's scopes intersected with what the role may
// hold, parsed and intersected once per distinct (role, scopes) pair.
func (c *Checker) effective(scopes []string, role string) (scopeMemo, error) {
	// The key is built on the stack: a lookup that finds it allocates nothing.
	var buf [128]byte
	key := append(buf[:0], role...)
	key = append(key, 0)
	for i, s := range scopes {
		if i > 0 {
			key = append(key, ' ')
		}
		key = append(key, s...)
	}
	c.scopeMu.RLock()
	m, ok := c.scopeMem[string(key)]
	c.scopeMu.RUnlock()
	if ok {
		return m, nil
	}
	parsed, err := c.opts.Catalog.ParseSet(scopes)
	if err != nil {
		return scopeMemo{scopes: scopes}, err
	}
	m = scopeMemo{set: parsed.Intersect(c.forRole(role)), scopes: scopes}
	m.text = newScopeText(m.set)
	c.scopeMu.Lock()
	if len(c.scopeMem) > 10_000 {
		clear(c.scopeMem)
	}
	c.scopeMem[string(key)] = m
	c.scopeMu.Unlock()
	return m, nil
}

// internKind returns the constant of a stored kind, so cached rows do not
// each hold a copy of the same three bytes.
func internKind(k store.TokenKind) store.TokenKind {
	switch k {
	case store.TokenPersonal:
		return store.TokenPersonal
	case store.TokenAdmin:
		return store.TokenAdmin
	}
	return k
}

// forRole is Catalog.ForRole, remembered per role (the catalog is fixed).
func (c *Checker) forRole(role string) scope.Set {
	c.scopeMu.RLock()
	set, ok := c.roleMem[role]
	c.scopeMu.RUnlock()
	if ok {
		return set
	}
	set = c.opts.Catalog.ForRole(role)
	c.scopeMu.Lock()
	c.roleMem[role] = set
	c.scopeMu.Unlock()
	return set
}
