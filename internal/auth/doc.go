// Package auth turns a presented credential into a Principal: who is
// calling, with which token or session, and what that credential may do now
// (the token's scopes intersected with its owner's current role).
//
// Flow of one request: Credential pulls the secret from the Authorization
// header (Bearer, token, or Basic with the token as password);
// token.Parse rejects malformed secrets before any lookup; the digest is
// looked up through a Source (the store, or the verification cache that
// wraps it); then revocation, expiry against the clock (including the
// policy's maximum lifetime and a regeneration's grace period), the owner's
// suspension or deletion, and the IP allowlist are checked on every request.
//
// Last-used time, address, agent and per-day counts are aggregated in memory
// by Usage and flushed in batches, so verification never waits on a write.
package auth
