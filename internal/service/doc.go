// Package service holds Latchkey's business rules: who may create, see,
// change and revoke which tokens; how expiry follows policy; how users,
// roles and sessions behave; and what goes into the audit log.
//
// Data flows HTTP → service → store. Handlers (internal/api, internal/web)
// decode a request, build an Actor from the authenticated principal and call
// one method here; this package checks the rules, writes through the
// store.Store contract and records an audit event. It returns kind errors
// (ErrInvalid, ErrNotFound, ErrConflict, ErrForbidden, ErrUnauthenticated)
// that the HTTP layer maps to status codes in exactly one place.
//
// Changes that must reach verification at once (revoke, regenerate, scope
// change, suspension, role change) are announced to an Invalidator, which
// the verification cache implements. Policy changes bump Policies.Version,
// which verification compares with its snapshot on every request, so a
// lowered maximum lifetime caps existing tokens from the next request on.
package service
