package identity

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

func (s *SCIM) listGroups(w http.ResponseWriter, r *http.Request, a service.Actor) {
	attr, value, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		writeSCIMError(w, http.StatusBadRequest, "invalidFilter", err.Error())
		return
	}
	if attr != "" && !strings.EqualFold(attr, "displayName") {
		writeSCIMError(w, http.StatusBadRequest, "invalidFilter", "groups can be filtered by displayName only")
		return
	}
	var f service.SCIMGroupFilter
	if attr != "" {
		f.DisplayName = &value
	}
	// The service reads only the page asked for, and no member when none
	// is answered.
	start, count := pageParams(r.URL.Query())
	members := membersAsked(r.URL.Query())
	pg, err := s.d.Services.Users.SCIMGroups(r.Context(), a, f, start, count, members) // checks the token's scope
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, 0, len(pg.Groups))
	for _, g := range pg.Groups {
		if out := s.groupOut(g); members {
			items = append(items, out)
		} else {
			items = append(items, scimGroupNoMembers{Schemas: out.Schemas, ID: out.ID, ExternalID: out.ExternalID, DisplayName: out.DisplayName, Meta: out.Meta})
		}
	}
	writeListResponse(w, start, pg.Total, items)
}

// scimGroupNoMembers is a group answered without its members.
type scimGroupNoMembers struct {
	Schemas     []string  `json:"schemas"`
	ID          string    `json:"id"`
	ExternalID  string    `json:"externalId,omitempty"`
	DisplayName string    `json:"displayName"`
	Meta        *scimMeta `json:"meta,omitempty"`
}

// membersAsked reports whether a group list or a group answers members
// (RFC 7644 §3.4.2.5): not when excludedAttributes names members (Entra
// ID and Okta send excludedAttributes=members to look a group up), nor
// when attributes names others but not members. Names compare ignoring
// case, with or without the Group schema's URN.
func membersAsked(q url.Values) bool {
	names := func(k string) []string {
		var out []string
		for _, a := range strings.Split(q.Get(k), ",") {
			a = strings.ToLower(strings.TrimSpace(a))
			out = append(out, strings.TrimPrefix(a, strings.ToLower(SchemaGroup)+":"))
		}
		return out
	}
	if q.Get("attributes") != "" {
		return slices.ContainsFunc(names("attributes"), func(a string) bool { return a == "members" || strings.HasPrefix(a, "members.") })
	}
	return !slices.Contains(names("excludedAttributes"), "members")
}

// memberIDs are the users refs name, each once, in the order first named:
// a 1 MiB body can name one member ~20,000 times, and every copy would be
// checked (and cost a lookup) downstream.
func memberIDs(refs []scimRef) []string {
	out := []string{}
	seen := make(map[string]bool, len(refs))
	for _, m := range refs {
		if !seen[m.Value] {
			seen[m.Value] = true
			out = append(out, m.Value)
		}
	}
	return out
}

