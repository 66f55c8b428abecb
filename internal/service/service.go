package service

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
)

// Config carries what the services need from the deployment's configuration.
type Config struct {
	TokenPrefix     string
	SessionDuration time.Duration
	// SSOOnly turns password login off for all but the BreakGlass owners.
	SSOOnly    bool
	BreakGlass []string
	// RoleRules is the role mapping of each configured identity provider,
	// by provider id.
	RoleRules map[string]RoleRules
}

// Services bundles the business services that share one store.
type Services struct {
	Tokens   *Tokens
	Users    *Users
	Sessions *Sessions
	Policies *Policies
	Audit    *Audit
	Jobs     *Jobs
	Catalog  *scope.Catalog
	// Federation is workload identity federation (trust policies, fed tokens).
	Federation *Federation
}

// New builds the services. inval may be nil until a verification cache exists;
// now may be nil for time.Now.
func New(st store.Store, cat *scope.Catalog, cfg Config, inval Invalidator, now func() time.Time, logger *slog.Logger) *Services {
	if now == nil {
		now = time.Now
	}
	if inval == nil {
		inval = noInvalidator{}
	}
	if logger == nil {
		logger = slog.Default()
	}
	inv := &lateInvalidator{next: inval}
	audit := &Audit{store: st, now: now, logger: logger}
	pol := &Policies{store: st, audit: audit, now: now}
	hashes := newHashGate(runtime.GOMAXPROCS(0))
	return &Services{
		Tokens:   &Tokens{store: st, catalog: cat, policies: pol, audit: audit, inval: inv, prefix: cfg.TokenPrefix, now: now},
		Users:    &Users{store: st, audit: audit, inval: inv, cfg: cfg, hashes: hashes, now: now},
		Sessions: &Sessions{store: st, audit: audit, inval: inv, prefix: cfg.TokenPrefix, duration: cfg.SessionDuration, cfg: cfg, hashes: hashes, now: now},
		Policies: pol,
		Audit:    audit,
		Jobs:     &Jobs{audit: audit, now: now},
		Catalog:  cat,
		Federation: &Federation{store: st, catalog: cat, policies: pol, audit: audit, inval: inv,
			prefix: cfg.TokenPrefix, now: now},
	}
}

// SetInvalidator connects the verification cache, which is built after the
// services because it reads the policy through them. Call it before serving.
func (s *Services) SetInvalidator(inv Invalidator) {
	s.Tokens.inval.(*lateInvalidator).next = inv
}

// lateInvalidator forwards to an Invalidator connected after construction.
type lateInvalidator struct{ next Invalidator }

func (l *lateInvalidator) TokenChanged(t *store.Token) { l.next.TokenChanged(t) }
func (l *lateInvalidator) UserChanged(id string)       { l.next.UserChanged(id) }
func (l *lateInvalidator) SessionRevoked(d []byte)     { l.next.SessionRevoked(d) }

// AnnounceTokenChanged forwards to the connected Invalidator when it is a
// TxAnnouncer; so do the other two.
func (l *lateInvalidator) AnnounceTokenChanged(ctx context.Context, t *store.Token) error {
	return announceTokens(ctx, l.next, t)
}

func (l *lateInvalidator) AnnounceUserChanged(ctx context.Context, userID string) error {
	return announceUser(ctx, l.next, userID)
}

func (l *lateInvalidator) AnnounceSessionRevoked(ctx context.Context, digest []byte) error {
	return announceSessions(ctx, l.next, &store.Session{Digest: digest})
}
