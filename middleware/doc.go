// Package middleware protects a Go HTTP service with Latchkey credentials.
//
//	protect := middleware.New(middleware.Options{Issuer: "https://latchkey.example.com", Audience: "inventory"})
//	mux.Handle("GET /items", middleware.RequireScope("repo:read")(items))
//	http.ListenAndServe(":9000", protect(mux))
//
// Clients send a short-lived JWT from Latchkey's token exchange
// (`latchkey tokens exchange --audience inventory`, or POST /oauth2/token)
// as "Authorization: Bearer <jwt>". The middleware verifies it offline:
//
//   - signature against the issuer's JWKS (Issuer + /.well-known/jwks.json),
//     fetched on first use, cached, refreshed every JWKSRefresh and early
//     when a JWT names a key it does not know yet (after a rotation), at
//     most once per JWKSMinRefresh;
//   - only ES256 and EdDSA ("none" and HMAC are refused), typ at+jwt;
//   - iss equal to Issuer, aud containing Audience, exp, nbf and iat within
//     ClockSkew.
//
// Offline verification cannot see a revocation: an exchanged JWT keeps
// working until it expires (15 minutes by default). A service that needs
// revocation to bite at once can accept raw tokens instead: with
// IntrospectionURL and IntrospectionToken set, a Latchkey personal or admin
// access token is checked by RFC 7662 introspection, each answer cached for
// CacheTTL (default 10s).
//
// The Principal is in the request context (PrincipalFrom). Its Allows, and
// RequireScope and RequireResource built on it, apply Latchkey's scope
// rules: grants narrowed to resource patterns ("repo:read=acme/*", path
// globs whose "*" does not cross "/") and the scope hierarchy ("repo"
// implies "repo:read"; Options.Implies for a custom catalog).
//
// Refusals are RFC 9457 application/problem+json: 401 with a
// WWW-Authenticate Bearer challenge (error="invalid_token" and a
// description saying why) for a missing or invalid credential, 403 with
// error="insufficient_scope" for a missing scope, 503 when the keys or
// introspection cannot be reached and nothing is cached.
package middleware
