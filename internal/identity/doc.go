// Package identity lets the company's identity provider be the source of
// who users are and what role they hold.
//
// OIDC sign-in (oidc.go): the console sends a person to
// /auth/sso/{id}; Begin makes a random state, nonce and PKCE verifier, keeps
// them in a short-lived HttpOnly cookie bound to that provider, and
// redirects to the provider's authorization endpoint (found by discovery).
// The provider sends the browser back to /auth/sso/{id}/callback, where
// Finish checks the state against the cookie, redeems the code with the
// PKCE verifier, verifies the ID token (signature from the provider's JWKS,
// issuer, audience = client id, expiry) and its nonce, checks the allowed
// email domains, leaves out an email address the provider has not verified
// (unless trust_email) and returns what the provider asserted. The console then
// asks service.Users.SignInExternal to find or create the user and apply the
// role mapping, and opens a session.
//
// SCIM 2.0 provisioning (scim*.go) serves /scim/v2: the identity provider
// creates, updates, deactivates and deletes users and manages groups, with a
// bearer token that is an admin access token holding the scim scope. Every
// change goes through internal/service, which invalidates verification
// caches on every replica.
package identity
