// Package web is Latchkey's web console: server-rendered html/template pages
// with their CSS and JavaScript embedded in the binary, so running it needs
// no front-end build.
//
// A request flows like this. Handler.Mount registers explicit console paths
// on the server's mux (never a catch-all, so /api/, /oauth2/, /auth/verify
// and the operations endpoints stay with their own handlers). Every page
// gets strict security headers (a CSP without inline script or style,
// frame-ancestors none, no-referrer, no-store). A signed-in page reads the
// latchkey_session cookie (__Host-latchkey_session over HTTPS; scoped to
// the mount point a trusted proxy names) — the secret of a session opened
// by service.Sessions.Login — and verifies it with auth.Verifier on every
// request, so logging out, revoking a session or suspending a user takes
// effect at once. Every state-changing request must be same-origin
// (http.CrossOriginProtection) and carry a CSRF token in a hidden form
// field, derived from the session secret with HMAC and compared in constant
// time; the login form, which has no session yet, uses a double-submit
// cookie instead.
//
// Handlers decode the form, build a service.Actor from the principal and
// call one method of internal/service; the rules live there. A
// *service.Error with a Field is shown next to that field and the form is
// rendered again with what the user typed. Secrets (new and regenerated
// tokens, /cli-auth session tokens) are shown once, on the page the POST
// that created them redirects to (issued.go), so a reload never sends the
// form again; they are never put in a URL or a log.
//
// Each token's page shows a server-side SVG chart of its requests per day
// over the last 30 days, read from the usage counters that verification
// aggregates in memory and flushes in batches (auth.Usage).
package web
