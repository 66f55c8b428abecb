package middleware

import (
	"path"
	"slices"
	"strings"
)

// The scope semantics below are Latchkey's (internal/scope), restated here
// because this package is public and imports nothing internal; the tests
// run both against the same cases.
//
// A grant is "scope" or "scope=pattern[,pattern...]". Patterns are
// path.Match globs ("*" does not cross "/"), except that "*" alone means any
// resource. "*" as a scope is the super-admin grant. A grant implies the
// scopes its scope implies, on the same resources.

// superAdmin is the grant that allows every scope on every resource.
const superAdmin = "*"

// DefaultImplies is the hierarchy of Latchkey's built-in scope catalog:
// "repo" implies "repo:read". A deployment with its own catalog publishes
// its hierarchy as latchkey_scope_implies in
// /.well-known/oauth-authorization-server; copy it into Options.Implies.
var DefaultImplies = map[string][]string{"repo": {"repo:read"}}

// holding is how a scope is held: on any resource, or on the resources one
// of the patterns matches.
type holding struct {
	any      bool
	patterns []string
}

// grants is a parsed, hierarchy-expanded list of scope strings.
type grants struct {
	super bool
	held  map[string]holding
}

// closure resolves a hierarchy transitively: scope → every scope it
// implies. Cycles are cut, not followed.
type closure map[string][]string

func newClosure(implies map[string][]string) closure {
	c := make(closure, len(implies))
	for name := range implies {
		seen := map[string]bool{name: true}
		stack := slices.Clone(implies[name])
		var all []string
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] || n == superAdmin {
				continue
			}
			seen[n] = true
			all = append(all, n)
			stack = append(stack, implies[n]...)
		}
		slices.Sort(all)
		c[name] = all
	}
	return c
}

var defaultClosure = newClosure(DefaultImplies)

// parseGrants parses scope strings as Latchkey writes them. A malformed
// grant grants nothing.
func parseGrants(scopes []string, c closure) *grants {
	g := &grants{held: make(map[string]holding, len(scopes))}
	for _, s := range scopes {
		name, h, ok := parseGrant(s)
		if !ok {
			continue
		}
		if name == superAdmin {
			g.super = true
			continue
		}
		g.hold(name, h)
		for _, implied := range c[name] {
			g.hold(implied, h)
		}
	}
	return g
}

func parseGrant(s string) (string, holding, bool) {
	name, list, narrowed := strings.Cut(strings.TrimSpace(s), "=")
	name = strings.TrimSpace(name)
	if name == "" || (narrowed && name == superAdmin) {
		return "", holding{}, false
	}
	if !narrowed {
		return name, holding{any: true}, true
	}
	var pats []string
	for p := range strings.SplitSeq(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			return "", holding{}, false
		}
		if p == "*" {
			return name, holding{any: true}, true
		}
		if _, err := path.Match(p, ""); err != nil {
			return "", holding{}, false
		}
		pats = append(pats, p)
	}
	return name, holding{patterns: pats}, true
}

func (g *grants) hold(name string, h holding) {
	prev, ok := g.held[name]
	switch {
	case !ok:
	case prev.any || h.any:
		h = holding{any: true}
	default:
		h.patterns = append(slices.Clone(prev.patterns), h.patterns...)
	}
	g.held[name] = h
}

// allows is scope.Set.Allows: an empty resource means the check names no
// resource, so holding the scope on any resource is enough.
func (g *grants) allows(scope, resource string) bool {
	if g.super {
		return true
	}
	h, ok := g.held[scope]
	if !ok {
		return false
	}
	if h.any || resource == "" {
		return true
	}
	for _, p := range h.patterns {
		if ok, _ := path.Match(p, resource); ok {
			return true
		}
	}
	return false
}

// allowsEvery reports whether scope is held on every resource.
func (g *grants) allowsEvery(scope string) bool {
	if g.super {
		return true
	}
	h, ok := g.held[scope]
	return ok && h.any
}
