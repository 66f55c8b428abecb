package gateway

import (
	"log/slog"
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
)

// VerifyPath is where the forward-auth endpoint is mounted. Envoy's
// ext_authz appends the original path to it: /auth/verify/acme/web.git/...
const VerifyPath = "/auth/verify"

// Verify is the forward-auth endpoint for nginx auth_request, Traefik
// ForwardAuth and Envoy ext_authz (HTTP service). It answers 200 with the
// identity headers when the original request may pass, 401 with a Basic
// challenge when it carries no valid credential, and 403 when the route
// rules refuse it or the credential lacks the scope.
type Verify struct {
	Authorizer *Authorizer
	Router     *scope.Router
}

// ServeHTTP answers for the original request described by r. It accepts any
// method: nginx sends GET, Envoy the original method.
func (v *Verify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, uri, err := originalRequest(r)
	if err != nil {
		auth.WriteBadRequest(w, r, err.Error())
		return
	}
	c := auth.ClientOf(r)
	o := v.Authorizer.Authorize(r.Context(), v.Router, Request{
		Method: method, URI: uri, Header: r.Header, IP: c.IP, Agent: c.Agent,
	})
	v.Authorizer.logDecision(r, method, uri, o)
	if o.Status != http.StatusOK {
		v.Authorizer.writeDenial(w, r, o)
		return
	}
	h := w.Header()
	// The answer has no body, so there is nothing for a browser to sniff
	// (a denial has one and keeps the header), and proxies pass on only
	// the identity headers they are told to. Without nosniff the answer
	// stays at eight headers, which fit the header map's first group: a
	// ninth made net/http grow the map, and its copy at WriteHeader, into
	// tables: a quarter of the bytes allocated per cached answer.
	delete(h, "X-Content-Type-Options")
	h["Cache-Control"] = noStore
	if o.Principal != nil {
		id := o.Principal.Identity()
		id.SetHeaders(h)
		id.SetExpiration(h)
	}
	w.WriteHeader(http.StatusOK)
}

// noStore is the Cache-Control of every answer, shared read-only: net/http
// copies the header map when the status is written, and a later Set or Add
// replaces or copies the one-element slice.
var noStore = []string{"no-store"}

// logDecision records the answer at debug level: method, path (never the
// query or a header), rule, status and user.
func (a *Authorizer) logDecision(r *http.Request, method, uri string, o Outcome) {
	l := a.logger()
	if !l.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	rule, user := "", ""
	if o.Decision.Rule != nil {
		rule = o.Decision.Rule.Name
	}
	if o.Principal != nil {
		user = o.Principal.User.ID
	}
	l.DebugContext(r.Context(), "gateway decision",
		"method", method, "path", pathOf(uri), "rule", rule, "status", o.Status, "user_id", user)
}
