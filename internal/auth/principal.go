package auth

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Principal is an authenticated caller. Its fields are not changed once
// it has been handed out: Verifiers share one Principal between requests,
// and Identity is computed from the fields once.
type Principal struct {
	User      *store.User
	Token     *store.Token   // the access token used; nil for a session
	Session   *store.Session // the session used; nil for an access token
	Kind      token.Kind
	Scopes    scope.Set  // effective: token scopes ∩ owner's role
	ExpiresAt *time.Time // when the credential stops working; nil = never

	identity atomic.Pointer[Identity] // built by Identity on first use
	memo     atomic.Value             // see Memo
}

// Memo is where a surface keeps what it derived from this Principal (the
// encoded /api/v1/me answer), so the next request it authenticates from
// the cache derives nothing. Like Identity it lives as long as the
// Principal: a change to the token or its owner drops the prepared token
// and with it the memo. One surface owns it and stores one type in it.
func (p *Principal) Memo() *atomic.Value { return &p.memo }

// CredentialID is the id of the token or session used.
func (p *Principal) CredentialID() string {
	if p.Token != nil {
		return p.Token.ID
	}
	if p.Session != nil {
		return p.Session.ID
	}
	return ""
}

// Federated reports whether the credential is a fed token, issued by
// workload identity federation for one CI run.
func (p *Principal) Federated() bool { return p.Token != nil && p.Token.Kind == store.TokenFederated }

// Allows reports whether the credential may use scope on resource.
func (p *Principal) Allows(scopeName, resource string) bool {
	return p.Scopes.Allows(scopeName, resource)
}

// ExpiresWithin reports whether the credential expires within d of now.
func (p *Principal) ExpiresWithin(now time.Time, d time.Duration) bool {
	return p.ExpiresAt != nil && p.ExpiresAt.Sub(now) <= d
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of the request, if authenticated.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
