package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// clock is a settable time source shared by the services and the verifier.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingSource counts the reads verification makes of the real store, so
// tests can tell a cached answer from one read from the database.
type countingSource struct {
	*sqlite.Store
	reads atomic.Int64
	// afterTokenRead, when set, runs once after a token row was read and
	// before verification goes on: it stands for a change racing the read.
	afterTokenRead func()
}

func (s *countingSource) GetTokenByDigest(ctx context.Context, d []byte) (*store.Token, error) {
	s.reads.Add(1)
	t, err := s.Store.GetTokenByDigest(ctx, d)
	if f := s.afterTokenRead; f != nil {
		s.afterTokenRead = nil
		f()
	}
	return t, err
}

func (s *countingSource) GetTokenAndOwnerByDigest(ctx context.Context, d []byte) (*store.Token, *store.User, error) {
	s.reads.Add(1)
	t, u, err := s.Store.GetTokenAndOwnerByDigest(ctx, d)
	if f := s.afterTokenRead; f != nil {
		s.afterTokenRead = nil
		f()
	}
	return t, u, err
}

func (s *countingSource) GetSessionByDigest(ctx context.Context, d []byte) (*store.Session, error) {
	s.reads.Add(1)
	return s.Store.GetSessionByDigest(ctx, d)
}

func (s *countingSource) GetUser(ctx context.Context, id string) (*store.User, error) {
	s.reads.Add(1)
	return s.Store.GetUser(ctx, id)
}

// fixture is a real SQLite store, the real services and a verifier, with
// the cache (cached) or without it.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlite.Store
	src    *countingSource
	svc    *service.Services
	cat    *scope.Catalog
	clock  *clock
	cache  *auth.Cache
	usage  *auth.Usage
	v      *auth.Checker
	admin  service.Actor
	member service.Actor
}

const (
	cacheTTL    = time.Minute
	negativeTTL = 2 * time.Second
)

func newFixture(t *testing.T, cached bool) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, ctx: ctx, st: st, src: &countingSource{Store: st}, cat: scope.DefaultCatalog(),
		clock: &clock{now: time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.svc = service.New(st, f.cat, service.Config{TokenPrefix: "lk", SessionDuration: 24 * time.Hour}, nil, f.clock.Now, logger)
	if err := f.svc.Policies.Init(ctx, store.Policy{DefaultLifetime: 30 * 24 * time.Hour, AllowNoExpiry: true, Creation: "everyone"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Users.Bootstrap(ctx, "admin", "correct-horse-battery"); err != nil {
		t.Fatal(err)
	}
	admin, err := st.GetUserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	f.admin = service.Actor{User: admin, Scopes: f.cat.ForRole("owner"), Session: true} // a console sign-in: it may create people with passwords
	f.member = f.user("mia", store.RoleMember)
	var src auth.Source = f.src
	if cached {
		f.cache = auth.NewCache(f.src, auth.CacheConfig{Size: 1000, TTL: cacheTTL, NegativeTTL: negativeTTL})
		f.svc.SetInvalidator(f.cache)
		src = f.cache
	}
	f.usage = auth.NewUsage(st, time.Hour, logger)
	f.v = auth.NewChecker(src, auth.Options{
		Prefix: "lk", Catalog: f.cat, Policy: f.svc.Policies, Sessions: st,
		SessionDuration: 24 * time.Hour, SessionRefresh: true, Usage: f.usage, Now: f.clock.Now, Logger: logger,
	})
	return f
}

// user creates a user and returns them as an actor holding their role.
func (f *fixture) user(name string, role store.Role) service.Actor {
	f.t.Helper()
	u, err := f.svc.Users.Create(f.ctx, f.admin, service.CreateUserInput{Username: name, Password: "a-long-enough-password", Role: role})
	if err != nil {
		f.t.Fatal(err)
	}
	return service.Actor{User: u, Scopes: f.cat.ForRole(string(role))}
}

func (f *fixture) create(a service.Actor, name string, scopes ...string) *service.IssuedToken {
	f.t.Helper()
	it, err := f.svc.Tokens.Create(f.ctx, a, service.CreateTokenInput{Name: name, Scopes: scopes, Expiry: service.Expiry{ExpiresIn: "720h"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return it
}

func (f *fixture) verify(secret string) (*auth.Principal, error) {
	return f.v.Verify(f.ctx, secret, auth.Request{IP: "192.0.2.7", Agent: "test/1"})
}

// mustVerify verifies secret twice, so that a cached verifier answers the
// second time from its cache.
func (f *fixture) mustVerify(secret string) *auth.Principal {
	f.t.Helper()
	for range 2 {
		if _, err := f.verify(secret); err != nil {
			f.t.Fatalf("verify: %v", err)
		}
	}
	p, err := f.verify(secret)
	if err != nil {
		f.t.Fatalf("verify: %v", err)
	}
	return p
}

// refused asserts that secret is refused with the given reason.
func (f *fixture) refused(secret, reason string) {
	f.t.Helper()
	p, err := f.verify(secret)
	if err == nil {
		f.t.Fatalf("verify succeeded for %s, want refusal %q", p.CredentialID(), reason)
	}
	var fl *auth.Failure
	if !errors.As(err, &fl) || !errors.Is(err, auth.ErrUnauthenticated) {
		f.t.Fatalf("error %v is not an authentication failure", err)
	}
	if fl.Reason != reason {
		f.t.Fatalf("refused with %q, want %q", fl.Reason, reason)
	}
}

// Reasons, as clients see them.
const (
	reasonUnknown   = "token is not valid: it may have been mistyped, regenerated or deleted"
	reasonRevoked   = "token has been revoked; create a new one"
	reasonExpired   = "token has expired; create a new one (an expired token cannot be regenerated)"
	reasonOwnerGone = "the token's owner no longer exists"
	reasonSuspended = "the token's owner is suspended"
	reasonEnded     = "session has ended; log in again"
	reasonIP        = "token may not be used from this IP address"
)

func forEachMode(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Run("cached", func(t *testing.T) { fn(t, newFixture(t, true)) })
	t.Run("uncached", func(t *testing.T) { fn(t, newFixture(t, false)) })
}
