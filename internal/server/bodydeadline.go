package server

import (
	"net/http"
	"time"
)

// bodyReadTimeout is how long a request to Latchkey's own handlers may take
// to send its body. Every body they take is small (1 MiB at most, a form
// 64 KiB), so a client still sending after this long is holding the
// connection, not uploading.
const bodyReadTimeout = 10 * time.Second

// withBodyDeadline gives the body of a request to h limit (in production
// bodyReadTimeout) to arrive. The server has no ReadTimeout, which would
// also cut a large upload that reverse-proxy mode streams to an upstream,
// and huma bounds only the bodies of its own operations (5 s, which then
// replaces this deadline): without it a console form,
// /oauth2/token or SCIM request whose body never finishes kept its
// connection and goroutine forever, and one client held 2,000 of them
// with no end in sight. A request without a body (every /auth/verify)
// pays one comparison.
func withBodyDeadline(h http.Handler, limit time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// Once the body is in, net/http lifts the deadline itself
			// (before it reads the connection in the background to notice
			// a client that leaves), so a slow handler is not cut.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(limit))
		}
		h.ServeHTTP(w, r)
	})
}
