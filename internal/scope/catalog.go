package scope

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// SuperAdmin is the super-admin grant: every scope on every resource. Only
// owners and admins hold it, and every catalog contains it.
const SuperAdmin = "*"

// ErrInvalid is the kind of every error this package returns: a scope, a
// catalog entry or a route rule that does not parse or validate. Test it with
// errors.Is; the message itself says what was wrong and how to fix it.
var ErrInvalid = errors.New("invalid scope configuration")

// invalidError carries a user-facing message and matches ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Def declares one scope in a deployment's catalog (YAML in the --config file).
type Def struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description" json:"description"`
	Implies     []string `yaml:"implies,omitempty" json:"implies,omitempty"`       // e.g. repo implies repo:read
	AdminOnly   bool     `yaml:"admin_only,omitempty" json:"admin_only,omitempty"` // only owner/admin roles hold it
	Group       string   `yaml:"group,omitempty" json:"group,omitempty"`           // for grouping in UIs, e.g. "Repositories"
	Resource    string   `yaml:"resource,omitempty" json:"resource,omitempty"`     // what a pattern names, e.g. "repository"; empty = not narrowable
}

// Catalog is a validated, immutable set of scope definitions with their
// implications resolved transitively. It is safe for concurrent use.
type Catalog struct {
	defs    []Def               // declaration order, "*" first
	index   map[string]int      // name → position in defs
	closure map[string][]string // name → every scope it implies, transitively, sorted, excluding itself
	known   string              // "a, b, c" for error messages
}

