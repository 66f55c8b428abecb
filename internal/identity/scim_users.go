package identity

import (
	"encoding/json"
	"net/http"
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
	var userName, externalID string
	switch strings.ToLower(attr) {
	case "":
	case "username":
		userName = value
	case "externalid":
		externalID = value
	default:
		writeSCIMError(w, http.StatusBadRequest, "invalidFilter", "users can be filtered by userName or externalId only")
		return
	}
	vs, err := s.d.Services.Users.SCIMUsers(r.Context(), a, userName, externalID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, 0, len(vs))
	for _, v := range vs {
		items = append(items, s.userOut(v))
	}
	s.list(w, r, items)
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

// patchUser supports what identity providers send: active, and userName or
// emails are not patchable here (use PUT).
func (s *SCIM) patchUser(w http.ResponseWriter, r *http.Request, a service.Actor) {
	var p patchOp
	if !decode(w, r, &p) {
		return
	}
	if len(p.Operations) == 0 {
		writeSCIMError(w, http.StatusBadRequest, "invalidValue", "a PatchOp needs at least one operation in Operations")
		return
	}
	var active *bool
	for _, op := range p.Operations {
		if o := strings.ToLower(op.Op); o != "replace" && o != "add" {
			writeSCIMError(w, http.StatusBadRequest, "invalidValue", "users support replace (or add) of active; use PUT for other changes")
			return
		}
		var b bool
		var ok bool
		switch strings.ToLower(op.Path) {
		case "active":
			b, ok = boolValue(op.Value)
		case "":
			var m map[string]json.RawMessage
			if json.Unmarshal(op.Value, &m) == nil {
				for k, v := range m {
					if strings.EqualFold(k, "active") {
						b, ok = boolValue(v)
					}
				}
			}
		}
		if !ok {
			writeSCIMError(w, http.StatusBadRequest, "invalidPath", "only the active attribute can be patched on users (value true or false); use PUT for other changes")
			return
		}
		active = &b
	}
	v, err := s.d.Services.Users.SetActive(r.Context(), a, r.PathValue("id"), *active)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.userOut(v))
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
