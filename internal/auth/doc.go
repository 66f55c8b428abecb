// Package auth is the request edge: it tells every surface (REST API,
// console, /auth/verify, reverse-proxy mode, /oauth2/token,
// /oauth2/introspect, /api/v1/leaks) who is calling, from where, and with
// which credential, by one set of rules, and turns a presented credential
// into a Principal: who is calling, with which token or session, and what
// that credential may do now (the token's scopes intersected with its
// owner's current role).
//
// # The edge API
//
// A new surface needs only these:
//
//   - Edge.Handler wraps the whole server. For each request it computes a
//     *Client (ClientFrom(ctx), or ClientOf(r) which falls back to the
//     direct peer outside the handler): the request id, the client address
//     and the user agent. The address is the direct peer's unless the peer
//     is inside --trusted-proxies (Proxies), in which case it is the
//     right-most address of X-Forwarded-For, Forwarded or X-Real-IP that is
//     not itself a trusted proxy; when several of these headers are present
//     they must agree, and a malformed or disagreeing one is answered 400
//     (WriteBadRequest). Client.ViaProxy tells forward-auth whether it may
//     believe the original method and URI headers. The same address serves
//     the audit log, last-used, IP allowlists and failure limits.
//   - Credential reads Authorization (Bearer, token, Basic with the token
//     as password); ClientCredential is the same for the OAuth endpoints,
//     decoding a Basic client id and secret form-encoded as RFC 6749
//     §2.3.1 requires. Credentials are never read from a URL.
//   - Edge.Verify (the Verifier every surface is given) verifies a caller's
//     credential with Client.Request(). While the address has used up its
//     budget of failed authentications (FailureLimiter: 20, then one per 3
//     seconds) it answers *RateLimited (errors.Is ErrRateLimited), except
//     for a credential whose verification is cached, which costs no
//     database read: a valid token keeps working from an address shared
//     with an attacker, and a flood of unknown tokens stays off the
//     database (distinct ones by the limiter, repeated ones by the negative
//     cache). Surfaces answer it with 429 and Retry-After
//     (WriteRateLimited: problem+json, RFC 6749 JSON under /oauth2/, plain
//     text on forward-auth). Password checks use Edge.Limiter directly.
//   - Edge.Inspect verifies a token on behalf of a resource server
//     (introspection): no failure counting, and the token's IP allowlist is
//     reported by the caller rather than checked against the resource
//     server's address.
//   - WithPrincipal / FromContext carry the authenticated Principal: the one
//     context key for it on every surface.
//   - NewLogHandler wraps the server's slog handler so every record logged
//     with a request's context carries request_id.
//
// Flow of one request: Credential pulls the secret from the Authorization
// header (Bearer, token, or Basic with the token as password);
// token.Parse rejects malformed secrets (prefix, kind, length, checksum)
// before any lookup; the SHA-256 digest is looked up in the Cache, and on a
// miss the token or session row and its owner are read from the store and
// prepared once: effective scopes computed, IP allowlist parsed, Principal
// built (one indexed read of the token joined with its owner). Then revocation, expiry against the clock (including the policy's
// maximum lifetime and a regeneration's grace period), the IP allowlist and
// the owner's suspension or deletion are checked on every request.
//
// The cache (cache.go) is an otter cache of prepared entries keyed by
// digest, bounded in size, each with a deadline (--cache-ttl) that bounds
// staleness for changes made on other replicas. It is this node's
// service.Invalidator: revoke, regenerate, scope changes and logout drop
// entries at once; suspension, deletion and role changes mark the owner's
// shared snapshot stale, which invalidates all of the owner's entries in
// O(1). An invalidation counter makes a miss that raced a change never
// cache what it read. Digests found in nothing are remembered for
// --negative-cache-ttl, so floods of unknown tokens do not reach the
// database. A cached request does Parse, Hash, one lookup, clock checks and
// a usage count, without allocating: the Principal it returns is shared and
// read-only.
//
// Last-used time, address, agent and per-day counts are aggregated in
// memory by Usage (usage.go, usagecell.go) in per-token cells of atomic
// counters, and flushed in batched, set-based writes: a token's first use
// (and its first use after a regeneration) by the next flush, a busy
// token's about once a minute, everything on Close. Addresses a token is
// seen from for the first time ride with its next write, and the store
// audits those that are new for the token in the same transaction: no
// audit row, and no write at all, happens during verification. A flush
// that fails is kept (bounded, merged per token) and retried, and when the
// storage explains why (it refuses writes, or is down) the server's
// readiness is told (Usage.OnOutage): no request answers for it. Memory is
// bounded; verification never waits on a write.
package auth
