package auth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Verifier turns a presented secret into a Principal. It is the one
// interface every consumer of verification (API, console, gateway, token
// exchange) depends on.
//
// The Principal returned may be shared between requests (the cache hands
// out one prepared value per token): callers must treat it, and the user,
// token and session it points to, as read-only.
type Verifier interface {
	Verify(ctx context.Context, raw string, req Request) (*Principal, error)
}

// Request is what verification needs to know about the request.
type Request struct {
	IP    string // client address, without port
	Agent string // User-Agent
	// Inspect is set when the token is verified for someone else
	// (introspection): its IP allowlist is then reported, not applied,
	// since IP is not the address of the token's user.
	Inspect bool
}

// Source loads what verification needs. The store satisfies it; a Cache
// wraps it.
type Source interface {
	// GetTokenAndOwnerByDigest reads a token and its live owner (nil when
	// deleted) in one indexed read: the whole of an uncached verification.
	GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error)
	GetTokenByDigest(ctx context.Context, digest []byte) (*store.Token, error)
	GetSessionByDigest(ctx context.Context, digest []byte) (*store.Session, error)
	GetUser(ctx context.Context, id string) (*store.User, error)
}

// PolicySource gives the policy in force, from memory.
type PolicySource interface {
	Current(ctx context.Context) store.Policy
}

// SessionStore writes sliding-refresh extensions of sessions.
type SessionStore interface {
	UpdateSession(ctx context.Context, id string, fn func(*store.Session) error) (*store.Session, error)
}

// Options configure a Checker.
type Options struct {
	Prefix          string
	Catalog         *scope.Catalog
	Policy          PolicySource
	Sessions        SessionStore
	SessionDuration time.Duration
	SessionRefresh  bool // slide a session's expiry forward on use
	Usage           *Usage
	// Now is the clock; nil reads the system clock (cheaply: one
	// monotonic read per request, re-synchronised with the wall clock
	// every 100ms).
	Now    func() time.Time
	Logger *slog.Logger
}

// Checker is the Verifier: it applies every rule to what a Source returns.
// Built on a *Cache, it keeps prepared verifications there and a cached
// request neither touches the database nor allocates.
type Checker struct {
	src   Source
	cache *Cache // nil: every request reads the Source
	opts  Options
	clock *wallClock // when opts.Now is nil
	// policy is the policy setting verification depends on, as last read.
	policy atomic.Pointer[policySnapshot]

	scopeMu  sync.RWMutex
	scopeMem map[string]scopeMemo // effective sets, keyed by role and scopes
	roleMem  map[string]scope.Set // what each role may hold

	refreshing sync.Map // session id → struct{}: one refresh write in flight
}

// NewChecker returns a Verifier reading through src. When src is a *Cache,
// verifications are cached in it.
func NewChecker(src Source, opts Options) *Checker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Catalog == nil {
		opts.Catalog = scope.DefaultCatalog()
	}
	c := &Checker{src: src, opts: opts, scopeMem: map[string]scopeMemo{}, roleMem: map[string]scope.Set{}}
	if opts.Now == nil {
		c.clock = newWallClock()
	}
	if cache, ok := src.(*Cache); ok {
		c.cache = cache
	}
	return c
}

// Verify checks raw and returns the principal, or an error wrapping
// ErrUnauthenticated that says why. Malformed secrets (prefix, kind,
// length, checksum) are refused before any lookup; expiry and grace
// periods are checked against the clock on every request.
func (c *Checker) Verify(ctx context.Context, raw string, req Request) (*Principal, error) {
	parsed, err := token.Parse(raw, c.opts.Prefix)
	if err != nil {
		return nil, &Failure{Reason: err.Error()}
	}
	digest := token.Hash(raw)
	nowNano := c.nowNano()
	e, err := c.entry(ctx, digest, parsed.Kind, nowNano)
	if err != nil {
		return nil, err
	}
	if e.kind() != parsed.Kind {
		return nil, errUnknown
	}
	if e.sess() != nil {
		return c.checkSession(e, time.Unix(0, nowNano), req)
	}
	return c.checkToken(ctx, e, nowNano, req)
}

func (c *Checker) nowNano() int64 {
	if c.clock != nil {
		return c.clock.nowNano()
	}
	return c.opts.Now().UnixNano()
}

