package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
)

// Identity headers: what a protected service learns about the caller. In
// reverse-proxy mode any header starting with IdentityPrefix that the
// client sent is removed first, so the upstream can trust them.
const (
	IdentityPrefix   = "X-Latchkey-"
	HeaderUser       = auth.HeaderUser       // the owner's user name
	HeaderUserID     = auth.HeaderUserID     // the owner's id
	HeaderTokenID    = auth.HeaderTokenID    // the id of the token (or session) used
	HeaderTokenKind  = auth.HeaderTokenKind  // pat, adm or ses
	HeaderScopes     = auth.HeaderScopes     // effective grants, space-separated, e.g. "repo:read=acme/*"
	HeaderExpiration = auth.HeaderExpiration // when the credential stops working, RFC 3339
)

// setIdentity writes the identity headers of p into h. The values are
// formatted once per Principal (auth.Identity), not per request.
func setIdentity(h http.Header, p *auth.Principal) {
	p.Identity().SetHeaders(h)
}

// setExpiration tells the caller when an expiring credential stops working,
// as every response to a request authenticated by one does.
func setExpiration(h http.Header, p *auth.Principal) {
	if p != nil {
		p.Identity().SetExpiration(h)
	}
}

// removeIdentity deletes the identity headers and the credential from h,
// under every name that normalises to one of them: case aside, and "_" read
// as "-", since CGI, WSGI and Rack upstreams see X_Latchkey_User as
// HTTP_X_LATCHKEY_USER, the same variable as X-Latchkey-User.
func removeIdentity(h http.Header) {
	for k := range h {
		if isIdentityName(k) {
			delete(h, k)
		}
	}
}

func isIdentityName(k string) bool {
	n := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
	return strings.HasPrefix(n, "x-latchkey-") || n == "authorization" || n == "latchkey-token-expiration"
}

// removeForwarding deletes what the client says about where a request
// came from and how it was addressed: Forwarded, X-Forwarded(-*) and
// X-Real-IP, under every name that normalises to one of them (as for
// identity headers, CGI, WSGI and Rack read X_Real_IP as X-Real-IP).
// Latchkey sets X-Forwarded-For, -Host and -Proto itself; an upstream that
// reads another of them (X-Real-IP, X-Forwarded-Prefix...) would otherwise
// take a client's word for its address or the site's.
func removeForwarding(h http.Header) {
	for k := range h {
		n := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
		if n == "forwarded" || n == "x-forwarded" || n == "x-real-ip" || strings.HasPrefix(n, "x-forwarded-") {
			delete(h, k)
		}
	}
}

// refusedUpgrade says why a protocol upgrade may not pass, or "". Only
// WebSocket passes, and only after the route decision and authentication
// (the caller checks this first, then authorizes): another protocol, such
// as h2c, would carry requests Latchkey never sees.
func refusedUpgrade(h http.Header) string {
	ups := h.Values("Upgrade")
	connUp := false
	for _, v := range h.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				connUp = true
			}
		}
	}
	if len(ups) == 0 && !connUp {
		return ""
	}
	if len(ups) == 1 && strings.EqualFold(strings.TrimSpace(ups[0]), "websocket") {
		return ""
	}
	if len(ups) == 0 {
		return "Connection: upgrade without an Upgrade header; only WebSocket upgrades are proxied"
	}
	return "only WebSocket upgrades are proxied (Upgrade: websocket), not " + strings.Join(ups, ", ")
}

// writeDenial answers a refused request: a Basic challenge on 401 so Git
// and browsers prompt, and the reason as plain text (which Git shows the
// user as "remote: ...") or as problem+json when the client asks for JSON.
func (a *Authorizer) writeDenial(w http.ResponseWriter, r *http.Request, o Outcome) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	// A credential that authenticated and was denied (a route its scopes
	// do not reach) still learns when it stops working.
	setExpiration(h, o.Principal)
	if o.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="`+a.realm()+`", charset="UTF-8"`)
	}
	if o.RetryAfter != "" {
		h.Set("Retry-After", o.RetryAfter)
	}
	// A proxy that drops the body of its auth subrequest (nginx) passes
	// the reason on from this header.
	h.Set(auth.HeaderReason, headerSafe(o.Reason))
	if strings.Contains(r.Header.Get("Accept"), "json") {
		h.Set("Content-Type", "application/problem+json")
		w.WriteHeader(o.Status)
		_ = json.NewEncoder(w).Encode(struct {
			Title  string `json:"title"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}{http.StatusText(o.Status), o.Status, o.Reason})
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(o.Status)
	_, _ = w.Write([]byte(o.Reason + "\n"))
}

func (a *Authorizer) realm() string {
	if a.Realm == "" {
		return "latchkey"
	}
	return a.Realm
}

// headerSafe keeps s printable ASCII, as header values must be.
func headerSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
