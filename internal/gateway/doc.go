// Package gateway lets services that know nothing of Latchkey accept its
// tokens: a forward-auth endpoint for nginx auth_request, Traefik
// ForwardAuth and Envoy ext_authz, and a reverse proxy that authenticates
// every request itself. Git over HTTPS works through either, with the token
// as the Basic-auth password.
//
// # One decision, two front doors
//
// Both doors ask the Authorizer the same question about the original
// request (method, URI, Authorization header):
//
//	request ─→ names a second method?                400 (override.go)
//	         Router.Decide(method, URI) ─→ deny?   403
//	                                      ├→ public? 200, no identity
//	                                      └→ scope S on resource R
//	         auth.Credential ─→ Verifier.Verify ─→ failed? 401 + Basic challenge
//	         Principal.Allows(S, R) ─→ no? 403 ─→ yes: 200 + identity
//
// Verify (/auth/verify) answers with the status alone and, on 200, the
// identity headers (X-Latchkey-User, -User-Id, -Token-Id, -Token-Kind,
// -Scopes) and Latchkey-Token-Expiration for the proxy in front to copy.
// It reads the original request from X-Original-Method/X-Original-URI
// (nginx), X-Forwarded-Method/X-Forwarded-Uri (Traefik), or from the path
// below /auth/verify/ and the request's own method (Envoy).
//
// Proxy forwards an allowed request to its upstream with the credential
// removed (Authorization and the console's session cookie) and the identity
// headers set, after deleting any the client sent. Bodies stream both ways
// without buffering, so large Git pushes pass; WebSocket upgrades pass
// through; only the wait for response headers is bounded.
//
// Front is Latchkey's top-level handler. It hands /auth/verify/... to Verify
// before the mux can clean (and redirect) the path, and in reverse-proxy
// mode chooses between an upstream (by Host, then by path prefix, then the
// catch-all --upstream) and Latchkey's own handler, which keeps its API,
// OAuth 2 and operations paths (see Reserved).
//
// # Route rules
//
// Rules (NewRules) are scope.RulesConfig from the config file. When no rules
// and no preset are configured the Git preset applies, and requests that no
// rule matches are denied unless the default is "authenticated".
package gateway
