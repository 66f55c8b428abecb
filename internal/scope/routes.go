package scope

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Rule maps requests to a protected upstream onto the scope they need.
type Rule struct {
	Name    string   `yaml:"name" json:"name"`
	Methods []string `yaml:"methods" json:"methods"` // empty = any; upper-cased; GET also matches HEAD
	// Path is matched against the percent-decoded path, segment by
	// segment. A segment is a literal, a parameter "{name}" optionally
	// followed by a literal suffix ("{repo}.git"), or, last, "{name...}",
	// which captures the rest of the path (possibly nothing). Parameters
	// never match an empty segment. A trailing "/" is ignored.
	Path string `yaml:"path" json:"path"`
	// Query lists required query values, e.g. service: git-upload-pack.
	// Every occurrence of the key must carry the value, so a request that
	// repeats the key with another value does not match.
	Query    map[string]string `yaml:"query,omitempty" json:"query,omitempty"`
	Scope    string            `yaml:"scope,omitempty" json:"scope,omitempty"`       // required scope, from the catalog
	Resource string            `yaml:"resource,omitempty" json:"resource,omitempty"` // template from path parameters, e.g. "{owner}/{repo}"
	Public   bool              `yaml:"public,omitempty" json:"public,omitempty"`     // no credential needed
}

// RulesConfig is the route-rule section of the config file.
type RulesConfig struct {
	Preset  string `yaml:"preset,omitempty" json:"preset,omitempty"`   // "git" puts GitRules() before Rules
	Default string `yaml:"default,omitempty" json:"default,omitempty"` // "deny" (default) or "authenticated" (any valid token, no scope)
	Rules   []Rule `yaml:"rules,omitempty" json:"rules,omitempty"`
}

// DefaultDeny and DefaultAuthenticated are the values of RulesConfig.Default.
const (
	DefaultDeny          = "deny"
	DefaultAuthenticated = "authenticated"
)

// Router decides which scope a request to the upstream needs. It is
// immutable and safe for concurrent use.
type Router struct {
	rules         []compiledRule
	authenticated bool // unmatched requests need only a valid credential
}

type compiledRule struct {
	rule     Rule // normalized copy; Decision.Rule points here
	methods  []string
	segments []segmentPattern
	query    [][2]string // key, value; sorted by key
	resource []templatePart
}

// segmentPattern is one "/"-separated piece of Rule.Path.
type segmentPattern struct {
	literal string // when param is ""
	param   string
	suffix  string // literal text after the parameter, e.g. ".git"
	rest    bool   // "{name...}": the remainder of the path
}

// templatePart is a literal or, when param >= 0, the value of the
// param-th parameter captured by the path.
type templatePart struct {
	literal string
	param   int
}

