package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
)

// FrontOptions configure reverse-proxy mode.
type FrontOptions struct {
	Authorizer *Authorizer
	Catalog    *scope.Catalog
	// Rules are the top-level route rules, used by upstreams without their own.
	Rules *scope.Router
	// Timeout bounds the wait for an upstream's response headers once the
	// request has been sent; 0 means no limit.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Front is Latchkey's top-level handler: it sends each request to an
// upstream (in reverse-proxy mode), to forward-auth, or to Latchkey's own
// handler. The order is:
//
//  1. an upstream whose host matches the request's Host (the longest
//     path_prefix first, if it has one);
//  2. forward-auth, for /auth/verify and below, as sent: not cleaned or
//     redirected first, so the rules judge the path the proxy asked about;
//  3. Latchkey, for the other Reserved paths;
//  4. an upstream with only a path_prefix (the longest first);
//  5. the catch-all upstream (no host, no prefix), e.g. --upstream;
//  6. Latchkey.
type Front struct {
	latchkey  http.Handler
	verify    http.Handler
	byHost    []*proxy
	byPath    []*proxy
	catchAll  *proxy
	transport *http.Transport
}

// NewFront validates the upstreams and returns the handler that routes
// between them, verify and latchkey. With no upstreams it only keeps
// forward-auth requests away from the mux's path cleaning. Errors name the
// upstream at fault.
func NewFront(latchkey http.Handler, verify *Verify, specs []UpstreamSpec, opts FrontOptions) (*Front, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	f := &Front{latchkey: latchkey, verify: verify, transport: newTransport(opts.Timeout)}
	seen := map[string]string{}
	for _, s := range specs {
		u, err := parseUpstream(opts.Catalog, opts.Rules, s)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[u.name]; dup {
			return nil, fmt.Errorf("%s: it serves the same host and path prefix as %s; give each upstream its own host or path_prefix", s.Source, prev)
		}
		seen[u.name] = s.Source
		p := newProxy(u, opts.Authorizer, f.transport, opts.Timeout, opts.Logger)
		switch {
		case u.host != "":
			f.byHost = append(f.byHost, p)
		case u.prefix != "":
			f.byPath = append(f.byPath, p)
		default:
			f.catchAll = p
		}
	}
	longestFirst := func(a, b *proxy) int { return len(b.u.prefix) - len(a.u.prefix) }
	slices.SortStableFunc(f.byHost, longestFirst)
	slices.SortStableFunc(f.byPath, longestFirst)
	return f, nil
}

// ServeHTTP routes r.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := f.route(r); p != nil {
		p.ServeHTTP(w, r)
		return
	}
	if hasSegmentPrefix(r.URL.Path, VerifyPath) {
		r.Pattern = VerifyPath // the metrics label
		f.verify.ServeHTTP(w, r)
		return
	}
	if f.Proxying() && hasSegmentPrefix(r.URL.Path, ConsolePrefix) {
		f.serveConsole(w, r)
		return
	}
	if f.Proxying() {
		r.Header.Del("X-Forwarded-Prefix") // only serveConsole says where the console is
	}
	f.latchkey.ServeHTTP(w, r)
}

// Proxying reports whether any upstream is configured.
func (f *Front) Proxying() bool {
	return len(f.byHost)+len(f.byPath) > 0 || f.catchAll != nil
}

// route returns the upstream for r, or nil when Latchkey answers.
func (f *Front) route(r *http.Request) *proxy {
	for _, p := range f.byHost {
		if p.u.matchHost(r.Host) && hasSegmentPrefix(r.URL.Path, p.u.prefix) {
			return p
		}
	}
	for _, res := range reserved {
		if hasSegmentPrefix(r.URL.Path, res) {
			return nil
		}
	}
	for _, p := range f.byPath {
		if hasSegmentPrefix(r.URL.Path, p.u.prefix) {
			return p
		}
	}
	return f.catchAll
}

// serveConsole serves /-/x as /x from Latchkey's own handler, telling it
// the prefix it is mounted under.
func (f *Front) serveConsole(w http.ResponseWriter, r *http.Request) {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = strings.TrimPrefix(r.URL.Path, ConsolePrefix)
	u.RawPath = strings.TrimPrefix(r.URL.RawPath, ConsolePrefix)
	if u.Path == "" {
		u.Path = "/"
	}
	r2.URL = &url.URL{}
	*r2.URL = u
	r2.RequestURI = u.RequestURI()
	r2.Header = r.Header.Clone()
	r2.Header.Set("X-Forwarded-Prefix", ConsolePrefix)
	f.latchkey.ServeHTTP(w, r2)
}

// Close releases idle upstream connections.
func (f *Front) Close() { f.transport.CloseIdleConnections() }

// Describe lists the upstreams for the startup log: "host/prefix → url".
func (f *Front) Describe() []string {
	var out []string
	for _, group := range [][]*proxy{f.byHost, f.byPath, {f.catchAll}} {
		for _, p := range group {
			if p != nil {
				out = append(out, p.u.name+" → "+p.u.target.Redacted())
			}
		}
	}
	return out
}
