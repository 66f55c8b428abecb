package gateway

import (
	"log/slog"
	"net"
	"net/http"
	"strings"

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
	method, uri, ok := originalRequest(r)
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "forward-auth needs the original request: nginx sends X-Original-Method and X-Original-URI, "+
			"Traefik X-Forwarded-Method and X-Forwarded-Uri, Envoy calls "+VerifyPath+"/<original path>; see docs/gateway.md",
			http.StatusBadRequest)
		return
	}
	o := v.Authorizer.Authorize(r.Context(), v.Router, Request{
		Method: method, URI: uri, Header: r.Header, IP: clientIP(r), Agent: r.UserAgent(),
		RequestID: w.Header().Get("X-Request-Id"),
	})
	v.Authorizer.logDecision(w, r, method, uri, o)
	if o.Status != http.StatusOK {
		v.Authorizer.writeDenial(w, r, o)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if o.Principal != nil {
		setIdentity(h, o.Principal)
		setExpiration(h, o.Principal)
	}
	w.WriteHeader(http.StatusOK)
}

// originalRequest reads the method and URI of the request being
// authorized: nginx's X-Original-*, then Traefik's X-Forwarded-*, then the
// path below /auth/verify/ (Envoy). A missing method header means the
// request's own method.
func originalRequest(r *http.Request) (method, uri string, ok bool) {
	h := r.Header
	method = h.Get("X-Original-Method")
	if method == "" {
		method = h.Get("X-Forwarded-Method")
	}
	if method == "" {
		method = r.Method
	}
	switch {
	case h.Get("X-Original-URI") != "":
		uri = h.Get("X-Original-URI")
	case h.Get("X-Forwarded-Uri") != "":
		uri = h.Get("X-Forwarded-Uri")
	case strings.HasPrefix(r.URL.EscapedPath(), VerifyPath+"/"):
		uri = strings.TrimPrefix(r.URL.EscapedPath(), VerifyPath)
		if r.URL.RawQuery != "" {
			uri += "?" + r.URL.RawQuery
		}
	default:
		return "", "", false
	}
	return method, uri, true
}

// clientIP is the address of the client of the proxy in front: the last
// X-Forwarded-For entry, which that proxy appended, or else the peer.
// Earlier entries are the client's own claims and are ignored.
func clientIP(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := strings.TrimSpace(last); net.ParseIP(ip) != nil {
			return ip
		}
	}
	return peerIP(r)
}

// peerIP is the address of the connection's other end.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// logDecision records the answer at debug level: method, path (never the
// query or a header), rule, status and user.
func (a *Authorizer) logDecision(w http.ResponseWriter, r *http.Request, method, uri string, o Outcome) {
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
	l.DebugContext(r.Context(), "gateway decision", "request_id", w.Header().Get("X-Request-Id"),
		"method", method, "path", pathOf(uri), "rule", rule, "status", o.Status, "user_id", user)
}
