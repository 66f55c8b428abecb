// Package federation is workload identity federation: it verifies the OIDC
// tokens that CI systems and workloads are minted (GitHub Actions, GitLab CI,
// Kubernetes projected service-account tokens) and matches them against
// admin-defined trust policies.
//
// Flow of one exchange (driven by internal/sts and internal/service):
//
//  1. Verifier.Verify parses the JWT, refuses "none" and every symmetric
//     algorithm before anything else, reads the unverified iss and goes on
//     only if a trust policy names that issuer (so Latchkey never fetches
//     from an address a caller chose).
//  2. The issuer's keys come from its discovery document and JWKS, cached per
//     issuer. A kid not in the cache triggers one refresh (key rotation),
//     at most once per MinRefreshInterval; fetches retry a bounded number of
//     times. When the issuer is down the cached keys keep working; only a
//     token whose key is not cached gets ErrUnavailable (503).
//  3. Signature, iss, exp (required), nbf and iat are checked with a small
//     clock skew.
//  4. Match checks one policy: audience, then each claim condition.
//
// Conditions are exact values or glob patterns with path.Match semantics:
// '*' matches any run of characters except '/', '?' one character except
// '/', '[...]' a class, and '\' escapes. So "refs/heads/*" matches
// "refs/heads/main" but not "refs/heads/feature/x", and
// "repo:acme/*:ref:refs/heads/main" matches every repository of acme on
// main. A pattern never crosses a '/' so that an owner or group boundary
// cannot be skipped by accident.
//
// Issuers must be HTTPS. Plain http is accepted only for loopback issuers
// (127.0.0.0/8, ::1, localhost), which tests and a co-located issuer use;
// an https issuer's jwks_uri and redirects must stay on https, so no issuer
// can point a key fetch at a plain-http service on Latchkey's host or
// network. Fetches are detached from the request that triggered them: a
// client that hangs up cannot make them fail for everyone else.
package federation
