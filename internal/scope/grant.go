package scope

import (
	"cmp"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on resource patterns. They keep one token from tying up a core:
// checking and intersecting patterns costs time in their number and size.
const (
	// MaxPatternLen is the longest resource pattern accepted, in bytes.
	MaxPatternLen = 200
	// MaxPatternsPerGrant is the most resource patterns one grant may list.
	MaxPatternsPerGrant = 50
	// MaxPatternBytes is the most bytes of resource patterns one set of
	// scopes (one token) may hold in all.
	MaxPatternBytes = 4096
)

// anyResource is the pattern that stands for every resource, slashes
// included; it is stored as a grant with no patterns.
const anyResource = "*"

// Grant is one scope, optionally narrowed to resource patterns. Its string
// form is "scope" or "scope=pattern[,pattern...]", e.g. "repo:read=acme/*".
// Patterns are path.Match globs ("*" does not cross "/"), except that "*"
// alone means any resource.
type Grant struct {
	Scope     string
	Resources []string // nil or empty = any resource
}

// String returns the canonical form of g: patterns sorted and deduplicated.
func (g Grant) String() string {
	if len(g.Resources) == 0 {
		return g.Scope
	}
	pats := sortedPatterns(g.Resources)
	if slices.Contains(pats, anyResource) {
		return g.Scope
	}
	return g.Scope + "=" + strings.Join(pats, ",")
}

// ParseGrant parses and validates the string form of one grant against the
// catalog. Spaces around the scope and around each pattern are ignored.
func (c *Catalog) ParseGrant(s string) (Grant, error) {
	g, msg := c.parseGrant(s)
	if msg != "" {
		return Grant{}, invalidf("invalid scope %q: %s", s, msg)
	}
	return g, nil
}

func (c *Catalog) parseGrant(s string) (Grant, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Grant{}, `it is empty; write a scope name such as "repo:read", optionally narrowed to resources as in "repo:read=acme/*"`
	}
	name, list, narrowed := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	d, ok := c.Lookup(name)
	if !ok {
		return Grant{}, "unknown scope " + quote(name) + "; known scopes: " + c.known
	}
	if !narrowed {
		return Grant{Scope: name}, ""
	}
	if d.Resource == "" {
		return Grant{}, "scope " + quote(name) + " cannot be narrowed to resources; write just " + quote(name) +
			" (narrowable scopes: " + c.narrowable() + ")"
	}
	var pats []string
	if n := strings.Count(list, ",") + 1; n > MaxPatternsPerGrant {
		return Grant{}, "it lists " + strconv.Itoa(n) + " resource patterns; at most " + strconv.Itoa(MaxPatternsPerGrant) +
			" patterns per scope are allowed: use wider patterns such as \"acme/*\", or several tokens"
	}
	for p := range strings.SplitSeq(list, ",") {
		p = strings.TrimSpace(p)
		if msg := checkPattern(p); msg != "" {
			return Grant{}, msg
		}
		if p == anyResource {
			return Grant{Scope: name}, ""
		}
		pats = append(pats, p)
	}
	return Grant{Scope: name, Resources: sortedPatterns(pats)}, ""
}

// checkPattern returns why p is not an acceptable resource pattern, or "".
func checkPattern(p string) string {
	switch {
	case p == "":
		return `a resource pattern is empty; write one such as "acme/*" after "=", separate several with ",", or drop the "=" to allow every resource`
	case len(p) > MaxPatternLen:
		return "a resource pattern is " + strconv.Itoa(len(p)) + " characters long; the limit is " + strconv.Itoa(MaxPatternLen)
	case !utf8.ValidString(p):
		return "resource pattern " + quote(p) + " is not valid UTF-8"
	case strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "resource pattern " + quote(p) + " contains whitespace or a control character; remove it"
	}
	if _, err := path.Match(p, ""); err != nil {
		return "resource pattern " + quote(p) + ` is not a valid glob; check its [...] classes and \ escapes ("*" matches within one path segment, "?" one character)`
	}
	return ""
}

func (c *Catalog) narrowable() string {
	var names []string
	for _, d := range c.defs {
		if d.Resource != "" {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// sortedPatterns returns a sorted, deduplicated copy of pats.
func sortedPatterns(pats []string) []string {
	out := slices.Clone(pats)
	slices.Sort(out)
	return slices.Compact(out)
}

func compareGrants(a, b Grant) int { return cmp.Compare(a.Scope, b.Scope) }

func quote(s string) string { return strconv.Quote(s) }
