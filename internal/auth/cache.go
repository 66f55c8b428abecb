package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// CacheConfig bounds the verification cache.
type CacheConfig struct {
	// Size is the most prepared verifications kept (tokens and sessions).
	Size int
	// TTL bounds how stale a cached verification may be when a change was
	// made on another replica (changes made on this node invalidate at once).
	TTL time.Duration
	// NegativeTTL is how long a digest found in no token or session is
	// answered as unknown without asking the store.
	NegativeTTL time.Duration
}

// Cache keeps fully prepared verifications keyed by the SHA-256 digest of
// the presented secret: the token or session row, its parsed effective
// scopes, its owner and a ready Principal, so that a cached request is one
// lookup plus the clock checks. It also remembers digests found in nothing
// for NegativeTTL, so that a flood of well-formed but unknown tokens does
// not reach the database.
//
// Cache is a Source: reads through it go to the store it wraps. A Checker
// built on a Cache keeps its prepared entries there. Cache is the
// service.Invalidator of this node: every change that verification must
// see drops the affected entries at once. Owners are shared by all entries
// of a user, so a change to a user is one O(1) invalidation however many of
// the user's tokens are cached.
type Cache struct {
	src      Source
	cfg      CacheConfig
	entries  *otter.Cache[token.Digest, *entry]
	negative *otter.Cache[token.Digest, int64] // value: valid until, Unix nanoseconds
	owners   owners
	// gen counts invalidations. A miss remembers it before reading the
	// store and caches what it read only if no invalidation happened
	// meanwhile, so a read racing a revocation never re-caches the old row.
	gen atomic.Uint64
}

// NewCache returns a verification cache over src. Size must be positive.
func NewCache(src Source, cfg CacheConfig) *Cache {
	if cfg.Size <= 0 {
		cfg.Size = 1
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 2 * time.Second
	}
	c := &Cache{src: src, cfg: cfg}
	// Entries carry their own deadline (checked against the clock the
	// request already read): otter's expiry policy would read the clock
	// again and roughly quadruple the cost of a lookup.
	c.entries = otter.Must(&otter.Options[token.Digest, *entry]{MaximumSize: cfg.Size})
	c.negative = otter.Must(&otter.Options[token.Digest, int64]{MaximumSize: max(cfg.Size/4, 1024)})
	c.owners.init(cfg.Size)
	return c
}

// GetTokenAndOwnerByDigest reads through to the store.
func (c *Cache) GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	return c.src.GetTokenAndOwnerByDigest(ctx, digest)
}

// GetTokenByDigest reads through to the store.
func (c *Cache) GetTokenByDigest(ctx context.Context, digest []byte) (*store.Token, error) {
	return c.src.GetTokenByDigest(ctx, digest)
}

// GetSessionByDigest reads through to the store.
func (c *Cache) GetSessionByDigest(ctx context.Context, digest []byte) (*store.Session, error) {
	return c.src.GetSessionByDigest(ctx, digest)
}

// GetUser reads through to the store.
func (c *Cache) GetUser(ctx context.Context, id string) (*store.User, error) {
	return c.src.GetUser(ctx, id)
}

// TokenChanged drops the cached verifications of both of t's digests.
func (c *Cache) TokenChanged(t *store.Token) {
	if t == nil {
		return
	}
	c.gen.Add(1)
	for _, d := range [][]byte{t.Digest, t.PrevDigest} {
		if len(d) == len(token.Digest{}) {
			key := token.Digest(d)
			c.entries.Invalidate(key)
			c.negative.Invalidate(key)
		}
	}
}

// UserChanged marks the user's cached snapshot stale, which invalidates
// every cached verification of the user's tokens and sessions.
func (c *Cache) UserChanged(userID string) {
	c.gen.Add(1)
	c.owners.invalidate(userID)
}

// SessionRevoked drops a cached session.
func (c *Cache) SessionRevoked(digest []byte) {
	c.gen.Add(1)
	if len(digest) == len(token.Digest{}) {
		c.entries.Invalidate(token.Digest(digest))
	}
}

// Len is the number of cached verifications, after pending evictions ran.
func (c *Cache) Len() int {
	c.entries.CleanUp()
	return c.entries.EstimatedSize()
}

// lookup returns the live entry for d, or nil.
func (c *Cache) lookup(d token.Digest, nowNano int64) *entry {
	e, ok := c.entries.GetIfPresent(d)
	if !ok || nowNano >= e.deadline || e.owner.stale.Load() {
		return nil
	}
	return e
}

// unknown reports whether d was recently found in nothing.
func (c *Cache) unknown(d token.Digest, nowNano int64) bool {
	until, ok := c.negative.GetIfPresent(d)
	return ok && nowNano < until
}

// store caches e unless an invalidation happened since gen was read.
func (c *Cache) store(d token.Digest, e *entry, gen uint64) {
	if c.gen.Load() != gen {
		return
	}
	c.entries.Set(d, e)
	if c.gen.Load() != gen {
		// An invalidation ran between the check and the write: it may have
		// missed the entry, so drop it here.
		c.entries.Invalidate(d)
	}
}

// storeOwner indexes a freshly read snapshot unless an invalidation
// happened since gen was read; the returned snapshot is the one to use.
func (c *Cache) storeOwner(id string, r *ownerRef, nowNano int64, gen uint64) *ownerRef {
	if c.gen.Load() != gen {
		return r
	}
	r = c.owners.put(id, r, nowNano)
	if c.gen.Load() != gen {
		c.owners.invalidate(id)
	}
	return r
}

// storeUnknown remembers that d is in no token or session.
func (c *Cache) storeUnknown(d token.Digest, nowNano int64, gen uint64) {
	if c.gen.Load() != gen {
		return
	}
	c.negative.Set(d, nowNano+int64(c.cfg.NegativeTTL))
}

// ownerRef is one snapshot of a user, shared by every cached entry of the
// user's credentials. Marking it stale invalidates all of them at once.
type ownerRef struct {
	user     *store.User // nil: the user does not exist (or was deleted)
	deadline int64       // re-read after, Unix nanoseconds
	stale    atomic.Bool
}

// noOwner is the owner of entries built without a cache: never stale.
var noOwner = &ownerRef{}

// owners indexes the live snapshots by user id.
type owners struct {
	mu  sync.Mutex
	m   map[string]*ownerRef
	max int
}

func (o *owners) init(max int) {
	o.m = map[string]*ownerRef{}
	o.max = max
}

// get returns the user's snapshot if it is live at nowNano.
func (o *owners) get(id string, nowNano int64) *ownerRef {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.m[id]
	if !ok || nowNano >= r.deadline || r.stale.Load() {
		return nil
	}
	return r
}

// put indexes r for id and returns the snapshot to use: a live one
// already indexed wins, so entries of one user share one snapshot.
func (o *owners) put(id string, r *ownerRef, nowNano int64) *ownerRef {
	o.mu.Lock()
	defer o.mu.Unlock()
	if old, ok := o.m[id]; ok && nowNano < old.deadline && !old.stale.Load() {
		return old
	} else if !ok && len(o.m) >= o.max {
		// Over the bound: forget every snapshot (rare; entries re-read
		// their owner on their next use).
		for _, x := range o.m {
			x.stale.Store(true)
		}
		clear(o.m)
	}
	o.m[id] = r
	return r
}

func (o *owners) invalidate(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r, ok := o.m[id]; ok {
		r.stale.Store(true)
		delete(o.m, id)
	}
}
