// Package auth turns a presented credential into a Principal: who is
// calling, with which token or session, and what that credential may do now
// (the token's scopes intersected with its owner's current role).
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
// that fails is kept (bounded, merged per token) and retried. Memory is
// bounded; verification never waits on a write.
package auth