func (s *SCIM) createGroup(w http.ResponseWriter, r *http.Request, a service.Actor) {
	var in scimGroup
	if !decode(w, r, &in) {
		return
	}
	g, err := s.d.Services.Users.SaveGroup(r.Context(), a, "", store.Group{DisplayName: in.DisplayName, ExternalID: in.ExternalID, Members: memberIDs(in.Members)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := s.groupOut(g)
	w.Header().Set("Location", out.Meta.Location)
	writeSCIM(w, http.StatusCreated, out)
}

// getGroup answers one group, without its members (none read) when the
// client leaves them out, as listGroups does.
func (s *SCIM) getGroup(w http.ResponseWriter, r *http.Request, a service.Actor) {
	members := membersAsked(r.URL.Query())
	g, err := s.d.Services.Users.SCIMGroupAnswered(r.Context(), a, r.PathValue("id"), members)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out := s.groupOut(g); members {
		writeSCIM(w, http.StatusOK, out)
	} else {
		writeSCIM(w, http.StatusOK, scimGroupNoMembers{Schemas: out.Schemas, ID: out.ID, ExternalID: out.ExternalID, DisplayName: out.DisplayName, Meta: out.Meta})
	}
}

func (s *SCIM) replaceGroup(w http.ResponseWriter, r *http.Request, a service.Actor) {
	var in scimGroup
	if !decode(w, r, &in) {
		return
	}
	g, err := s.d.Services.Users.SaveGroup(r.Context(), a, r.PathValue("id"), store.Group{DisplayName: in.DisplayName, ExternalID: in.ExternalID, Members: memberIDs(in.Members)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.groupOut(g))
}

func (s *SCIM) deleteGroup(w http.ResponseWriter, r *http.Request, a service.Actor) {
	if err := s.d.Services.Users.DeleteGroup(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// memberFilterRE is a value path selecting one member: members[value eq "id"].
var memberFilterRE = regexp.MustCompile(`^(?i:members)\[\s*(?i:value)\s+(?i:eq)\s+"([^"]*)"\s*\]$`)

// patchGroup applies add, remove and replace of members and displayName,
// in the forms Okta and Entra ID send, then saves the result at once.
func (s *SCIM) patchGroup(w http.ResponseWriter, r *http.Request, a service.Actor) {
	var p patchOp
	if !decode(w, r, &p) {
		return
	}
	g, err := s.d.Services.Users.SCIMGroup(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := *g
	next.Members = slices.Clone(g.Members)
	for _, op := range p.Operations {
		if scimType, msg := applyGroupOp(&next, strings.ToLower(op.Op), op.Path, op.Value); msg != "" {
			writeSCIMError(w, http.StatusBadRequest, scimType, msg)
			return
		}
	}
	out, err := s.d.Services.Users.SaveGroup(r.Context(), a, g.ID, next)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.groupOut(out))
}

// applyGroupOp applies one PatchOp operation to g; it returns the scimType
// and message of an error, or "" when the operation applied.
func applyGroupOp(g *store.Group, op, path string, value json.RawMessage) (string, string) {
	var refs []scimRef
	readRefs := func() bool { return json.Unmarshal(value, &refs) == nil }
	switch {
	case strings.EqualFold(path, "members"):
		if !readRefs() && op != "remove" {
			return "invalidValue", "members must be a list of {\"value\": \"<user id>\"}"
		}
		ids := memberIDs(refs)
		switch op {
		// A set, not a search of the list per member: a 1 MiB patch names
		// some 58,000 members, which searched one by one cost 4 s of CPU.
		case "add":
			have := make(map[string]bool, len(g.Members)+len(ids))
			for _, m := range g.Members {
				have[m] = true
			}
			for _, id := range ids {
				if !have[id] {
					have[id] = true
					g.Members = append(g.Members, id)
				}
			}
		case "remove":
			if len(value) == 0 || string(value) == "null" {
				g.Members = nil // remove all members
			} else {
				drop := make(map[string]bool, len(ids))
				for _, id := range ids {
					drop[id] = true
				}
				g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return drop[m] })
			}
		case "replace":
			g.Members = ids
		default:
			return "invalidValue", "unknown op " + op + "; use add, remove or replace"
		}
	case memberFilterRE.MatchString(path):
		id := memberFilterRE.FindStringSubmatch(path)[1]
		if op != "remove" {
			return "invalidValue", "a members[value eq ...] path can only be removed"
		}
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == id })
	case strings.EqualFold(path, "displayName"):
		if op != "replace" && op != "add" {
			return "invalidValue", "displayName can only be replaced"
		}
		if json.Unmarshal(value, &g.DisplayName) != nil {
			return "invalidValue", "displayName must be a string"
		}
	case path == "":
		var m map[string]json.RawMessage
		if json.Unmarshal(value, &m) != nil {
			return "invalidValue", "a patch without a path needs an object value"
		}
		for k, v := range m {
			// Each key is an attribute path (RFC 7644 §3.5.2.1); an empty
			// one would be read as another path-less operation, nested as
			// deep as the JSON decoder allows and decoded again per level.
			if k == "" {
				return "invalidPath", "an operation without a path needs an object whose keys name attributes, such as {\"displayName\": \"x\"}; an empty attribute name names none"
			}
			if t, msg := applyGroupOp(g, op, k, v); msg != "" {
				return t, msg
			}
		}
	case strings.EqualFold(path, "externalId"):
		if json.Unmarshal(value, &g.ExternalID) != nil {
			return "invalidValue", "externalId must be a string"
		}
	default:
		return "invalidValue", "unsupported path " + path + "; groups support members, members[value eq \"id\"], displayName and externalId"
	}
	return "", ""
}
