package scope

import (
	"slices"
)

// Intersect returns what both s and o allow: the effective permission of a
// token is its scopes intersected with its owner's role. The hierarchy is
// respected: "repo=acme/*" intersected with a role holding only "repo:read"
// yields "repo:read=acme/*". A super-admin side yields the other side.
//
// Patterns are intersected conservatively: a pattern of one side is kept
// when a pattern of the other side contains it ("acme/web" ∩ "acme/*" =
// "acme/web"); patterns that merely overlap ("acme/*" ∩ "*/web") are
// dropped, so the result never allows more than both sides do.
func (s Set) Intersect(o Set) Set {
	switch {
	case o.super:
		return s
	case s.super:
		return o
	}
	cat := s.cat
	if cat == nil {
		cat = o.cat
	}
	if cat == nil {
		return Set{}
	}
	both := make(map[string]holding)
	for name, hs := range s.held {
		if ho, ok := o.held[name]; ok {
			if h, ok := intersect(hs, ho); ok {
				both[name] = h
			}
		}
	}
	var gs []Grant
	for name, h := range both {
		if impliedWithin(cat, both, name, h) {
			continue // a broader grant in the result already carries it
		}
		g := Grant{Scope: name}
		if !h.any {
			g.Resources = h.patterns
		}
		gs = append(gs, g)
	}
	slices.SortFunc(gs, compareGrants)
	return cat.newSet(gs)
}

// impliedWithin reports whether another scope of held implies name and
// holds it on at least the same resources, so the grant need not be listed.
func impliedWithin(cat *Catalog, held map[string]holding, name string, h holding) bool {
	for other, ho := range held {
		if other == name {
			continue
		}
		if _, ok := slices.BinarySearch(cat.closure[other], name); !ok {
			continue
		}
		if ho.any || (!h.any && ho.covers(h.patterns)) {
			return true
		}
	}
	return false
}

// Covers reports whether s allows every grant of o: use it to check that a
// new token, or an exchanged one, only narrows what its creator holds.
func (s Set) Covers(o Set) bool {
	for _, g := range o.grants {
		if _, missing := s.uncovered(g); missing {
			return false
		}
	}
	return true
}

// Missing returns the grants of o that s does not cover, as canonical
// strings, to name them in a 403 message. A grant covered on some of its
// patterns only is returned with the uncovered patterns.
func (s Set) Missing(o Set) []string {
	var out []string
	for _, g := range o.grants {
		if m, missing := s.uncovered(g); missing {
			out = append(out, m.String())
		}
	}
	return out
}

// uncovered returns the part of g that s does not allow.
func (s Set) uncovered(g Grant) (Grant, bool) {
	if s.super {
		return Grant{}, false
	}
	h, ok := s.held[g.Scope]
	switch {
	case !ok || g.Scope == SuperAdmin:
		return g, true
	case h.any:
		return Grant{}, false
	case len(g.Resources) == 0:
		return g, true
	}
	var miss []string
	for _, p := range g.Resources {
		if !h.coversPattern(p) {
			miss = append(miss, p)
		}
	}
	if len(miss) == 0 {
		return Grant{}, false
	}
	return Grant{Scope: g.Scope, Resources: miss}, true
}
