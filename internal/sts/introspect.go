package sts

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// IntrospectJWT answers RFC 7662 introspection for JWTs: any
// credential shaped like a JWT is answered here (Latchkey secrets never
// contain a dot), active only if this server signed it, it has not expired,
// and the token it was exchanged from still works: not revoked, not expired,
// not regenerated since (past a grace period), its owner neither suspended
// nor deleted. The scopes reported are the JWT's, cut down to what the
// parent token and its owner's role allow now.
func (s *Service) IntrospectJWT(ctx context.Context, raw string) (*Introspection, bool) {
	if !LooksLikeJWT(raw) {
		return nil, false
	}
	ans, err := s.introspect(ctx, raw)
	if err != nil {
		s.d.Logger.DebugContext(ctx, "introspected JWT is inactive", "reason", err.Error())
		return &Introspection{Active: false}, true
	}
	return ans, true
}

func (s *Service) introspect(ctx context.Context, raw string) (*Introspection, error) {
	c, err := s.d.Keys.verify(ctx, raw, s.d.Issuer())
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	if !now.Before(c.Expiry.Time()) {
		return nil, errors.New("the JWT has expired")
	}
	if c.NotBefore != nil && now.Add(time.Minute).Before(c.NotBefore.Time()) {
		return nil, errors.New("the JWT is not valid yet")
	}
	t, u, err := s.parent(ctx, c, now)
	if err != nil {
		return nil, err
	}
	claimed, err := s.d.Catalog.ParseSet(strings.Fields(c.Scope))
	if err != nil {
		return nil, errors.New("the JWT's scopes are no longer in the catalog")
	}
	held, err := s.d.Catalog.ParseSet(t.Scopes)
	if err != nil {
		return nil, errors.New("the parent token's scopes are no longer in the catalog")
	}
	effective := claimed.Intersect(held.Intersect(s.d.Catalog.ForRole(string(u.Role))))
	ans := &Introspection{
		Active: true, Scope: strings.Join(effective.Strings(), " "), ClientID: c.ClientID, Username: u.Username,
		TokenType: "Bearer", Exp: c.Expiry.Time().Unix(), Sub: c.Subject, Iss: c.Issuer, Jti: c.ID,
		TokenID: c.TokenID, Kind: "jwt", Role: string(u.Role), Aud: []string(c.Audience),
	}
	if c.NotBefore != nil {
		ans.Nbf = c.NotBefore.Time().Unix()
	}
	if len(t.IPAllowlist) > 0 {
		ans.IPAllowlist = append([]string(nil), t.IPAllowlist...)
	}
	if c.IssuedAt != nil {
		ans.Iat = c.IssuedAt.Time().Unix()
	}
	return ans, nil
}

// parent returns the token a JWT was exchanged from and its owner, if both
// still allow the JWT to be used.
func (s *Service) parent(ctx context.Context, c *Claims, now time.Time) (*store.Token, *store.User, error) {
	t, err := s.d.Parents.GetToken(ctx, c.TokenID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errors.New("the parent token no longer exists")
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case t.UserID != c.Subject:
		return nil, nil, errors.New("the parent token belongs to another user")
	case t.RevokedAt != nil:
		return nil, nil, errors.New("the parent token was revoked")
	}
	if exp := service.EffectiveExpiry(t, s.d.Policy.Current(ctx)); exp != nil && !now.Before(*exp) {
		return nil, nil, errors.New("the parent token has expired")
	}
	if regeneratedSince(t, c, now) {
		return nil, nil, errors.New("the parent token was regenerated after this JWT was issued")
	}
	u, err := s.d.Parents.GetUser(ctx, t.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errors.New("the parent token's owner no longer exists")
	}
	if err != nil {
		return nil, nil, err
	}
	if u.Suspended {
		return nil, nil, errors.New("the parent token's owner is suspended")
	}
	return t, u, nil
}

// regeneratedSince reports whether the parent's secret was replaced after
// the JWT was issued and the old secret's grace period is over: a JWT
// minted from a replaced (perhaps leaked) secret dies with it.
func regeneratedSince(t *store.Token, c *Claims, now time.Time) bool {
	if t.RegeneratedAt == nil || c.IssuedAt == nil {
		return false
	}
	if !c.IssuedAt.Time().Before(t.RegeneratedAt.Truncate(time.Second)) {
		return false
	}
	return t.PrevExpiresAt == nil || !now.Before(*t.PrevExpiresAt)
}
