package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// documentSSOEndpoints describes the single sign-on surfaces served outside
// huma: the RFC 8628 device flow (RFC 6749 errors) and SCIM 2.0
// (application/scim+json, RFC 7644 errors). The OIDC redirects
// (/auth/sso/{id}, /auth/sso/{id}/callback) are browser pages, not API.
func (a *API) documentSSOEndpoints() {
	o := a.OpenAPI()
	str := func(doc string) *huma.Schema { return &huma.Schema{Type: "string", Description: doc} }
	answer := func(ct, desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{ct: {Schema: &huma.Schema{Type: "object"}}}}
	}
	oauthError := answer("application/json", `RFC 6749 §5.2 error: {"error","error_description"}`)
	tooMany := answer("application/json", `Too many device codes requested from the client's address (10 at once, then one every 30 seconds): RFC 6749 §5.2 error temporarily_unavailable; wait Retry-After seconds`)
	tooMany.Headers = map[string]*huma.Param{"Retry-After": {Description: "Seconds until the address may ask for another code", Schema: &huma.Schema{Type: "integer"}}}
	o.AddOperation(&huma.Operation{
		OperationID: "device-authorization", Method: http.MethodPost, Path: "/oauth2/device_authorization", Tags: []string{"OAuth"},
		Summary:     "RFC 8628 device authorization for `latchkey login --web`",
		Description: "Returns a device code and a user code. The requester's address (the client address, taken from forwarding headers only when the peer is in --trusted-proxies) and its User-Agent (cleaned of control characters, at most 256 bytes) are recorded with the code and shown to the person asked to approve it. A signed-in person approves on the console's /device page, which first shows where the request came from and what approving grants; approval needs the user code typed from the terminal that asked (a verification_uri_complete link fills in nothing) and a console sign-in from the last 15 minutes. The client then polls POST /oauth2/token with grant_type=urn:ietf:params:oauth:grant-type:device_code, device_code and client_id=latchkey-cli, which answers authorization_pending, slow_down, expired_token or access_denied until it answers {\"access_token\":\"lk_ses_...\",\"token_type\":\"Bearer\",\"expires_in\":N}. Each client address may ask for 10 codes at once and one more every 30 seconds. A scope is refused with invalid_scope: the grant is a session of the person who approves it.",
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/x-www-form-urlencoded": {Schema: &huma.Schema{
			Type: "object", Required: []string{"client_id"}, Properties: map[string]*huma.Schema{"client_id": str("latchkey-cli")}}}}},
		Responses: map[string]*huma.Response{
			"200": answer("application/json", "{device_code, user_code, verification_uri, verification_uri_complete, expires_in, interval}"),
			"400": oauthError, "401": oauthError, "429": tooMany,
		},
	})
	scimError := answer("application/scim+json", `RFC 7644 §3.12 error: {"schemas","status","scimType","detail"}`)
	for _, op := range []struct{ id, method, path, summary string }{
		{"scim-list-users", http.MethodGet, "/scim/v2/Users", "List users (filter userName eq \"x\", the userName as sent, ignoring case, or externalId eq \"x\"; startIndex, count)"},
		{"scim-create-user", http.MethodPost, "/scim/v2/Users", "Provision a user (login type oidc)"},
		{"scim-get-user", http.MethodGet, "/scim/v2/Users/{id}", "Get a user"},
		{"scim-replace-user", http.MethodPut, "/scim/v2/Users/{id}", "Replace a user (userName, emails, externalId, active)"},
		{"scim-patch-user", http.MethodPatch, "/scim/v2/Users/{id}", "Patch active: deactivation stops the user's tokens and sessions at once"},
		{"scim-delete-user", http.MethodDelete, "/scim/v2/Users/{id}", "Delete a user and revoke everything they hold"},
		{"scim-list-groups", http.MethodGet, "/scim/v2/Groups", "List groups (filter displayName eq \"x\")"},
		{"scim-create-group", http.MethodPost, "/scim/v2/Groups", "Create a group; its display name is matched by the role mapping"},
		{"scim-get-group", http.MethodGet, "/scim/v2/Groups/{id}", "Get a group"},
		{"scim-replace-group", http.MethodPut, "/scim/v2/Groups/{id}", "Replace a group"},
		{"scim-patch-group", http.MethodPatch, "/scim/v2/Groups/{id}", "Add, remove or replace members; rename"},
		{"scim-delete-group", http.MethodDelete, "/scim/v2/Groups/{id}", "Delete a group"},
		{"scim-service-provider-config", http.MethodGet, "/scim/v2/ServiceProviderConfig", "What this SCIM server supports"},
		{"scim-resource-types", http.MethodGet, "/scim/v2/ResourceTypes", "User and Group"},
		{"scim-schemas", http.MethodGet, "/scim/v2/Schemas", "The User and Group schemas"},
	} {
		var params []*huma.Param
		if len(op.path) > 3 && op.path[len(op.path)-4:] == "{id}" {
			params = []*huma.Param{{Name: "id", In: "path", Required: true, Schema: str("")}}
		}
		o.AddOperation(&huma.Operation{
			OperationID: op.id, Method: op.method, Path: op.path, Tags: []string{"SCIM"}, Summary: op.summary,
			Description: "Authenticated by an admin access token of an owner or admin that holds the scim scope (Authorization: Bearer). See docs/sso.md.",
			Security:    security, Parameters: params,
			Responses: map[string]*huma.Response{
				"200": answer("application/scim+json", "The resource, or a ListResponse"),
				"400": scimError, "401": scimError, "403": scimError, "404": scimError, "409": scimError,
			},
		})
	}
}
