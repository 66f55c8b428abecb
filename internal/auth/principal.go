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
}

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
