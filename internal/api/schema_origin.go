package api

import (
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/latchkey/latchkey/internal/auth"
)

// Every JSON answer of the API names its schema in "$schema": an absolute
// URL of /api/v1/schemas/<Type>.json. huma's schema-link transformer builds
// it from X-Forwarded-Host, Forwarded or Host, whoever sent them, guesses
// https for every host but localhost and 127.0.0.1, and for a Host of
// "localhost:8080" writes "https:////api/v1/...". So the transformer is
// handed the origin Latchkey itself decides (origin) in place of the
// forwarded host it would read.

// origin is the start of the URL the client reached this server at, in
// two parts that are each a constant or a piece of a header (so building
// the /api/v1/me memo's key allocates nothing): scheme ("http://",
// "https://", or "" when host is a whole configured URL) and host.
//
//   - With --public-url set, it is that URL: the one users reach Latchkey
//     at, whatever a request says.
//   - From a trusted proxy (--trusted-proxies), the last X-Forwarded-Host
//     and X-Forwarded-Proto, else the last Forwarded element's host= and
//     proto=, each when it is well formed; the rest as for a direct client.
//     The last element is the one the trusted peer wrote: a proxy that
//     appends to these headers, rather than replacing them, keeps what the
//     client sent in front of it.
//   - Otherwise the request's Host, over https when it came over TLS.
//
// A request without a usable host gets the URL derived from --listen.
func origin(r *http.Request, c *auth.Client, d *Deps) (scheme, host string) {
	if d.PublicURLSet {
		return "", d.PublicURL
	}
	scheme = "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	host = r.Host
	if c != nil && c.ViaProxy {
		fwd := lastElement(r.Header.Get("Forwarded"))
		if h := lastElement(r.Header.Get("X-Forwarded-Host")); validHost(h) {
			host = h
		} else if h := forwardedParam(fwd, "host"); validHost(h) {
			host = h
		}
		proto := lastElement(r.Header.Get("X-Forwarded-Proto"))
		if proto == "" {
			proto = forwardedParam(fwd, "proto")
		}
		switch {
		case strings.EqualFold(proto, "https"):
			scheme = "https://"
		case strings.EqualFold(proto, "http"):
			scheme = "http://"
		}
	}
	if !validHost(host) {
		if d.PublicURL == "" {
			return "http://", "localhost"
		}
		return "", d.PublicURL
	}
	return scheme, host
}

// lastElement is the last comma-separated element of a header's value,
// trimmed: what the proxy nearest Latchkey wrote.
func lastElement(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// forwardedParam is the value of one parameter of an RFC 7239 element,
// unquoted, or "".
func forwardedParam(elem, name string) string {
	for pair := range strings.SplitSeq(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(k, name) {
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}

// validHost reports whether h is a host name or address with an optional
// port, and nothing that could change the URL it starts (no path, query,
// user info, quote or space).
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// originContext is the huma context the schema-link transformer sees: the
// forwarded host it reads is the whole origin (scheme and host), which it
// takes as the start of the URL; it reads no other forwarding header.
type originContext struct {
	humaContext
	base string
}

// humaContext names huma.Context for embedding (a field named Context
// would hide its Context method).
type humaContext = huma.Context

func (c originContext) Header(name string) string {
	switch {
	case strings.EqualFold(name, "X-Forwarded-Host"):
		return c.base
	case strings.EqualFold(name, "Forwarded"):
		return ""
	}
	return c.humaContext.Header(name)
}

func (c originContext) Unwrap() huma.Context { return c.humaContext }

// originTransform is link's transformer, building $schema URLs from the
// origin Latchkey decides.
func (a *API) originTransform(link *huma.SchemaLinkTransformer) huma.Transformer {
	return func(ctx huma.Context, status string, v any) (any, error) {
		scheme, host := a.requestOrigin(ctx)
		return link.Transform(originContext{humaContext: ctx, base: scheme + host}, status, v)
	}
}

// requestOrigin is origin for the request behind ctx.
func (a *API) requestOrigin(ctx huma.Context) (scheme, host string) {
	r, _ := humago.Unwrap(ctx)
	return origin(r, auth.ClientFrom(ctx.Context()), &a.d)
}