// entry returns the prepared verification of digest: from the cache, or
// built from the store (and cached when there is a cache).
func (c *Checker) entry(ctx context.Context, d token.Digest, kind token.Kind, nowNano int64) (*entry, error) {
	if c.cache == nil {
		return c.load(ctx, d, kind, nowNano, 0)
	}
	if e := c.cache.lookup(d, nowNano); e != nil {
		return e, nil
	}
	if c.cache.unknown(d, nowNano) {
		return nil, errUnknown
	}
	gen := c.cache.gen.Load()
	e, err := c.load(ctx, d, kind, nowNano, gen)
	switch {
	case err == errUnknown:
		c.cache.storeUnknown(d, nowNano, gen)
		return nil, err
	case err != nil:
		return nil, err
	}
	c.cache.store(d, e, gen)
	return e, nil
}

// checkToken applies the per-request rules to a prepared token.
func (c *Checker) checkToken(ctx context.Context, e *entry, nowNano int64, req Request) (*Principal, error) {
	if e.prev && nowNano >= e.prevUntil {
		return nil, errUnknown // the previous secret's grace period is over
	}
	if e.early != nil {
		return nil, e.early
	}
	pp := e.principal(c.maxLifetime(ctx, nowNano))
	if pp.exp != 0 && nowNano >= pp.exp {
		return nil, errExpired
	}
	if !req.Inspect && !e.allows(req.IP) {
		return nil, errIPNotAllowed
	}
	if e.late != nil {
		return nil, e.late
	}
	c.record(e, nowNano, req)
	return &pp.p, nil
}

// policyEvery is how often verification re-reads the policy: reading it
// takes a lock and a clock read, too much for every request.
const policyEvery = int64(100 * time.Millisecond)

// lifetimes are the policy's caps on token lifetimes, re-read from the
// policy source at most every policyEvery.
func (c *Checker) maxLifetime(ctx context.Context, nowNano int64) lifeCaps {
	if c.opts.Policy == nil {
		return lifeCaps{}
	}
	var version uint64
	if v, ok := c.opts.Policy.(policyVersion); ok {
		version = v.Version()
	}
	if s := c.policy.Load(); s != nil && s.version == version && nowNano >= s.at && nowNano < s.at+policyEvery {
		return s.caps
	}
	s := &policySnapshot{at: nowNano, version: version, caps: capsOf(c.opts.Policy.Current(ctx))}
	c.policy.Store(s)
	return s.caps
}

// lifeCaps are the policy settings verification depends on: the longest
// a token may live, counted from its issuance (0 = no cap), for tokens
// issued with an expiry and for tokens issued without one.
type lifeCaps struct {
	expiring, forever time.Duration
}

// defaultLifetime is the lifetime the policy falls back to when it names
// none (service.DefaultLifetime).
const defaultLifetime = 180 * 24 * time.Hour

// capsOf is service.LifetimeCap for both kinds of token: a policy that
// forbids "no expiration" caps tokens issued without one by the maximum
// lifetime or, if none, the default lifetime.
func capsOf(p store.Policy) lifeCaps {
	c := lifeCaps{expiring: p.MaxLifetime, forever: p.MaxLifetime}
	if c.forever <= 0 && !p.AllowNoExpiry {
		c.forever = p.DefaultLifetime
		if c.forever <= 0 {
			c.forever = defaultLifetime
		}
	}
	return c
}

// policyVersion is a PolicySource that counts the changes made through this
// node (service.Policies does), so that lowering the maximum lifetime caps
// tokens from the very next request here, not up to policyEvery later.
type policyVersion interface{ Version() uint64 }

type policySnapshot struct {
	at      int64
	version uint64
	caps    lifeCaps
}

// record counts the use in the entry's usage cell, fetching the cell from
// Usage when the entry has none yet (or it went idle and was dropped, or
// collected after that).
func (c *Checker) record(e *entry, nowNano int64, req Request) {
	u := c.opts.Usage
	if u == nil {
		return
	}
	var cell *useCell
	if r := e.cell.Load(); r != nil {
		cell = r.p.Value() // nil once collected
	}
	if cell == nil || cell.detached.Load() {
		if cell = u.cell(e.tok()); cell == nil {
			return
		}
		e.cell.Store(cell.ref)
	}
	cell.hit(u, nowNano, req.IP, req.Agent)
}

// Known reports whether raw's verification is in the cache, so verifying
// it costs no database read. The edge lets such credentials through even
// from an address that used up its failures: a valid, recently used token
// or session is never locked out by a flood from the same address.
func (c *Checker) Known(raw string) bool {
	if c.cache == nil {
		return false
	}
	return c.cache.lookup(token.Hash(raw), c.nowNano()) != nil
}