var (
	nameRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)*$`)
	resourceRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

func superAdminDef() Def {
	return Def{
		Name:        SuperAdmin,
		Description: "Super admin: every scope on every resource. Owners and admins only.",
		AdminOnly:   true,
		Group:       "Administration",
	}
}

// DefaultCatalog returns the built-in catalog used when a deployment declares
// none.
func DefaultCatalog() *Catalog {
	c, err := NewCatalog([]Def{
		{Name: "repo", Description: "Read and write access to repositories: clone, pull and push.",
			Implies: []string{"repo:read"}, Group: "Repositories", Resource: "repository"},
		{Name: "repo:read", Description: "Read-only access to repositories: clone and pull.",
			Group: "Repositories", Resource: "repository"},
		{Name: "machine", Description: "Manage and connect to machines.",
			Group: "Infrastructure", Resource: "machine"},
		{Name: "service", Description: "Deploy and manage services.",
			Group: "Infrastructure", Resource: "service"},
		{Name: "job", Description: "Create and manage jobs.",
			Group: "Infrastructure", Resource: "job"},
		{Name: "admin:org", Description: "Manage organization settings, members, policy and the audit log.",
			AdminOnly: true, Group: "Administration"},
		{Name: "admin:ssh_key", Description: "Manage the SSH keys on your account.",
			Group: "Account"},
		{Name: "tokens", Description: "Create, list, update, regenerate and revoke access tokens through the API.",
			Group: "Account"},
		{Name: "introspect", Description: "Call the token introspection endpoint (RFC 7662) to check other tokens.",
			Group: "Integrations"},
		{Name: "scim", Description: "Provision users and groups from an identity provider over SCIM 2.0 (/scim/v2).",
			AdminOnly: true, Group: "Administration"},
	})
	if err != nil {
		panic("scope: default catalog is invalid: " + err.Error())
	}
	return c
}

// NewCatalog validates defs and returns the catalog they declare. Names must
// be lower-case words separated by colons and unique; implications must name
// declared scopes and form no cycle; a narrowable scope may only imply scopes
// narrowable to the same resource (a narrowed grant is carried down with its
// patterns); and a scope anyone may hold must not imply an admin-only one.
// The super-admin grant "*" is added first, automatically.
func NewCatalog(defs []Def) (*Catalog, error) {
	c := &Catalog{
		defs:    make([]Def, 0, len(defs)+1),
		index:   make(map[string]int, len(defs)+1),
		closure: make(map[string][]string, len(defs)+1),
	}
	c.defs = append(c.defs, superAdminDef())
	c.index[SuperAdmin] = 0
	for i, d := range defs {
		if err := c.add(d); err != nil {
			return nil, fmt.Errorf("scope catalog entry %d (%q): %w", i+1, d.Name, err)
		}
	}
	names := make([]string, len(c.defs))
	for i, d := range c.defs {
		names[i] = d.Name
	}
	c.known = strings.Join(names, ", ")
	for i, d := range defs {
		if err := c.checkImplies(d); err != nil {
			return nil, fmt.Errorf("scope catalog entry %d (%q): %w", i+1, d.Name, err)
		}
	}
	c.closure[SuperAdmin] = nil
	for i, d := range defs {
		if err := c.resolve(d.Name, nil); err != nil {
			return nil, fmt.Errorf("scope catalog entry %d (%q): %w", i+1, d.Name, err)
		}
	}
	for i, d := range defs {
		if err := c.checkClosure(d); err != nil {
			return nil, fmt.Errorf("scope catalog entry %d (%q): %w", i+1, d.Name, err)
		}
	}
	return c, nil
}

// add checks one definition on its own and appends a copy of it.
func (c *Catalog) add(d Def) error {
	switch {
	case d.Name == SuperAdmin:
		return invalidf("%q is the built-in super-admin grant; remove this entry", SuperAdmin)
	case d.Name == "":
		return invalidf("name is empty; give every scope a name such as \"repo:read\"")
	case !nameRE.MatchString(d.Name):
		return invalidf("name must be lower-case words of letters, digits and _ separated by colons, such as \"admin:ssh_key\" (%s)", nameRE)
	case d.Resource != "" && !resourceRE.MatchString(d.Resource):
		return invalidf("resource %q must be one lower-case word such as \"repository\"", d.Resource)
	}
	if j, dup := c.index[d.Name]; dup {
		return invalidf("scope %q is already declared by entry %d; remove one of them", d.Name, j)
	}
	d.Implies = slices.Clone(d.Implies)
	c.index[d.Name] = len(c.defs)
	c.defs = append(c.defs, d)
	return nil
}

// checkImplies checks each direct implication of d.
func (c *Catalog) checkImplies(d Def) error {
	for _, name := range d.Implies {
		switch {
		case name == SuperAdmin:
			return invalidf("it implies %q; nothing may imply the super-admin grant, remove it from implies", SuperAdmin)
		case name == d.Name:
			return invalidf("it implies itself; remove %q from its implies", name)
		}
		t, ok := c.Lookup(name)
		if !ok {
			return invalidf("it implies unknown scope %q; declare it or remove it from implies (known scopes: %s)", name, c.known)
		}
		if d.Resource != "" && t.Resource != d.Resource {
			return invalidf("it is narrowable to %s resources but implies %q, which is not; a narrowed grant passes its patterns down, so implied scopes must name the same resource (set resource: %s on %q or drop the implication)",
				d.Resource, name, d.Resource, name)
		}
	}
	return nil
}

// resolve fills c.closure[name] by depth-first search; path holds the scopes
// being resolved, to report a cycle.
func (c *Catalog) resolve(name string, path []string) error {
	if _, done := c.closure[name]; done {
		return nil
	}
	if i := slices.Index(path, name); i >= 0 {
		cycle := append(slices.Clone(path[i:]), name)
		return invalidf("its implications form a cycle %s; remove one of them", strings.Join(cycle, " → "))
	}
	path = append(path, name)
	var all []string
	for _, t := range c.defs[c.index[name]].Implies {
		if err := c.resolve(t, path); err != nil {
			return err
		}
		all = append(all, t)
		all = append(all, c.closure[t]...)
	}
	slices.Sort(all)
	c.closure[name] = slices.Compact(all)
	return nil
}

// checkClosure refuses a scope any member holds that implies an admin-only
// one: ForRole("member") would otherwise hand out admin rights.
func (c *Catalog) checkClosure(d Def) error {
	if d.AdminOnly {
		return nil
	}
	for _, t := range c.closure[d.Name] {
		if c.defs[c.index[t]].AdminOnly {
			return invalidf("it implies admin-only scope %q but is not admin-only itself; set admin_only: true or drop the implication", t)
		}
	}
	return nil
}

// Defs returns the definitions in declaration order, "*" first.
func (c *Catalog) Defs() []Def {
	out := make([]Def, len(c.defs))
	for i, d := range c.defs {
		d.Implies = slices.Clone(d.Implies)
		out[i] = d
	}
	return out
}

// Lookup returns the definition of the named scope.
func (c *Catalog) Lookup(name string) (Def, bool) {
	i, ok := c.index[name]
	if !ok {
		return Def{}, false
	}
	d := c.defs[i]
	d.Implies = slices.Clone(d.Implies)
	return d, true
}

// ForRole returns what a role may hold: "owner" and "admin" hold the
// super-admin grant, "member" holds every scope that is not admin-only, on
// every resource, and any other role holds nothing.
func (c *Catalog) ForRole(role string) Set {
	switch role {
	case "owner", "admin":
		return c.newSet([]Grant{{Scope: SuperAdmin}})
	case "member":
		var gs []Grant
		for _, d := range c.defs {
			if !d.AdminOnly {
				gs = append(gs, Grant{Scope: d.Name})
			}
		}
		slices.SortFunc(gs, compareGrants)
		return c.newSet(gs)
	}
	return Set{}
}
