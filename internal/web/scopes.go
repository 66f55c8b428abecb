package web

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
)

// Permission modes of the token form.
const (
	accessSuper    = "super"
	accessSpecific = "specific"
)

// scopeOption is one scope's checkbox, with its resource patterns when the
// scope can be narrowed.
type scopeOption struct {
	Name, ID, Description string
	Resource              string // what a pattern names; "" = cannot be narrowed
	Patterns              string
	Checked               bool
}

// scopeGroup is the scopes of one resource group ("Repositories").
type scopeGroup struct {
	Name   string
	Scopes []scopeOption
}

// permissions is the permissions control of the token forms.
type permissions struct {
	Access   string // accessSuper or accessSpecific
	CanSuper bool   // the owner's role allows the super-admin grant
	Groups   []scopeGroup
	Error    string // shown next to the control
}

// chosenScopes is what a form or link asked for: scope name → patterns.
type chosenScopes map[string][]string

// grantsOf reads canonical grant strings ("repo:read=acme/*") into choices;
// unknown names are returned separately.
func grantsOf(cat *scope.Catalog, grants []string) (chosenScopes, []string) {
	out := chosenScopes{}
	var unknown []string
	for _, s := range grants {
		g, err := cat.ParseGrant(s)
		if err != nil {
			unknown = append(unknown, s)
			continue
		}
		out[g.Scope] = append(out[g.Scope], g.Resources...)
	}
	return out, unknown
}

// splitScopeList splits a link's scopes parameter. Grants are separated by
// spaces or commas; a comma-separated piece that is not a scope name
// continues the patterns of the grant before it, so
// "repo:read=acme/*,beta/*,job" is two grants.
func splitScopeList(cat *scope.Catalog, values []string) []string {
	var out []string
	for _, v := range values {
		for _, field := range strings.Fields(v) {
			for piece := range strings.SplitSeq(field, ",") {
				name, _, _ := strings.Cut(piece, "=")
				if _, known := cat.Lookup(name); known || len(out) == 0 || !strings.Contains(out[len(out)-1], "=") {
					out = append(out, piece)
					continue
				}
				out[len(out)-1] += "," + piece
			}
		}
	}
	return out
}

// permissionsFor builds the permissions control for a token owned by owner
// with the given choices preselected.
func permissionsFor(cat *scope.Catalog, owner *store.User, access string, chosen chosenScopes) permissions {
	role := cat.ForRole(string(owner.Role))
	p := permissions{Access: access, CanSuper: role.IsSuperAdmin()}
	if _, ok := chosen[scope.SuperAdmin]; ok && p.CanSuper {
		p.Access = accessSuper
	}
	if p.Access != accessSuper || !p.CanSuper {
		p.Access = accessSpecific
	}
	index := map[string]int{}
	for _, d := range cat.Defs() {
		if d.Name == scope.SuperAdmin || !role.Has(d.Name) {
			continue
		}
		group := d.Group
		if group == "" {
			group = "Other"
		}
		i, ok := index[group]
		if !ok {
			i = len(p.Groups)
			index[group] = i
			p.Groups = append(p.Groups, scopeGroup{Name: group})
		}
		pats, checked := chosen[d.Name]
		p.Groups[i].Scopes = append(p.Groups[i].Scopes, scopeOption{
			Name: d.Name, ID: "scope-" + strings.NewReplacer(":", "-", "_", "-").Replace(d.Name),
			Description: d.Description, Resource: d.Resource, Patterns: strings.Join(pats, ", "), Checked: checked,
		})
	}
	return p
}

// postedScopes reads the permissions control of a posted form as grant
// strings for the service, and the choices to show again on error.
func postedScopes(r *http.Request) ([]string, string, chosenScopes) {
	access := r.PostFormValue("access")
	if access == accessSuper {
		return []string{scope.SuperAdmin}, access, chosenScopes{scope.SuperAdmin: nil}
	}
	chosen := chosenScopes{}
	var grants []string
	for _, name := range r.PostForm["scope"] {
		pats := strings.FieldsFunc(r.PostFormValue("resources_"+name), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' })
		chosen[name] = pats
		if len(pats) == 0 {
			grants = append(grants, name)
			continue
		}
		grants = append(grants, name+"="+strings.Join(pats, ","))
	}
	return grants, accessSpecific, chosen
}
