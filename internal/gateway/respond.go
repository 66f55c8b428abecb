package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// Identity headers: what a protected service learns about the caller. In
// reverse-proxy mode any header starting with IdentityPrefix that the
// client sent is removed first, so the upstream can trust them.
const (
	IdentityPrefix   = "X-Latchkey-"
	HeaderUser       = "X-Latchkey-User"       // the owner's user name
	HeaderUserID     = "X-Latchkey-User-Id"    // the owner's id
	HeaderTokenID    = "X-Latchkey-Token-Id"   // the id of the token (or session) used
	HeaderTokenKind  = "X-Latchkey-Token-Kind" // pat, adm or ses
	HeaderScopes     = "X-Latchkey-Scopes"     // effective grants, space-separated, e.g. "repo:read=acme/*"
	HeaderExpiration = "Latchkey-Token-Expiration"
)

// setIdentity writes the identity headers of p into h.
func setIdentity(h http.Header, p *auth.Principal) {
	h.Set(HeaderUser, p.User.Username)
	h.Set(HeaderUserID, p.User.ID)
	h.Set(HeaderTokenID, p.CredentialID())
	h.Set(HeaderTokenKind, string(p.Kind))
	h.Set(HeaderScopes, strings.Join(p.Scopes.Strings(), " "))
}

// setExpiration tells the caller when an expiring credential stops working,
// as every response to a request authenticated by one does.
func setExpiration(h http.Header, p *auth.Principal) {
	if p != nil && p.ExpiresAt != nil {
		h.Set(HeaderExpiration, p.ExpiresAt.UTC().Format(time.RFC3339))
	}
}

// removeIdentity deletes identity headers from h, whoever set them.
func removeIdentity(h http.Header) {
	for k := range h {
		if len(k) >= len(IdentityPrefix) && strings.EqualFold(k[:len(IdentityPrefix)], IdentityPrefix) {
			delete(h, k)
		}
	}
	h.Del(HeaderExpiration)
}

// writeDenial answers a refused request: a Basic challenge on 401 so Git
// and browsers prompt, and the reason as plain text (which Git shows the
// user as "remote: ...") or as problem+json when the client asks for JSON.
func (a *Authorizer) writeDenial(w http.ResponseWriter, r *http.Request, o Outcome) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
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
