package gateway

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/scope"
)

// UpstreamSpec is one protected service, as configured: an entry of the
// config file's upstreams list, or the --upstream flag.
type UpstreamSpec struct {
	Source      string // where it was configured, for errors: "upstreams[2]" or "--upstream"
	Host        string // serve requests for this Host (port optional); "" = any host
	PathPrefix  string // serve requests under this path; "" or "/" = any path
	URL         string // where to forward, http:// or https://, optionally with a base path
	StripPrefix bool   // remove PathPrefix before forwarding
	// Routes are the upstream's own rules, matched against the path it
	// receives; nil means the top-level rules.
	Routes *scope.RulesConfig
}

// Reserved returns the path prefixes Latchkey keeps for itself in
// reverse-proxy mode, whatever the upstreams: its API, OAuth 2 and
// discovery endpoints, forward-auth, health and metrics. An upstream chosen
// by Host takes every path on its host, these included.
func Reserved() []string { return slices.Clone(reserved) }

var reserved = []string{"/api", "/oauth2", "/scim", "/.well-known", VerifyPath, "/healthz", "/readyz", "/metrics"}

// upstream is a validated UpstreamSpec.
type upstream struct {
	name   string // for logs and metrics, e.g. "git.example.com/git"
	host   string // lower-case; "" = any host
	port   bool   // host names a port, so compare host:port
	prefix string // segment prefix without trailing "/"; "" = any path
	strip  bool
	target *url.URL
	router *scope.Router
}

// parseUpstream validates s. Errors name the upstream and say how to fix it.
func parseUpstream(cat *scope.Catalog, defaultRules *scope.Router, s UpstreamSpec) (*upstream, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", s.Source, fmt.Sprintf(format, args...))
	}
	u := &upstream{strip: s.StripPrefix, router: defaultRules}
	target, err := parseTarget(s.URL)
	if err != nil {
		return nil, fail("%v", err)
	}
	u.target = target
	if u.host, u.port, err = parseHost(s.Host); err != nil {
		return nil, fail("%v", err)
	}
	if u.prefix, err = parsePrefix(s.PathPrefix); err != nil {
		return nil, fail("%v", err)
	}
	if u.strip && u.prefix == "" {
		return nil, fail("strip_prefix needs a path_prefix to strip; set path_prefix or remove strip_prefix")
	}
	if u.host == "" && u.prefix != "" {
		for _, r := range reserved {
			if hasSegmentPrefix(u.prefix, r) || hasSegmentPrefix(r, u.prefix) {
				return nil, fail("path_prefix %q overlaps %s, which Latchkey keeps for itself; choose another prefix, or give the upstream a host", s.PathPrefix, r)
			}
		}
	}
	if s.Routes != nil {
		if u.router, err = NewRules(cat, *s.Routes); err != nil {
			return nil, fail("%v", err)
		}
	}
	u.name = u.host
	if u.name == "" {
		u.name = "*"
	}
	u.name += u.prefix
	return u, nil
}

func parseTarget(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("url is missing; set it to the service's address, e.g. http://127.0.0.1:3000")
	}
	t, err := url.Parse(raw)
	if err != nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" {
		return nil, fmt.Errorf("url %q must be an absolute http:// or https:// URL, e.g. http://127.0.0.1:3000", raw)
	}
	if t.User != nil {
		return nil, fmt.Errorf("url must not carry credentials; Latchkey forwards the caller's identity in X-Latchkey-* headers")
	}
	if t.RawQuery != "" || t.Fragment != "" {
		return nil, fmt.Errorf("url %q must not have a query or fragment", raw)
	}
	return t, nil
}

func parseHost(h string) (host string, port bool, err error) {
	h = strings.ToLower(strings.TrimSpace(h))
	if h == "" {
		return "", false, nil
	}
	if strings.ContainsAny(h, "/?#@ ") {
		return "", false, fmt.Errorf("host %q must be a host name, optionally with a port, e.g. git.example.com", h)
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h, true, nil
	}
	return strings.Trim(h, "[]"), false, nil
}

func parsePrefix(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path_prefix %q must start with \"/\", e.g. /git", p)
	}
	p = strings.TrimSuffix(p, "/")
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "?#%") {
			return "", fmt.Errorf("path_prefix %q must be a plain path such as /git, without empty, \".\" or \"..\" segments, \"?\", \"#\" or \"%%\"", p)
		}
	}
	return p, nil
}

// hasSegmentPrefix reports whether path is prefix or lies below it: "/git"
// covers "/git" and "/git/x" but not "/gitx". The empty prefix covers all.
func hasSegmentPrefix(path, prefix string) bool {
	if prefix == "" {
		return true
	}
	return strings.HasPrefix(path, prefix) && (len(path) == len(prefix) || path[len(prefix)] == '/')
}

// matchHost reports whether the request's Host is this upstream's.
func (u *upstream) matchHost(reqHost string) bool {
	reqHost = strings.ToLower(reqHost)
	if u.port {
		return reqHost == u.host
	}
	if h, _, err := net.SplitHostPort(reqHost); err == nil {
		reqHost = h
	}
	return strings.Trim(reqHost, "[]") == u.host
}

// upstreamPath is the escaped path the upstream receives: the request's,
// without the prefix when strip is set.
func (u *upstream) upstreamPath(reqURL *url.URL) string {
	p := reqURL.EscapedPath()
	if !u.strip {
		return p
	}
	if hasSegmentPrefix(p, u.prefix) {
		p = p[len(u.prefix):]
	} else if hasSegmentPrefix(reqURL.Path, u.prefix) {
		// The prefix itself was sent percent-encoded; drop the encoding.
		p = (&url.URL{Path: reqURL.Path[len(u.prefix):]}).EscapedPath()
	}
	if p == "" {
		p = "/"
	}
	return p
}

// clientLocation turns a redirect of the upstream to its own address (an
// absolute URL built from the Host it received, which is the upstream's)
// into the address the client used: a path-absolute reference, with the
// path_prefix put back when it was stripped. The client is not sent to an
// internal address it cannot reach, nor told it. Other locations pass
// unchanged.
func (u *upstream) clientLocation(loc string) string {
	l, err := url.Parse(loc)
	if err != nil || !l.IsAbs() || !strings.EqualFold(l.Scheme, u.target.Scheme) || !strings.EqualFold(l.Host, u.target.Host) {
		return loc
	}
	p := l.EscapedPath()
	if base := strings.TrimSuffix(u.target.EscapedPath(), "/"); base != "" {
		if !hasSegmentPrefix(p, base) {
			return loc
		}
		p = p[len(base):]
	}
	if p == "" {
		p = "/"
	}
	if u.strip {
		p = u.prefix + p
	}
	if strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return loc // as a reference it would name another host
	}
	out := p
	if l.RawQuery != "" || l.ForceQuery {
		out += "?" + l.RawQuery
	}
	if l.Fragment != "" {
		out += "#" + l.EscapedFragment()
	}
	return out
}
