package sts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenType is the JOSE "typ" of issued JWTs: an OAuth access token in the
// JWT profile of RFC 9068, so a verifier can tell it from other JWTs.
const TokenType = "at+jwt"

// Claims are the claims of an issued JWT.
type Claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"` // the user id
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	Scope     string           `json:"scope,omitempty"` // space-separated grants, e.g. "repo:read=acme/*"
	ClientID  string           `json:"client_id"`       // RFC 9068: the exchanged token's id
	TokenID   string           `json:"token_id"`        // the exchanged (parent) token's id
	Username  string           `json:"username"`
	Kind      string           `json:"kind"` // the parent token's kind: pat or adm
	// SecretFP names which secret of the parent token minted the JWT (a
	// fingerprint of its digest, which reveals nothing about the secret),
	// so that regenerating the parent kills exactly the JWTs minted from
	// the replaced secret, whatever the clock says.
	SecretFP string `json:"secret_fp,omitempty"`
}

// secretFingerprint is the SecretFP of a stored token digest.
func secretFingerprint(digest []byte) string {
	if len(digest) == 0 {
		return ""
	}
	sum := sha256.Sum256(append([]byte("latchkey jwt parent\x00"), digest...))
	return hex.EncodeToString(sum[:12])
}

// algorithms are the only signature algorithms accepted when reading a JWT.
var algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA}

// sign serializes c as a compact JWS with the current key.
func (k *Keyring) sign(ctx context.Context, c *Claims) (string, error) {
	s, _, err := k.Signer(ctx)
	if err != nil {
		return "", err
	}
	raw, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return raw, nil
}

// LooksLikeJWT reports whether raw has the shape of a compact JWS. Latchkey
// secrets never contain a dot.
func LooksLikeJWT(raw string) bool { return strings.Count(raw, ".") == 2 }

// errNotOurs is returned for a JWT this server did not sign.
var errNotOurs = errors.New("the JWT was not signed by this server's keys")

// verify checks the signature of a JWT against the published keys and that
// it was issued by issuer, and returns its claims. Times are not checked.
func (k *Keyring) verify(ctx context.Context, raw, issuer string) (*Claims, error) {
	tok, err := jwt.ParseSigned(raw, algorithms)
	if err != nil {
		return nil, fmt.Errorf("malformed JWT: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, errNotOurs
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != TokenType {
		return nil, errNotOurs
	}
	jwk, ok := k.PublicKey(ctx, h.KeyID)
	if !ok || jwk.Algorithm != h.Algorithm {
		return nil, errNotOurs
	}
	var c Claims
	if err := tok.Claims(jwk.Key, &c); err != nil {
		return nil, errNotOurs
	}
	if c.Issuer != issuer {
		return nil, errNotOurs
	}
	if c.Expiry == nil || c.TokenID == "" || c.Subject == "" {
		return nil, errors.New("the JWT lacks exp, sub or token_id")
	}
	return &c, nil
}

// newJTI returns a random JWT id.
func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// numeric truncates t to whole seconds, the precision of JWT times.
func numeric(t time.Time) *jwt.NumericDate { return jwt.NewNumericDate(t.Truncate(time.Second)) }
