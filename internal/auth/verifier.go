package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Verifier turns a presented secret into a Principal. It is the one
// interface every consumer of verification (API, console, gateway, token
// exchange) depends on.
type Verifier interface {
	Verify(ctx context.Context, raw string, req Request) (*Principal, error)
}

// Request is what verification needs to know about the request.
type Request struct {
	IP    string // client address, without port
	Agent string // User-Agent
}

// Source loads what verification needs. The store satisfies it; the
// verification cache wraps it.
type Source interface {
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
	Now             func() time.Time
	Logger          *slog.Logger
}

// Checker is the Verifier: it applies every rule to what a Source returns.
type Checker struct {
	src  Source
	opts Options

	scopeMu  sync.RWMutex
	scopeMem map[string]scope.Set // parsed scope sets, keyed by joined strings

	refreshing sync.Map // session id → struct{}: one refresh write in flight
}

// NewChecker returns a Verifier reading through src.
func NewChecker(src Source, opts Options) *Checker {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Checker{src: src, opts: opts, scopeMem: map[string]scope.Set{}}
}

// Verify checks raw and returns the principal, or an error wrapping
// ErrUnauthenticated that says why.
func (c *Checker) Verify(ctx context.Context, raw string, req Request) (*Principal, error) {
	parsed, err := token.Parse(raw, c.opts.Prefix)
	if err != nil {
		return nil, &Failure{Reason: err.Error()}
	}
	digest := token.Hash(raw)
	now := c.opts.Now()
	if parsed.Kind == token.Session {
		return c.verifySession(ctx, digest[:], now)
	}
	t, err := c.src.GetTokenByDigest(ctx, digest[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if string(parsed.Kind) != string(t.Kind) {
		return nil, errUnknown
	}
	if !token.Equal(t.Digest, digest[:]) {
		// Only the previous secret during a grace period gets here.
		if t.PrevExpiresAt == nil || !now.Before(*t.PrevExpiresAt) || !token.Equal(t.PrevDigest, digest[:]) {
			return nil, errUnknown
		}
	}
	if t.RevokedAt != nil {
		return nil, errRevoked
	}
	exp := service.EffectiveExpiry(t, c.opts.Policy.Current(ctx))
	if t.PrevExpiresAt != nil && !token.Equal(t.Digest, digest[:]) {
		exp = t.PrevExpiresAt
	}
	if exp != nil && !now.Before(*exp) {
		return nil, errExpired
	}
	if len(t.IPAllowlist) > 0 && !ipAllowed(t.IPAllowlist, req.IP) {
		return nil, errIPNotAllowed
	}
	u, err := c.owner(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	set, err := c.scopeSet(t.Scopes)
	if err != nil {
		return nil, err
	}
	if c.opts.Usage != nil {
		c.opts.Usage.Record(t, now, req.IP, req.Agent)
	}
	return &Principal{
		User: u, Token: t, Kind: parsed.Kind, ExpiresAt: exp,
		Scopes: set.Intersect(c.opts.Catalog.ForRole(string(u.Role))),
	}, nil
}

func (c *Checker) owner(ctx context.Context, id string) (*store.User, error) {
	u, err := c.src.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errOwnerGone
	}
	if err != nil {
		return nil, fmt.Errorf("look up token owner: %w", err)
	}
	if u.Suspended {
		return nil, errSuspended
	}
	return u, nil
}

func (c *Checker) verifySession(ctx context.Context, digest []byte, now time.Time) (*Principal, error) {
	s, err := c.src.GetSessionByDigest(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("look up session: %w", err)
	}
	if s.RevokedAt != nil || !now.Before(s.ExpiresAt) {
		return nil, errSessionEnded
	}
	u, err := c.owner(ctx, s.UserID)
	if err != nil {
		return nil, err
	}
	exp := s.ExpiresAt
	if c.opts.SessionRefresh {
		exp = c.refresh(s, now)
	}
	return &Principal{User: u, Session: s, Kind: token.Session, ExpiresAt: &exp,
		Scopes: c.opts.Catalog.ForRole(string(u.Role))}, nil
}

// refreshEvery throttles sliding-refresh writes to one per session per minute.
const refreshEvery = time.Minute

// refresh slides a session's expiry forward. The write happens in the
// background and at most once a minute per session, so verification does
// not wait on it.
func (c *Checker) refresh(s *store.Session, now time.Time) time.Time {
	next := now.Add(c.opts.SessionDuration).Truncate(time.Microsecond)
	if now.Sub(s.LastSeenAt) < refreshEvery || c.opts.Sessions == nil {
		return s.ExpiresAt
	}
	if _, busy := c.refreshing.LoadOrStore(s.ID, struct{}{}); busy {
		return next
	}
	go func() {
		defer c.refreshing.Delete(s.ID)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.opts.Sessions.UpdateSession(ctx, s.ID, func(x *store.Session) error {
			if x.RevokedAt == nil && next.After(x.ExpiresAt) {
				x.ExpiresAt, x.LastSeenAt = next, now.Truncate(time.Microsecond)
			}
			return nil
		})
		if err != nil {
			c.opts.Logger.Warn("refresh session", "session_id", s.ID, "err", err)
		}
	}()
	return next
}

// scopeSet parses a token's stored scopes once and remembers the result.
func (c *Checker) scopeSet(scopes []string) (scope.Set, error) {
	key := strings.Join(scopes, " ")
	c.scopeMu.RLock()
	set, ok := c.scopeMem[key]
	c.scopeMu.RUnlock()
	if ok {
		return set, nil
	}
	set, err := c.opts.Catalog.ParseSet(scopes)
	if err != nil {
		// A scope removed from the catalog since the token was made grants nothing.
		return scope.Set{}, fail("the token's scopes are no longer valid: " + err.Error())
	}
	c.scopeMu.Lock()
	if len(c.scopeMem) > 10000 {
		clear(c.scopeMem)
	}
	c.scopeMem[key] = set
	c.scopeMu.Unlock()
	return set, nil
}

func ipAllowed(allow []string, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, s := range allow {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}
