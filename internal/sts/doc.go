// Package sts is Latchkey's security token service: it trades a personal or
// admin access token for a short-lived, down-scoped JWT that services can
// verify offline (RFC 8693 token exchange), and publishes what they need to
// do so.
//
// Flow of an exchange (POST /oauth2/token, form-encoded):
//
//  1. parseExchange checks the form: grant_type token-exchange, a
//     subject_token of type access_token, optional scope, audience and
//     resource (both RFC 8693 and RFC 8707 allow several; all become aud),
//     optional requested_token_type (jwt or access_token).
//  2. The subject token is verified by the same auth.Verifier as every other
//     request (revoked, expired, suspended owner, IP allowlist...). Session
//     tokens are refused with invalid_grant: only PATs and admin access
//     tokens are exchanged. No client authentication is required (the
//     subject token is the credential); an Authorization header, if sent,
//     must be valid and belong to the same user.
//  3. The requested scope must be covered by the subject's effective scopes
//     (token scopes ∩ owner's role): narrowing works, widening is
//     invalid_scope. No scope means the subject's effective scopes.
//  4. The JWT (typ at+jwt, RFC 9068) carries iss (the public URL), sub (user
//     id), aud (the audiences asked for; by default the issuer URL itself,
//     which only services configured without an audience accept), exp =
//     min(now + --jwt-lifetime, the subject's expiry), iat, nbf, jti, scope,
//     token_id and client_id (the parent token), username and kind. The
//     exchange is audited as "token.exchange".
//
// Keys (Keyring): the newest signing key signs; each is ES256 (P-256) or
// EdDSA (Ed25519), its kid the RFC 7638 thumbprint. Private keys are stored
// encrypted with AES-256-GCM under a key derived by HKDF-SHA256 from the
// signing-key secret (ResolveSecret: configured, or with SQLite generated
// into the data directory). Rotation (on a schedule, or `latchkey keys
// rotate`) adds a key and retires the previous one: it stops signing but
// stays in /.well-known/jwks.json until it has been retired longer than the
// JWT lifetime plus RetentionMargin, so every JWT it signed stays
// verifiable until it expires. The keyring re-reads the store every second
// at most, so rotations by other replicas or the CLI are picked up.
//
// Introspection (IntrospectExtension, hooked into /oauth2/introspect)
// answers for JWTs too: active unless expired or its parent token no longer
// works, which is how a service that needs revocation to bite at once can
// check a JWT online.
//
// Revocation (Revocation, POST /oauth2/revoke, RFC 7009) ends the token
// sent, on the word of whoever holds it: service.Tokens.RevokeHeld revokes
// it as DELETE /api/v1/tokens/{id} or logout would, and every answer about
// a token that cannot be revoked now is the same empty 200. revoke.go says
// why each choice was made (JWTs, client authentication, failure limits).
package sts
