package gateway

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
)

// The original request of a forward-auth call, by proxy style. Exactly one
// description must be present, or all present ones must agree:
//
//	nginx auth_request   X-Original-Method + X-Original-URI
//	Traefik ForwardAuth  X-Forwarded-Method + X-Forwarded-Uri
//	Caddy forward_auth   X-Forwarded-Method + X-Forwarded-Uri
//	Envoy ext_authz      the request's own method + the path below /auth/verify
//
// The headers are believed only from a direct peer inside
// --trusted-proxies; from anyone else they are ignored (and without the
// Envoy form the request is refused). A request whose descriptions
// disagree, that repeats a header, whose URI holds '#', a control character
// or a space, or whose absolute-form URI names another host than
// X-Forwarded-Host, is refused with 400 and the reason: a request Latchkey
// cannot read without guessing is never judged.

// badOriginal is a forward-auth request refused before any rule is applied.
type badOriginal struct{ reason string }

func (b *badOriginal) Error() string { return b.reason }

func refuse(reason string) (string, string, error) { return "", "", &badOriginal{reason} }

// originalRequest returns the method and the origin-form URI (path and
// query) of the request being authorized.
func originalRequest(r *http.Request) (method, uri string, err error) {
	c := auth.ClientOf(r)
	var hm, hu, hmName, huName string
	if c.ViaProxy {
		var bad error
		if hm, hmName, bad = oneOf(r.Header, "X-Original-Method", "X-Forwarded-Method"); bad != nil {
			return "", "", bad
		}
		if hu, huName, bad = oneOf(r.Header, "X-Original-Uri", "X-Forwarded-Uri"); bad != nil {
			return "", "", bad
		}
	}
	pathForm := ""
	if p := r.URL.EscapedPath(); strings.HasPrefix(p, VerifyPath+"/") {
		pathForm = strings.TrimPrefix(p, VerifyPath)
		if r.URL.RawQuery != "" {
			pathForm += "?" + r.URL.RawQuery
		}
	}
	switch {
	case hu != "" && pathForm != "" && hu != pathForm:
		return refuse("the original URI is described twice and the descriptions disagree (" + huName + " and the path below " + VerifyPath + "); configure the proxy to send one")
	case hu != "":
		if hm == "" {
			return refuse(huName + " needs its method header too (X-Original-Method with X-Original-URI, X-Forwarded-Method with X-Forwarded-Uri); configure the proxy to send it")
		}
		uri = hu
	case pathForm != "":
		uri = pathForm
		if hm != "" && hm != r.Method {
			return refuse(hmName + " (" + hm + ") disagrees with the request's own method (" + r.Method + "); configure the proxy to send one")
		}
	default:
		reason := "forward-auth needs the original request: nginx sends X-Original-Method and X-Original-URI, " +
			"Traefik and Caddy X-Forwarded-Method and X-Forwarded-Uri, Envoy calls " + VerifyPath + "/<original path>; see docs/gateway.md"
		if !c.ViaProxy && (r.Header.Get("X-Original-Uri") != "" || r.Header.Get("X-Forwarded-Uri") != "") {
			reason = "the original URI header was ignored: this request came from " + c.IP +
				", which is not in --trusted-proxies; add the proxy's address there"
		}
		return refuse(reason)
	}
	if hm != "" {
		method = hm
	} else {
		method = r.Method
	}
	if !validMethod(method) {
		return refuse("the original method " + quoteShort(method) + " is not an HTTP method")
	}
	uri, err = originForm(r, uri)
	return method, uri, err
}

// oneOf reads the headers naming one fact, each at most once; when several
// are present they must agree. It returns the value and the header it came
// from. names must be canonical (http.CanonicalHeaderKey): they are looked
// up as they are, as net/http stores received headers.
func oneOf(h http.Header, names ...string) (value, from string, err error) {
	for _, n := range names {
		vs := h[n]
		switch {
		case len(vs) == 0:
			continue
		case len(vs) > 1:
			_, _, err = refuse(n + " is sent more than once; the proxy must set it exactly once")
			return "", "", err
		case value != "" && vs[0] != value:
			_, _, err = refuse(from + " and " + n + " disagree (" + quoteShort(value) + " vs " + quoteShort(vs[0]) +
				"); a client may have sent one of them: configure the proxy to set one and remove the other")
			return "", "", err
		}
		value, from = vs[0], n
	}
	return value, from, nil
}

// originForm checks uri and returns it in origin form (path and query).
func originForm(r *http.Request, uri string) (string, error) {
	for i := 0; i < len(uri); i++ {
		switch c := uri[i]; {
		case c < 0x20 || c == 0x7f:
			_, _, err := refuse("the original URI holds a control character; Latchkey judges only URIs it can read exactly")
			return "", err
		case c == ' ':
			_, _, err := refuse("the original URI holds a space; send it percent-encoded")
			return "", err
		case c == '#':
			_, _, err := refuse("the original URI holds '#': a fragment is never sent to a server, so the proxy and Latchkey would judge different paths")
			return "", err
		}
	}
	if strings.HasPrefix(uri, "/") {
		if strings.HasPrefix(uri, "//") {
			_, _, err := refuse("the original URI starts with \"//\"; send a path")
			return "", err
		}
		return uri, nil
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		_, _, err := refuse("the original URI " + quoteShort(uri) + " is neither a path nor an absolute http(s) URL")
		return "", err
	}
	host, _, bad := oneOf(r.Header, "X-Forwarded-Host")
	if bad != nil {
		return "", bad
	}
	if host == "" || !strings.EqualFold(host, u.Host) {
		_, _, err := refuse("the original URI is in absolute form for host " + quoteShort(u.Host) +
			" but X-Forwarded-Host is " + quoteShort(host) + "; Latchkey refuses a URI whose host it cannot match")
		return "", err
	}
	if proto, _, bad := oneOf(r.Header, "X-Forwarded-Proto"); bad != nil {
		return "", bad
	} else if proto != "" && !strings.EqualFold(proto, u.Scheme) {
		_, _, err := refuse("the original URI's scheme " + u.Scheme + " disagrees with X-Forwarded-Proto " + quoteShort(proto))
		return "", err
	}
	out := u.EscapedPath()
	if out == "" {
		out = "/"
	}
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out, nil
}

// validMethod reports whether m is an HTTP token (RFC 9110 §9.1).
func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}
