package scope

import (
	"net/url"
	"strings"
)

// Decision is what a request to the upstream needs.
type Decision struct {
	Rule     *Rule  // the rule that matched, nil if none; shared, do not modify
	Public   bool   // no credential needed
	Deny     bool   // refuse: no rule matched and the default is deny, or the path is not canonical
	Scope    string // the scope to check; "" when no rule matched and Deny is false: any valid credential will do
	Resource string // the resource to check Scope on; "" if the rule names none
}

// Decide returns what a request needs; the first matching rule wins.
// requestURI is the path as sent (percent-encoded), optionally with a query
// string, as in nginx's $request_uri or Traefik's X-Forwarded-Uri; an
// absolute URI is reduced to its path.
//
// The path is matched segment by segment after percent-decoding. Paths the
// upstream could read differently from us are denied whatever the rules and
// the default say: empty segments ("//"), "." and ".." segments (encoded
// or not), a segment that decodes to contain "/", a backslash, ";" or a
// control character, and malformed escapes. A single trailing "/" is ignored.
func (r *Router) Decide(method, requestURI string) Decision {
	p, rawQuery, _ := strings.Cut(requestURI, "?")
	p, _, _ = strings.Cut(p, "#")
	p = stripSchemeHost(p)
	var segBuf [16]string
	segs, ok := splitPath(p, segBuf[:0])
	if !ok {
		return Decision{Deny: true}
	}
	method = strings.ToUpper(method)
	var valBuf [8]string
	for i := range r.rules {
		cr := &r.rules[i]
		if !cr.matchMethod(method) {
			continue
		}
		vals, ok := cr.matchPath(segs, valBuf[:0])
		if !ok || !cr.matchQuery(rawQuery) {
			continue
		}
		return Decision{
			Rule:     &cr.rule,
			Public:   cr.rule.Public,
			Scope:    cr.rule.Scope,
			Resource: cr.render(vals),
		}
	}
	return Decision{Deny: !r.authenticated}
}

// stripSchemeHost turns "https://host/path" into "/path".
func stripSchemeHost(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	_, after, ok := strings.Cut(p, "://")
	if !ok {
		return p
	}
	if i := strings.IndexByte(after, '/'); i >= 0 {
		return after[i:]
	}
	return "/"
}

// splitPath appends the decoded segments of p to segs, or reports false if p
// is not a canonical absolute path.
func splitPath(p string, segs []string) ([]string, bool) {
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	p = strings.TrimSuffix(p[1:], "/")
	for p != "" {
		seg, rest, _ := strings.Cut(p, "/")
		p = rest
		if strings.IndexByte(seg, '%') >= 0 {
			dec, err := url.PathUnescape(seg)
			if err != nil || strings.IndexByte(dec, '/') >= 0 {
				return nil, false
			}
			seg = dec
		}
		// A backslash is a separator to some services (IIS, some routers):
		// "..\..\other" would climb out of the resource judged here. A ";"
		// starts path parameters, which servlet containers and Spring drop
		// (some after decoding "%3B"): "prod;-staging" would be judged as a
		// service a token for "*-staging" holds, and run as "prod". nginx,
		// Caddy and Traefik pass both on as sent.
		if seg == "" || seg == "." || seg == ".." || hasControl(seg) || strings.IndexAny(seg, "\\;") >= 0 {
			return nil, false
		}
		segs = append(segs, seg)
	}
	return segs, true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func (cr *compiledRule) matchMethod(method string) bool {
	if len(cr.methods) == 0 {
		return true
	}
	for _, m := range cr.methods {
		if m == method || (m == "GET" && method == "HEAD") {
			return true
		}
	}
	return false
}

// matchPath appends the captured parameter values to vals.
func (cr *compiledRule) matchPath(segs, vals []string) ([]string, bool) {
	for i, sp := range cr.segments {
		if sp.rest {
			return append(vals, strings.Join(segs[i:], "/")), true
		}
		if i >= len(segs) {
			return nil, false
		}
		s := segs[i]
		if sp.param == "" {
			if s != sp.literal {
				return nil, false
			}
			continue
		}
		v, ok := strings.CutSuffix(s, sp.suffix)
		if !ok || v == "" {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, len(segs) == len(cr.segments)
}

// matchQuery reports whether every required key is present and every
// occurrence of it carries the required value. A query with ";" never
// matches a rule with required values: servers disagree on whether ";"
// separates parameters.
func (cr *compiledRule) matchQuery(raw string) bool {
	if len(cr.query) == 0 {
		return true
	}
	if strings.IndexByte(raw, ';') >= 0 {
		return false
	}
	for _, kv := range cr.query {
		if !queryHas(raw, kv[0], kv[1]) {
			return false
		}
	}
	return true
}

func queryHas(raw, key, want string) bool {
	found := false
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		k, ok1 := unescapeQuery(k)
		v, ok2 := unescapeQuery(v)
		if !ok1 || !ok2 {
			return false // malformed: refuse rather than guess
		}
		if k != key {
			continue
		}
		if v != want {
			return false
		}
		found = true
	}
	return found
}

func unescapeQuery(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// render fills the resource template with captured values.
func (cr *compiledRule) render(vals []string) string {
	switch {
	case len(cr.resource) == 0:
		return ""
	case len(cr.resource) == 1 && cr.resource[0].param >= 0:
		return vals[cr.resource[0].param]
	}
	var b strings.Builder
	for _, part := range cr.resource {
		if part.param >= 0 {
			b.WriteString(vals[part.param])
		} else {
			b.WriteString(part.literal)
		}
	}
	return b.String()
}
