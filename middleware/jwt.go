package middleware

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenType is the JOSE typ of Latchkey's JWTs (RFC 9068 access tokens).
const tokenType = "at+jwt"

// algorithms are the only ones accepted: "none" and the HMAC family are
// refused before any key is looked at.
var algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA}

// jwtClaims are the claims Latchkey puts in an exchanged JWT.
type jwtClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Scope     string           `json:"scope"`
	TokenID   string           `json:"token_id"`
	Username  string           `json:"username"`
	Kind      string           `json:"kind"`
}

// verifyJWT checks signature, type, issuer, audience and times.
func (a *authenticator) verifyJWT(ctx context.Context, raw string) (*Principal, error) {
	tok, err := jwt.ParseSigned(raw, algorithms)
	if err != nil {
		return nil, refuse("the token is not a JWT signed with ES256 or EdDSA")
	}
	if len(tok.Headers) != 1 {
		return nil, refuse("the JWT must have exactly one signature")
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, tokenType) {
		return nil, refuse("the JWT is not a Latchkey access token (typ must be at+jwt)")
	}
	key, err := a.keys.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != h.Algorithm {
		return nil, refuse("the JWT's alg does not match its key")
	}
	var c jwtClaims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, refuse("the JWT's signature does not verify: it was altered or not issued by " + a.opts.Issuer)
	}
	if err := a.checkClaims(&c); err != nil {
		return nil, err
	}
	p := &Principal{
		Subject: c.Subject, Username: c.Username, Scopes: strings.Fields(c.Scope), TokenID: c.TokenID,
		Kind: c.Kind, ExpiresAt: c.Expiry.Time(), Audience: slices.Clone([]string(c.Audience)), Exchanged: true,
	}
	return p, nil
}

// checkClaims applies the issuer, audience and time rules.
func (a *authenticator) checkClaims(c *jwtClaims) error {
	now, skew := a.opts.Now(), a.opts.ClockSkew
	switch {
	case c.Issuer != a.opts.Issuer:
		return refuse("the JWT was issued by " + c.Issuer + ", not " + a.opts.Issuer)
	case !c.Audience.Contains(a.opts.Audience):
		return refuse("the JWT is not meant for this service: its audience must include " + a.opts.Audience +
			"; exchange a token with --audience " + a.opts.Audience)
	case c.Subject == "":
		return refuse("the JWT has no subject")
	case c.Expiry == nil:
		return refuse("the JWT has no expiry")
	case !now.Before(c.Expiry.Time().Add(skew)):
		return refuse("the JWT expired at " + c.Expiry.Time().UTC().Format(time.RFC3339) + "; exchange a new one")
	case c.NotBefore != nil && now.Add(skew).Before(c.NotBefore.Time()):
		return refuse("the JWT is not valid before " + c.NotBefore.Time().UTC().Format(time.RFC3339) + "; check the clocks")
	case c.IssuedAt != nil && now.Add(skew).Before(c.IssuedAt.Time()):
		return refuse("the JWT was issued in the future; check the clocks")
	}
	return nil
}
