package service

import (
	"net/netip"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
)

// TokenOp is a kind of write to a token.
type TokenOp string

// Token writes. Every one passes through AuthorizeTokenWrite.
const (
	OpCreate     TokenOp = "create"
	OpUpdate     TokenOp = "update"
	OpRegenerate TokenOp = "regenerate"
	OpRevoke     TokenOp = "revoke"
)

// TokenWrite is a proposed write: who makes it, whose token it is, under
// which policy, and what the token looks like before and after.
type TokenWrite struct {
	Op     TokenOp
	Actor  Actor
	Owner  *store.User
	Policy store.Policy
	// Before is the token's grant before the write (nil on create). A
	// token whose stored scopes no longer parse holds nothing.
	Before *scope.Set
	// After is the grant after the write, when it changes (always on create).
	After *scope.Set
	// AllowBefore and AllowAfter are the IP allowlists; AllowAfter is nil
	// when the write leaves the allowlist alone.
	AllowBefore []string
	AllowAfter  *[]string
}

// Widens reports whether the write lets the token do anything it could not
// do before: a new token or secret, a scope or resource it did not hold,
// or an address its allowlist refused.
func (w TokenWrite) Widens() bool {
	switch w.Op {
	case OpCreate, OpRegenerate:
		return true
	case OpRevoke:
		return false
	}
	if w.After != nil {
		before := scope.Set{}
		if w.Before != nil {
			before = *w.Before
		}
		if len(before.Missing(*w.After)) > 0 {
			return true
		}
	}
	return w.AllowAfter != nil && allowlistWidens(w.AllowBefore, *w.AllowAfter)
}

// AuthorizeTokenWrite is the one place that decides whether the actor may
// make the owner's token look like the write says. Create, update (scopes,
// description, allowlist), regenerate and revoke all ask it, so a rule
// cannot hold on one path and not on the next:
//
//   - only the owner of a token or an admin may write to it;
//   - under the policy creation=admins, a non-admin may only narrow or
//     revoke her tokens: nothing that widens them (create, regenerate,
//     broader scopes, a looser allowlist);
//   - only owners may widen an owner's token (an admin could otherwise use
//     it to do what only owners may); anyone allowed may narrow or revoke;
//   - a fed token widens nothing: the tokens it may reach (its service
//     account's, or anyone's with admin:org) outlive the CI run, so a wider
//     grant would turn a ten-minute credential into a lasting one.
//
// What the actor's own credential holds, and what the owner's role allows,
// is checked where the scopes are parsed (grantable, mayHoldSecretOf).
func AuthorizeTokenWrite(w TokenWrite) error {
	a := w.Actor
	if a.User == nil {
		return &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	self := w.Owner != nil && w.Owner.ID == a.User.ID
	if !self && !a.IsAdmin() {
		return a.notAdmin("manage another user's tokens")
	}
	if !w.Widens() {
		return nil
	}
	if a.Federated {
		return forbidden("a token issued by workload identity federation cannot %s: the wider token would outlive the CI run and its trust policy; it may still narrow, describe or revoke tokens, and a session or a personal access token may widen them", widenWhat(w.Op))
	}
	if w.Policy.Creation == CreationAdmins && !a.IsAdmin() {
		if w.Op == OpCreate {
			return forbidden("the token policy lets only admins create tokens; ask an admin to create one for you")
		}
		return forbidden("the token policy lets only admins create or widen tokens, so you may not %s; you may still narrow or revoke your tokens, or ask an admin", widenWhat(w.Op))
	}
	if !self && w.Owner != nil && w.Owner.Role == store.RoleOwner && a.User.Role != store.RoleOwner {
		switch w.Op {
		case OpCreate:
			return forbidden("only owners may create tokens on behalf of an owner")
		case OpRegenerate:
			return forbidden("only owners may regenerate an owner's token")
		}
		return forbidden("only owners may widen an owner's token (broader scopes or a looser IP allowlist); an admin may narrow or revoke it")
	}
	return nil
}

func widenWhat(op TokenOp) string {
	switch op {
	case OpCreate:
		return "create a token"
	case OpRegenerate:
		return "regenerate a token"
	}
	return "widen a token (broader scopes or a looser IP allowlist)"
}

// allowlistWidens reports whether after admits an address before refused.
// An empty list admits every address.
func allowlistWidens(before, after []string) bool {
	if len(before) == 0 {
		return false
	}
	if len(after) == 0 {
		return true
	}
	bs := make([]netip.Prefix, 0, len(before))
	for _, s := range before {
		if p, err := netip.ParsePrefix(s); err == nil {
			bs = append(bs, p.Masked())
		}
	}
	for _, s := range after {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return true
		}
		if !prefixWithin(p.Masked(), bs) {
			return true
		}
	}
	return false
}

func prefixWithin(p netip.Prefix, in []netip.Prefix) bool {
	for _, q := range in {
		if q.Addr().Is4() == p.Addr().Is4() && q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
