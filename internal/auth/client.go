package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Client is what the edge learned about where a request came from. It is
// computed once per request by Edge.Handler and read with ClientFrom or
// ClientOf; handlers never look at RemoteAddr or forwarding headers
// themselves.
type Client struct {
	// IP is the client's address without port: the direct peer's, or, when
	// the peer is a trusted proxy, the right-most address of its
	// forwarding header that is not itself a trusted proxy.
	IP    string
	Agent string // User-Agent, cleaned by cleanAgent
	// RequestID ties every log line of the request together.
	RequestID string
	// ViaProxy is true when the direct peer is inside --trusted-proxies:
	// only then may the request tell Latchkey the original method and URI
	// (forward-auth) or the client's address.
	ViaProxy bool

	idHeader [1]string // RequestID as the X-Request-Id header's value
}

// Request is the client as verification needs it.
func (c *Client) Request() Request { return Request{IP: c.IP, Agent: c.Agent} }

type clientKey struct{}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c *Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the request's client, or nil outside Edge.Handler.
func ClientFrom(ctx context.Context) *Client {
	c, _ := ctx.Value(clientKey{}).(*Client)
	return c
}

// ClientOf returns r's client as Edge.Handler computed it; a request that
// did not pass through it (a handler tested alone) gets its direct peer,
// trusting no forwarding header.
func ClientOf(r *http.Request) *Client {
	if c := ClientFrom(r.Context()); c != nil {
		return c
	}
	return &Client{IP: peerIP(r.RemoteAddr), Agent: cleanAgent(r.UserAgent())}
}

// RequestID is the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if c := ClientFrom(ctx); c != nil {
		return c.RequestID
	}
	return ""
}

func peerIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// Proxies is the --trusted-proxies list: the only peers whose forwarding
// headers (X-Forwarded-For, Forwarded, X-Real-IP, and for forward-auth the
// original method and URI) Latchkey believes. The zero value trusts none.
type Proxies struct{ nets []netip.Prefix }

// ParseProxies parses CIDRs or single addresses. Errors name the entry at
// fault and say what is expected.
func ParseProxies(entries []string) (*Proxies, error) {
	p := &Proxies{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if pre, err := netip.ParsePrefix(e); err == nil {
			p.nets = append(p.nets, pre.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither a CIDR (10.0.0.0/8) nor an address (127.0.0.1)", e)
		}
		a = a.Unmap()
		p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

// Trusts reports whether ip (textual, without port) is a trusted proxy.
func (p *Proxies) Trusts(ip string) bool {
	if p == nil || len(p.nets) == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	return p.trusts(a.Unmap())
}

func (p *Proxies) trusts(a netip.Addr) bool {
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// ForwardingError is a request whose forwarded client address cannot be
// read without guessing: a malformed header, or headers that disagree.
// Reason is safe to show the caller.
type ForwardingError struct{ Reason string }

func (e *ForwardingError) Error() string { return e.Reason }

// Forwarding headers, in the order the client address is read from them.
// When several are present they must name the same client. The names are
// canonical, so they are looked up without canonicalising them again.
var forwardingHeaders = [...]string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"}

// ClientIP returns the client address of r: the direct peer's unless the
// peer is trusted, else the right-most untrusted address of the forwarding
// headers (all present ones must agree). viaProxy says whether the peer is
// trusted.
func (p *Proxies) ClientIP(r *http.Request) (ip string, viaProxy bool, err error) {
	peer := peerIP(r.RemoteAddr)
	if p == nil || len(p.nets) == 0 {
		return peer, false, nil
	}
	pa, perr := netip.ParseAddr(peer)
	if perr != nil || !p.trusts(pa.Unmap()) {
		return peer, false, nil
	}
	found := ""
	from := ""
	for _, name := range forwardingHeaders {
		values := r.Header[name]
		if len(values) == 0 {
			continue
		}
		chain, err := parseChain(name, values)
		if err != nil {
			return peer, true, err
		}
		got := p.rightmostUntrusted(chain)
		if found != "" && got != found {
			return peer, true, &ForwardingError{Reason: "the forwarding headers disagree about the client address (" +
				from + " says " + found + ", " + name + " says " + got + "); the proxy in front must set one of them and remove the others"}
		}
		found, from = got, name
	}
	if found == "" {
		return peer, true, nil
	}
	return found, true, nil
}

// rightmostUntrusted walks chain from the right, skipping trusted proxies;
// when every hop is trusted, the left-most is the client.
func (p *Proxies) rightmostUntrusted(chain []netip.Addr) string {
	for i := len(chain) - 1; i >= 0; i-- {
		if !p.trusts(chain[i]) {
			return chain[i].String()
		}
	}
	return chain[0].String()
}

// parseChain reads the addresses of one forwarding header, left to right.
func parseChain(name string, values []string) ([]netip.Addr, error) {
	bad := func(v string) error {
		return &ForwardingError{Reason: "the " + name + " header is malformed (" + quoteShort(v) +
			"); it must list IP addresses, e.g. " + example(name)}
	}
	var out []netip.Addr
	for _, line := range values {
		for _, item := range strings.Split(line, ",") {
			item = strings.TrimSpace(item)
			if name == "Forwarded" {
				v, ok := forwardedFor(item)
				if !ok {
					return nil, bad(item)
				}
				item = v
			}
			a, ok := parseHostAddr(item)
			if !ok {
				return nil, bad(item)
			}
			out = append(out, a)
		}
	}
	if name == "X-Real-Ip" && len(out) != 1 {
		return nil, &ForwardingError{Reason: "X-Real-IP must hold exactly one address"}
	}
	if len(out) == 0 {
		return nil, bad("")
	}
	return out, nil
}

// forwardedFor returns the for= value of one RFC 7239 element.
func forwardedFor(elem string) (string, bool) {
	var v string
	found := false
	for _, pair := range strings.Split(elem, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return "", false
		}
		if strings.EqualFold(k, "for") {
			if found {
				return "", false
			}
			v, found = strings.Trim(val, `"`), true
		}
	}
	return v, found
}

// parseHostAddr reads "1.2.3.4", "1.2.3.4:5", "::1", "[::1]" or "[::1]:5".
func parseHostAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func example(name string) string {
	if name == "Forwarded" {
		return `Forwarded: for=203.0.113.7`
	}
	return name + ": 203.0.113.7"
}

func quoteShort(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return fmt.Sprintf("%q", s)
}
