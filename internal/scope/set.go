package scope

import (
	"fmt"
	"maps"
	"path"
	"slices"
)

// Set is an immutable set of grants, expanded through the catalog's
// hierarchy when it is built so that checking it needs no catalog and does
// not allocate. Build it once per token and check it per request. The zero
// Set holds no scopes. Sets are safe for concurrent use.
type Set struct {
	grants []Grant            // as given: merged, canonical, sorted by scope
	held   map[string]holding // expanded: every scope held, implied ones included
	super  bool               // holds "*"
	cat    *Catalog           // for re-expanding derived sets (Intersect)
}

// holding is how a scope is held: on any resource, or on those matched by
// one of the patterns (sorted, deduplicated).
type holding struct {
	any      bool
	patterns []string
}

// ParseSet parses every grant, merges grants of the same scope (a grant on
// any resource absorbs patterned ones; patterns are united) and expands the
// hierarchy. The error names the first offending entry.
func (c *Catalog) ParseSet(ss []string) (Set, error) {
	byScope := make(map[string]Grant, len(ss))
	size := 0
	for i, s := range ss {
		g, err := c.ParseGrant(s)
		if err != nil {
			return Set{}, fmt.Errorf("scope %d of %d: %w", i+1, len(ss), err)
		}
		for _, p := range g.Resources {
			size += len(p)
		}
		if size > MaxPatternBytes {
			return Set{}, invalidf("the scopes' resource patterns add up to more than %d bytes (at scope %d of %d); use fewer or wider patterns such as \"acme/*\"", MaxPatternBytes, i+1, len(ss))
		}
		if prev, ok := byScope[g.Scope]; ok {
			g = mergeGrants(prev, g)
		}
		byScope[g.Scope] = g
	}
	gs := slices.Collect(maps.Values(byScope))
	slices.SortFunc(gs, compareGrants)
	return c.newSet(gs), nil
}

func mergeGrants(a, b Grant) Grant {
	if len(a.Resources) == 0 || len(b.Resources) == 0 {
		return Grant{Scope: a.Scope}
	}
	return Grant{Scope: a.Scope, Resources: sortedPatterns(append(slices.Clone(a.Resources), b.Resources...))}
}

// newSet expands canonical, merged, sorted grants through the hierarchy.
func (c *Catalog) newSet(gs []Grant) Set {
	if len(gs) == 0 {
		return Set{cat: c}
	}
	s := Set{grants: gs, held: make(map[string]holding), cat: c}
	for _, g := range gs {
		if g.Scope == SuperAdmin {
			s.super = true
			continue
		}
		h := holding{any: len(g.Resources) == 0, patterns: g.Resources}
		s.hold(g.Scope, h)
		for _, t := range c.closure[g.Scope] {
			s.hold(t, h)
		}
	}
	return s
}

func (s *Set) hold(name string, h holding) {
	prev, ok := s.held[name]
	switch {
	case !ok:
	case prev.any || h.any:
		h = holding{any: true}
	default:
		h.patterns = sortedPatterns(append(slices.Clone(prev.patterns), h.patterns...))
	}
	s.held[name] = h
}

// Grants returns the grants as given (merged, canonical, sorted by scope),
// not expanded: what is stored and shown.
func (s Set) Grants() []Grant {
	out := make([]Grant, len(s.grants))
	for i, g := range s.grants {
		out[i] = Grant{Scope: g.Scope, Resources: slices.Clone(g.Resources)}
	}
	return out
}

// Strings returns Grants as canonical strings.
func (s Set) Strings() []string {
	out := make([]string, len(s.grants))
	for i, g := range s.grants {
		out[i] = g.String()
	}
	return out
}

// Names returns every scope held, implied ones included, sorted. "*" stands
// for itself only: it is not expanded to the whole catalog.
func (s Set) Names() []string {
	out := slices.Collect(maps.Keys(s.held))
	if s.super {
		out = append(out, SuperAdmin)
	}
	slices.Sort(out)
	return out
}

// IsSuperAdmin reports whether s holds the super-admin grant "*".
func (s Set) IsSuperAdmin() bool { return s.super }

// IsEmpty reports whether s holds no scope at all.
func (s Set) IsEmpty() bool { return len(s.grants) == 0 }

// Has reports whether s holds scope on at least some resource, directly or
// through the hierarchy. The super-admin grant has every scope.
func (s Set) Has(scope string) bool {
	if s.super {
		return true
	}
	_, ok := s.held[scope]
	return ok
}

// Allows reports whether s permits scope on resource, hierarchy-aware:
// "repo=acme/*" allows ("repo:read", "acme/web"); "*" allows everything.
//
// An empty resource means the route names no resource, so it is not
// resource-scoped: holding the scope at all is enough, whatever patterns it
// is narrowed to. A route that must respect patterns has to name its
// resource. Allows does not allocate.
func (s Set) Allows(scope, resource string) bool {
	if s.super {
		return true
	}
	h, ok := s.held[scope]
	if !ok {
		return false
	}
	if h.any || resource == "" {
		return true
	}
	return h.allows(resource)
}

func (h holding) allows(resource string) bool {
	if h.any {
		return true
	}
	for _, p := range h.patterns {
		// Patterns were validated when parsed, so Match cannot fail.
		if ok, _ := path.Match(p, resource); ok {
			return true
		}
	}
	return false
}
