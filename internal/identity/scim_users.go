package identity

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/latchkey/latchkey/internal/service"
)

func (in *scimUser) toService() service.SCIMUser {
	out := service.SCIMUser{UserName: in.UserName, ExternalID: in.ExternalID, Active: in.Active == nil || *in.Active}
	for _, e := range in.Emails {
		if out.Email == "" || e.Primary {
			out.Email = e.Value
		}
	}
	return out
}

func (s *SCIM) listUsers(w http.ResponseWriter, r *http.Request, a service.Actor) {
	attr, value, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		writeSCIMError(w, http.StatusBadRequest, "invalidFilter", err.Error())
		return
	}
	f := service.SCIMUserFilter{}
	switch strings.ToLower(attr) {
	case "":
	case "username":
		f.UserName = &value
	case "externalid":
		f.ExternalID = &value
	default:
		writeSCIMError(w, http.StatusBadRequest, "invalidFilter", "users can be filtered by userName or externalId only")
		return
	}
	// The service reads only the page asked for.
	start, count := pageParams(r.URL.Query())
	pg, err := s.d.Services.Users.SCIMUsers(r.Context(), a, f, start, count)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, 0, len(pg.Users))
	for _, v := range pg.Users {
		items = append(items, s.userOut(v))
	}
	writeListResponse(w, start, pg.Total, items)
}

func (s *SCIM) createUser(w http.ResponseWriter, r *http.Request, a service.Actor) {
	var in scimUser
	if !decode(w, r, &in) {
		return
	}
	v, err := s.d.Services.Users.ProvisionUser(r.Context(), a, in.toService())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := s.userOut(v)
	w.Header().Set("Location", out.Meta.Location)
	writeSCIM(w, http.StatusCreated, out)
}

func (s *SCIM) getUser(w http.ResponseWriter, r *http.Request, a service.Actor) {
	v, err := s.d.Services.Users.SCIMUser(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.userOut(v))
}

func (s *SCIM) replaceUser(w http.ResponseWriter, r *http.Request, a service.Actor) {
	var in scimUser
	if !decode(w, r, &in) {
		return
	}
	v, err := s.d.Services.Users.ReplaceUser(r.Context(), a, r.PathValue("id"), in.toService())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.userOut(v))
}

func (s *SCIM) deleteUser(w http.ResponseWriter, r *http.Request, a service.Actor) {
	if err := s.d.Services.Users.Deprovision(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// patchOp is an RFC 7644 §3.5.2 PatchOp request.
type patchOp struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	} `json:"Operations"`
}

// patchUser applies a PatchOp as Okta and Entra ID send them: replace (or
// add) of active, userName, externalId and the email address (emails, or
// emails[type eq "work"].value), with or without a path, op names in any
// case; remove of externalId or the email. Attributes Latchkey does not
// keep (name, displayName, title, the enterprise extension...) are ignored,
// as they are in POST and PUT, so a profile update that carries them does
// not fail, nor a deactivation sent in the same request.
func (s *SCIM) patchUser(w http.ResponseWriter, r *http.Request, a service.Actor) {
	var p patchOp
	if !decode(w, r, &p) {
		return
	}
	if len(p.Operations) == 0 {
		writeSCIMError(w, http.StatusBadRequest, "invalidValue", "a PatchOp needs at least one operation in Operations")
		return
	}
	v, err := s.d.Services.Users.SCIMUser(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The userName the operations start from is the one the client knows
	// (the view's), never the user name Latchkey derived from it: an
	// operation on other attributes must leave it as the client sent it.
	before := service.SCIMUser{UserName: v.UserName, ExternalID: v.ExternalID, Email: v.User.Email, Active: !v.User.Suspended}
	next := before
	for _, op := range p.Operations {
		if scimType, msg := applyUserOp(&next, strings.ToLower(op.Op), op.Path, op.Value); msg != "" {
			writeSCIMError(w, http.StatusBadRequest, scimType, msg)
			return
		}
	}
	switch {
	case next == before:
	case next.UserName == before.UserName && next.ExternalID == before.ExternalID && next.Email == before.Email:
		v, err = s.d.Services.Users.SetActive(r.Context(), a, v.User.ID, next.Active)
	default:
		v, err = s.d.Services.Users.ReplaceUser(r.Context(), a, v.User.ID, next)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.userOut(v))
}

// emailPathRE is the email address of a multi-valued emails path, as Entra
// ID sends it: emails[type eq "work"].value (any filter selects it).
var emailPathRE = regexp.MustCompile(`^(?i:emails)(?:\[[^\]]*\])?\.(?i:value)$`)

// applyUserOp applies one PatchOp operation to u; it returns the scimType
// and message of an error, or "" when the operation applied.
func applyUserOp(u *service.SCIMUser, op, path string, value json.RawMessage) (string, string) {
	if op != "add" && op != "replace" && op != "remove" {
		return "invalidSyntax", "unknown op " + op + "; use add, replace or remove"
	}
	path = userAttrPath(path)
	str := func(dst *string) (string, string) {
		if op == "remove" {
			*dst = ""
			return "", ""
		}
		if json.Unmarshal(value, dst) != nil {
			return "invalidValue", path + " must be a string"
		}
		return "", ""
	}
	switch lower := strings.ToLower(path); {
	case lower == "":
		if op == "remove" {
			return "noTarget", "a remove operation needs a path"
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(value, &m) != nil {
			return "invalidValue", "an operation without a path needs an object value"
		}
		for k, v := range m {
			// Each key is an attribute path (RFC 7644 §3.5.2.1); an empty
			// one would be read as another path-less operation, nested as
			// deep as the JSON decoder allows and decoded again per level.
			if userAttrPath(k) == "" {
				return "invalidPath", "an operation without a path needs an object whose keys name attributes, such as {\"active\": false}; an empty attribute name names none"
			}
			if t, msg := applyUserOp(u, op, k, v); msg != "" {
				return t, msg
			}
		}
	case lower == "active":
		b, ok := boolValue(value)
		if op == "remove" || !ok {
			return "invalidValue", "active must be true or false"
		}
		u.Active = b
	case lower == "username":
		if op == "remove" {
			return "mutability", "userName is required and cannot be removed"
		}
		return str(&u.UserName)
	case lower == "externalid":
		return str(&u.ExternalID)
	case emailPathRE.MatchString(path):
		return str(&u.Email)
	case lower == "emails":
		if op == "remove" {
			u.Email = ""
			return "", ""
		}
		var emails []scimEmail
		if json.Unmarshal(value, &emails) != nil {
			return "invalidValue", "emails must be a list of {\"value\": \"address\"}"
		}
		in := scimUser{Emails: emails}
		if e := in.toService().Email; e != "" {
			u.Email = e
		}
	}
	// Any other attribute is one Latchkey does not keep: ignored.
	return "", ""
}

// userAttrPath is an attribute path without the core User schema's URN
// prefix, which clients may put before it.
func userAttrPath(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, SchemaUser+":"), strings.ToLower(SchemaUser)+":")
}

// boolValue reads true/false, also as the strings Entra ID sends.
func boolValue(raw json.RawMessage) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch strings.ToLower(s) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}
