package identity

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/service"
)

// serviceProviderConfig is RFC 7643 §5: what this server supports.
func (s *SCIM) serviceProviderConfig(w http.ResponseWriter, r *http.Request, _ service.Actor) {
	no := map[string]bool{"supported": false}
	writeSCIM(w, http.StatusOK, map[string]any{
		"schemas":          []string{SchemaSPConfig},
		"documentationUri": "https://github.com/latchkey/latchkey/blob/main/docs/sso.md",
		"patch":            map[string]bool{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxSCIMResults},
		"changePassword":   no, "sort": no, "etag": no,
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "An admin access token (lk_adm_...) of an owner or admin that holds the scim scope.",
		}},
		"meta": map[string]string{"resourceType": "ServiceProviderConfig", "location": s.d.BaseURL() + scimPrefix + "/ServiceProviderConfig"},
	})
}

func (s *SCIM) resourceTypes(w http.ResponseWriter, r *http.Request, _ service.Actor) {
	rt := func(name, endpoint, schema string) map[string]any {
		return map[string]any{"schemas": []string{SchemaResource}, "id": name, "name": name, "endpoint": endpoint, "schema": schema,
			"meta": map[string]string{"resourceType": "ResourceType", "location": s.d.BaseURL() + scimPrefix + "/ResourceTypes/" + name}}
	}
	s.list(w, r, []any{rt("User", "/Users", SchemaUser), rt("Group", "/Groups", SchemaGroup)})
}

func attr(name, typ string, required bool, uniqueness string) map[string]any {
	return map[string]any{"name": name, "type": typ, "multiValued": false, "required": required, "caseExact": false,
		"mutability": "readWrite", "returned": "default", "uniqueness": uniqueness}
}

func (s *SCIM) schemas(w http.ResponseWriter, r *http.Request, _ service.Actor) {
	emails := attr("emails", "complex", false, "none")
	emails["multiValued"] = true
	emails["subAttributes"] = []any{attr("value", "string", false, "none"), attr("type", "string", false, "none"), attr("primary", "boolean", false, "none")}
	members := attr("members", "complex", false, "none")
	members["multiValued"] = true
	members["subAttributes"] = []any{attr("value", "string", false, "none"), attr("$ref", "reference", false, "none"), attr("display", "string", false, "none")}
	user := map[string]any{"schemas": []string{SchemaSchema}, "id": SchemaUser, "name": "User", "description": "User Account",
		"attributes": []any{attr("userName", "string", true, "server"), attr("active", "boolean", false, "none"), emails},
		"meta":       map[string]string{"resourceType": "Schema", "location": s.d.BaseURL() + scimPrefix + "/Schemas/" + SchemaUser}}
	group := map[string]any{"schemas": []string{SchemaSchema}, "id": SchemaGroup, "name": "Group", "description": "Group",
		"attributes": []any{attr("displayName", "string", true, "server"), members},
		"meta":       map[string]string{"resourceType": "Schema", "location": s.d.BaseURL() + scimPrefix + "/Schemas/" + SchemaGroup}}
	s.list(w, r, []any{user, group})
}
