package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
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
	// ConsoleHost is the only host the web console is served on in
	// reverse-proxy mode (--console-host). Without it the console is served
	// only when every upstream has a host of its own.
	ConsoleHost string
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
//  6. Latchkey: its console only where the console may be served (see
//     consoleHere); elsewhere 404.
//
// A request for the console host (--console-host) goes to Latchkey alone,
// never to an upstream. In reverse-proxy mode the console is never served
// on an origin whose content an upstream provides: a page of the proxied
// service could otherwise fetch a console page with the visitor's session
// cookie (for example /cli-auth, which shows a session token).
type Front struct {
	latchkey    http.Handler
	verify      http.Handler
	byHost      []*proxy
	byPath      []*proxy
	catchAll    *proxy
	transport   *http.Transport
	consoleHost string
	consolePort bool
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
	var err error
	if f.consoleHost, f.consolePort, err = parseHost(opts.ConsoleHost); err != nil {
		return nil, fmt.Errorf("--console-host: %v", err)
	}
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
		if u.host != "" && f.consoleHost != "" && strings.Trim(u.host, "[]") == f.consoleHost {
			return nil, fmt.Errorf("%s: its host is the --console-host; give the console a host of its own", s.Source)
		}
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
	onConsoleHost := f.consoleHost != "" && f.isConsoleHost(r.Host)
	if !onConsoleHost {
		if p := f.route(r); p != nil {
			p.ServeHTTP(w, r)
			return
		}
	}
	if hasSegmentPrefix(r.URL.Path, VerifyPath) {
		r.Pattern = VerifyPath // the metrics label
		f.verify.ServeHTTP(w, r)
		return
	}
	if !f.Proxying() {
		f.latchkey.ServeHTTP(w, r)
		return
	}
	r.Header.Del("X-Forwarded-Prefix") // the console is at the root of its host
	if onConsoleHost || isReserved(r.URL.Path) || f.consoleHere() {
		f.latchkey.ServeHTTP(w, r)
		return
	}
	r.Pattern = "console elsewhere"
	msg := "not found: in reverse-proxy mode the web console is not served where a proxied service's pages could reach it"
	if f.consoleHost != "" {
		msg += "; open it at its own host, " + f.consoleHost
	} else {
		msg += "; the operator can give it a host of its own with --console-host"
	}
	http.Error(w, msg, http.StatusNotFound)
}

// consoleHere reports whether, on a host other than --console-host, the
// console may be served: only when no upstream serves every host (a
// catch-all or a path prefix without a host) and no console host is set.
func (f *Front) consoleHere() bool {
	return f.consoleHost == "" && f.catchAll == nil && len(f.byPath) == 0
}

func (f *Front) isConsoleHost(reqHost string) bool {
	u := upstream{host: f.consoleHost, port: f.consolePort}
	return u.matchHost(reqHost)
}

func isReserved(path string) bool {
	for _, res := range reserved {
		if hasSegmentPrefix(path, res) {
			return true
		}
	}
	return false
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
