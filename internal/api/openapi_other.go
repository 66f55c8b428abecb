package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/gateway"
	"github.com/latchkey/latchkey/internal/sts"
)

// documentOtherEndpoints describes in the OpenAPI document the endpoints
// that are served outside huma (OAuth and forward-auth speak their own
// protocols: form bodies, RFC 6749 errors, bare status answers), so that
// one document lists everything the server answers.
func (a *API) documentOtherEndpoints() {
	o := a.OpenAPI()
	str := func(doc string) *huma.Schema { return &huma.Schema{Type: "string", Description: doc} }
	form := func(required []string, props map[string]*huma.Schema) *huma.RequestBody {
		return &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"application/x-www-form-urlencoded": {Schema: &huma.Schema{Type: "object", Properties: props, Required: required}},
		}}
	}
	jsonAnswer := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Type: "object"}}}}
	}
	oauthError := jsonAnswer(`RFC 6749 §5.2 error: {"error","error_description"}`)
	header := func(name, doc string) *huma.Param {
		return &huma.Param{Name: name, In: "header", Description: doc, Schema: str("")}
	}

	o.AddOperation(&huma.Operation{
		OperationID: "introspect", Method: http.MethodPost, Path: sts.IntrospectPath, Tags: []string{"OAuth"},
		Summary:     "RFC 7662 token introspection",
		Description: "The caller authenticates with a token holding the introspect scope: HTTP Basic with the token as client secret (client_secret_basic, RFC 6749 §2.3.1 form-encoded), Authorization: Bearer, or client_secret in the form. Inactive, unknown or malformed tokens answer exactly {\"active\":false}. Also answers for JWTs issued by token exchange (with aud). An allowlisted token is reported with ip_allowlist, for the resource server to enforce.",
		Security:    security,
		RequestBody: form([]string{"token"}, map[string]*huma.Schema{"token": str("The token to inspect"), "token_type_hint": str("Ignored")}),
		Responses: map[string]*huma.Response{
			"200": jsonAnswer("{active, scope, client_id, username, sub, aud, iss, exp, iat, token_type, token_id, kind, ip_allowlist, ...}"),
			"400": oauthError, "401": oauthError, "403": oauthError, "429": oauthError,
		},
	})
	o.AddOperation(&huma.Operation{
		OperationID: "token-exchange", Method: http.MethodPost, Path: sts.TokenPath, Tags: []string{"OAuth"},
		Summary: "RFC 8693 token exchange: a personal or admin access token for a short-lived signed JWT",
		RequestBody: form([]string{"grant_type", "subject_token", "subject_token_type"}, map[string]*huma.Schema{
			"grant_type":           str("urn:ietf:params:oauth:grant-type:token-exchange"),
			"subject_token":        str("A personal or admin access token (not a session token)"),
			"subject_token_type":   str("urn:ietf:params:oauth:token-type:access_token"),
			"scope":                str("Space-separated scopes, a subset of the token's effective scopes"),
			"audience":             str("Intended audience (repeatable)"),
			"resource":             str("Intended resource URI (repeatable)"),
			"requested_token_type": str("urn:ietf:params:oauth:token-type:jwt (the default)"),
		}),
		Responses: map[string]*huma.Response{
			"200": jsonAnswer("{access_token, issued_token_type, token_type: Bearer, expires_in, scope}"),
			"400": oauthError, "401": oauthError, "429": oauthError, "503": oauthError,
		},
	})
	o.AddOperation(&huma.Operation{
		OperationID: "forward-auth", Method: http.MethodGet, Path: gateway.VerifyPath, Tags: []string{"Gateway"},
		Summary:     "Forward-auth for nginx auth_request, Traefik ForwardAuth, Caddy forward_auth and Envoy ext_authz",
		Description: "Judges the original request (X-Original-Method/-URI, or X-Forwarded-Method/-Uri, or the path below /auth/verify/) by the route rules. The headers are believed only from --trusted-proxies; descriptions that disagree are refused with 400. See docs/gateway.md.",
		Parameters: []*huma.Param{
			header("X-Original-Method", "nginx: the original method"), header("X-Original-URI", "nginx: the original URI"),
			header("X-Forwarded-Method", "Traefik, Caddy: the original method"), header("X-Forwarded-Uri", "Traefik, Caddy: the original URI"),
			header("X-Forwarded-Host", "the original host, checked against an absolute-form URI"),
			header("X-Forwarded-For", "the client's address (also Forwarded, X-Real-IP), from a trusted proxy"),
		},
		Responses: map[string]*huma.Response{
			"200": {Description: "Allowed; identity in X-Latchkey-User, -User-Id, -Token-Id, -Scopes, and Latchkey-Token-Expiration"},
			"400": {Description: "The original request could not be told without guessing; the reason is in the body and X-Latchkey-Reason"},
			"429": {Description: "Too many failed authentications from the client's address; Retry-After"},
			"401": {Description: "No or a refused credential; WWW-Authenticate: Basic realm=\"latchkey\""},
			"403": {Description: "The credential lacks the route's scope or resource"},
		},
	})
	o.AddOperation(&huma.Operation{OperationID: "jwks", Method: http.MethodGet, Path: sts.JWKSPath, Tags: []string{"OAuth"},
		Summary: "The public keys that sign exchanged JWTs (current and previous)", Responses: map[string]*huma.Response{"200": jsonAnswer("JWK Set")}})
	o.AddOperation(&huma.Operation{OperationID: "oauth-metadata", Method: http.MethodGet, Path: sts.MetadataPath, Tags: []string{"OAuth"},
		Summary: "RFC 8414 authorization server metadata", Responses: map[string]*huma.Response{"200": jsonAnswer("Metadata naming the token, introspection and JWKS endpoints")}})
	plain := map[string]*huma.Response{"200": {Description: "text/plain"}}
	o.AddOperation(&huma.Operation{OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"Operations"}, Summary: "The process is up", Responses: plain})
	o.AddOperation(&huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"Operations"}, Summary: "The database answers (503 when not)", Responses: plain})
	o.AddOperation(&huma.Operation{OperationID: "metrics", Method: http.MethodGet, Path: "/metrics", Tags: []string{"Operations"}, Summary: "Prometheus metrics", Responses: plain})
}
