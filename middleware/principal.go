package middleware

import (
	"context"
	"slices"
	"time"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	// Subject is the Latchkey user id.
	Subject string `json:"subject"`
	// Username is the Latchkey user name.
	Username string `json:"username"`
	// Scopes are the grants the credential carries, as Latchkey writes them:
	// "repo", "repo:read=acme/*", "*" (super admin). Check them with Allows.
	Scopes []string `json:"scopes"`
	// TokenID is the id of the Latchkey token the credential is, or was
	// exchanged from.
	TokenID string `json:"token_id"`
	// Kind is that token's kind: "pat" (personal), "adm" (admin access
	// token of a service account) or "fed" (issued to a CI job or workload
	// by workload identity federation).
	Kind string `json:"kind"`
	// ExpiresAt is when the credential stops working; zero means never (a
	// personal access token without expiry).
	ExpiresAt time.Time `json:"expires_at"`
	// Audience lists the JWT's audiences; nil for a token checked by
	// introspection, which has none.
	Audience []string `json:"audience,omitempty"`
	// IPAllowlist lists the addresses (CIDRs) the token may be used from,
	// as introspection reports it; the middleware refuses requests whose
	// client address (Options.ClientIP) is outside it. Empty: any address.
	IPAllowlist []string `json:"ip_allowlist,omitempty"`
	// Exchanged is true for an exchanged JWT verified offline, false for a
	// token verified by introspection.
	Exchanged bool `json:"exchanged"`
	// Raw is the credential as presented, to forward to a service that
	// accepts it too. Never log it; it is left out of JSON.
	Raw string `json:"-"`

	grants *grants // parsed Scopes
	realm  string  // of the middleware that authenticated it, for challenges
}

// Allows reports whether the principal may use scope on resource, with
// Latchkey's semantics: "repo=acme/*" allows ("repo:read", "acme/web")
// because repo implies repo:read, but not ("repo", "acme/web/wiki") since
// "*" does not cross "/"; "*" allows everything. An empty resource means
// the check names no resource: holding the scope on some resources is then
// enough, so a route whose data is per-resource should name the resource
// (or use RequireResource).
func (p *Principal) Allows(scope, resource string) bool {
	return p.parsed().allows(scope, resource)
}

func (p *Principal) parsed() *grants {
	if p.grants != nil {
		return p.grants
	}
	// A Principal built by hand (in a test) uses the default hierarchy.
	return parseGrants(p.Scopes, defaultClosure)
}

func (p *Principal) clone() *Principal {
	c := *p
	c.Scopes = slices.Clone(p.Scopes)
	c.Audience = slices.Clone(p.Audience)
	c.IPAllowlist = slices.Clone(p.IPAllowlist)
	return &c
}

type principalKey struct{}

// PrincipalFrom returns the principal the middleware put in the request's
// context.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// WithPrincipal returns ctx carrying p; handlers under test can use it to
// skip the middleware.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