var (
	paramRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	methodRE = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*$`)
)

// NewRouter validates cfg against the catalog and compiles its rules, the
// preset's first. Errors name the rule at fault and say how to fix it.
func NewRouter(c *Catalog, cfg RulesConfig) (*Router, error) {
	r := &Router{}
	switch cfg.Default {
	case "", DefaultDeny:
	case DefaultAuthenticated:
		r.authenticated = true
	default:
		return nil, invalidf("route rules: unknown default %q; use %q or %q", cfg.Default, DefaultDeny, DefaultAuthenticated)
	}
	switch cfg.Preset {
	case "":
	case "git":
		for i, rule := range GitRules() {
			cr, err := compileRule(c, rule)
			if err != nil {
				return nil, fmt.Errorf("route rules: preset git, rule %d (%s): %w", i+1, rule.Name, err)
			}
			r.rules = append(r.rules, cr)
		}
	default:
		return nil, invalidf("route rules: unknown preset %q; the only preset is \"git\"", cfg.Preset)
	}
	for i, rule := range cfg.Rules {
		cr, err := compileRule(c, rule)
		if err != nil {
			label := "rule " + strconv.Itoa(i+1)
			if rule.Name != "" {
				label += " (" + rule.Name + ")"
			}
			return nil, fmt.Errorf("route rules: %s: %w", label, err)
		}
		r.rules = append(r.rules, cr)
	}
	return r, nil
}

func compileRule(c *Catalog, rule Rule) (compiledRule, error) {
	cr := compiledRule{rule: rule}
	for _, m := range rule.Methods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if !methodRE.MatchString(m) {
			return cr, invalidf("method %q is not an HTTP method; use names such as GET or POST, or leave methods empty for any", m)
		}
		cr.methods = append(cr.methods, m)
	}
	cr.rule.Methods = slices.Clone(cr.methods)
	segs, params, err := parsePath(rule.Path)
	if err != nil {
		return cr, err
	}
	cr.segments = segs
	for _, k := range slices.Sorted(maps.Keys(rule.Query)) {
		if k == "" {
			return cr, invalidf("query has an empty key; name the query parameter to require")
		}
		cr.query = append(cr.query, [2]string{k, rule.Query[k]})
	}
	cr.rule.Query = maps.Clone(rule.Query)
	if err := checkAccess(c, rule); err != nil {
		return cr, err
	}
	cr.resource, err = parseTemplate(rule.Resource, params)
	return cr, err
}

// checkAccess validates the combination of Public, Scope and Resource.
func checkAccess(c *Catalog, rule Rule) error {
	if rule.Public {
		if rule.Scope != "" || rule.Resource != "" {
			return invalidf("a public rule needs no scope or resource; remove them, or remove public: true")
		}
		return nil
	}
	if rule.Scope == "" {
		return invalidf("scope is missing; name the scope this route needs (known scopes: %s), or set public: true", c.known)
	}
	d, ok := c.Lookup(rule.Scope)
	if !ok {
		return invalidf("unknown scope %q; known scopes: %s", rule.Scope, c.known)
	}
	if rule.Resource != "" && d.Resource == "" {
		return invalidf("resource %q is set but scope %q cannot be narrowed to resources; remove resource, or use one of: %s",
			rule.Resource, rule.Scope, c.narrowable())
	}
	return nil
}

// parsePath compiles a path pattern and returns its parameter names in order.
func parsePath(p string) ([]segmentPattern, []string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, nil, invalidf("path %q must start with \"/\"", p)
	}
	trimmed := strings.TrimSuffix(p[1:], "/")
	if trimmed == "" {
		return nil, nil, nil
	}
	var segs []segmentPattern
	var params []string
	parts := strings.Split(trimmed, "/")
	for i, part := range parts {
		sp, err := parseSegment(p, part, i == len(parts)-1)
		if err != nil {
			return nil, nil, err
		}
		if sp.param != "" {
			if slices.Contains(params, sp.param) {
				return nil, nil, invalidf("path %q uses parameter {%s} twice; rename one", p, sp.param)
			}
			params = append(params, sp.param)
		}
		segs = append(segs, sp)
	}
	return segs, params, nil
}

func parseSegment(p, part string, last bool) (segmentPattern, error) {
	switch {
	case part == "":
		return segmentPattern{}, invalidf("path %q has an empty segment (\"//\"); remove it", p)
	case part == "." || part == "..":
		return segmentPattern{}, invalidf("path %q has a %q segment; write the path as the upstream sees it", p, part)
	case strings.ContainsAny(part, ";\\"):
		// Decide refuses such requests, so the rule could never match.
		return segmentPattern{}, invalidf("path %q: segment %q holds \";\" or a backslash, which Latchkey refuses in requests (servers read them differently); remove it", p, part)
	case !strings.ContainsAny(part, "{}"):
		return segmentPattern{literal: part}, nil
	case !strings.HasPrefix(part, "{"):
		return segmentPattern{}, invalidf("path %q: segment %q must start with its parameter, as in \"{repo}.git\"", p, part)
	}
	name, suffix, ok := strings.Cut(part[1:], "}")
	if !ok || strings.ContainsAny(suffix, "{}") || strings.Contains(name, "{") {
		return segmentPattern{}, invalidf("path %q: segment %q must hold one parameter, written {name}, optionally followed by literal text", p, part)
	}
	if rest, ok := strings.CutSuffix(name, "..."); ok {
		if !last || suffix != "" {
			return segmentPattern{}, invalidf("path %q: {%s} must be the whole last segment", p, name)
		}
		name = rest
		if !paramRE.MatchString(name) {
			return segmentPattern{}, invalidf("path %q: parameter name %q must be a word of letters, digits and _", p, name)
		}
		return segmentPattern{param: name, rest: true}, nil
	}
	if !paramRE.MatchString(name) {
		return segmentPattern{}, invalidf("path %q: parameter name %q must be a word of letters, digits and _", p, name)
	}
	return segmentPattern{param: name, suffix: suffix}, nil
}

// parseTemplate compiles a resource template such as "{owner}/{repo}".
func parseTemplate(t string, params []string) ([]templatePart, error) {
	var parts []templatePart
	for rest := t; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			parts = append(parts, templatePart{literal: rest, param: -1})
			break
		}
		if rest[open] == '}' {
			return nil, invalidf("resource %q has a \"}\" without \"{\"", t)
		}
		if open > 0 {
			parts = append(parts, templatePart{literal: rest[:open], param: -1})
		}
		name, after, ok := strings.Cut(rest[open+1:], "}")
		if !ok {
			return nil, invalidf("resource %q has a \"{\" without \"}\"", t)
		}
		i := slices.Index(params, name)
		if i < 0 {
			captured := "the path captures none"
			if len(params) > 0 {
				captured = "path parameters: " + strings.Join(params, ", ")
			}
			return nil, invalidf("resource %q names {%s}, which the path does not capture; %s", t, name, captured)
		}
		parts = append(parts, templatePart{param: i})
		rest = after
	}
	return parts, nil
}
