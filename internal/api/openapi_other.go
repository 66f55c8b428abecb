package api

import (
	"net/http"
	"reflect"

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
	jsonAnswer := func(desc string, schema *huma.Schema) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}}
	}
	oauthError := jsonAnswer("RFC 6749 §5.2 error", oauthErrorSchema())
	retryAfter := func(doc string) map[string]*huma.Param {
		return map[string]*huma.Param{"Retry-After": {Description: doc, Schema: &huma.Schema{Type: "integer"}}}
	}
	// The failure limit of every surface (auth.FailureLimiter), as OAuth
	// clients read it: not slow_down, which RFC 8628 keeps for a device
	// poll sooner than its interval.
	oauthTooMany := jsonAnswer("Too many failed authentications from the client's address: RFC 6749 §5.2 error temporarily_unavailable; try again after Retry-After seconds", oauthErrorSchema())
	oauthTooMany.Headers = retryAfter("Seconds until the address may try again")
	a.documentLoginLimits(retryAfter("Seconds until a login from this address, or for this user name, is checked again"))
	header := func(name, doc string) *huma.Param {
		return &huma.Param{Name: name, In: "header", Description: doc, Schema: str("")}
	}
	strs := func(doc string) *huma.Schema {
		return &huma.Schema{Type: "array", Items: &huma.Schema{Type: "string"}, Description: doc}
	}
	integer := func(doc string) *huma.Schema { return &huma.Schema{Type: "integer", Format: "int64", Description: doc} }
	object := func(required []string, props map[string]*huma.Schema) *huma.Schema {
		return &huma.Schema{Type: "object", Properties: props, Required: required}
	}
	introspection := o.Components.Schemas.Schema(reflect.TypeOf(sts.Introspection{}), true, "")
	// The client may authenticate (it must then be the subject's owner), or
	// rely on the subject token alone (RFC 8693): security is optional.
	optionalBearer := []map[string][]string{{}, {"bearer": {}}}

	o.AddOperation(&huma.Operation{
		OperationID: "introspect", Method: http.MethodPost, Path: sts.IntrospectPath, Tags: []string{"OAuth"},
		Summary:     "RFC 7662 token introspection",
		Description: "The caller authenticates with a token holding the introspect scope: HTTP Basic with the token as client secret (client_secret_basic, RFC 6749 §2.3.1 form-encoded), Authorization: Bearer, or client_secret in the form. Inactive, unknown or malformed tokens answer exactly {\"active\":false}. Also answers for JWTs issued by token exchange (with aud). An allowlisted token is reported with ip_allowlist, for the resource server to enforce.",
		Security:    security,
		RequestBody: form([]string{"token"}, map[string]*huma.Schema{"token": str("The token to inspect"), "token_type_hint": str("Ignored")}),
		Responses: map[string]*huma.Response{
			"200": jsonAnswer("The token's state: only active=false for an inactive, unknown or malformed token", introspection),
			"400": oauthError, "401": oauthError, "403": oauthError, "429": oauthTooMany,
		},
	})
	o.AddOperation(&huma.Operation{
		OperationID: "revoke", Method: http.MethodPost, Path: sts.RevokePath, Tags: []string{"OAuth"},
		Summary:     "RFC 7009 token revocation: end a token you hold",
		Description: "Possession is the proof: the token parameter itself authorizes revoking that token (a PAT, admin access or fed token is revoked as DELETE /api/v1/tokens/{id} revokes it; a session token ends as at logout; the previous secret of a regenerated token ends its grace period). A client may also authenticate, as at the token endpoint (Basic or Bearer with any working token, or client_secret in the form, not both); a refused credential is 401 invalid_client. Unknown, malformed, expired and already revoked tokens get the same 200 with an empty body (RFC 7009 §2.2); token_type_hint is ignored. A JWT from token exchange cannot be revoked by itself: 400 unsupported_token_type. Malformed and unknown tokens count, silently, against the address's failed authentications.",
		Security:    optionalBearer,
		RequestBody: form([]string{"token"}, map[string]*huma.Schema{
			"token":           str("The token to revoke: lk_pat_, lk_adm_, lk_fed_ or lk_ses_"),
			"token_type_hint": str("Ignored: the token says what it is"),
			"client_id":       str("Ignored"),
			"client_secret":   str("Optional (client_secret_post): any working token"),
		}),
		Responses: map[string]*huma.Response{
			"200": {Description: "Revoked, or nothing to revoke (unknown, malformed, expired or already revoked): an empty body either way"},
			"400": oauthError, "401": oauthError, "429": oauthTooMany, "503": oauthError,
		},
	})
	o.AddOperation(&huma.Operation{
		OperationID: "token-exchange", Method: http.MethodPost, Path: sts.TokenPath, Tags: []string{"OAuth"},
		Summary:     "RFC 8693 token exchange: a personal or admin access token for a short-lived signed JWT",
		Description: "The subject token is the credential. A client may also authenticate, with Authorization (Bearer, or Basic with a token as client secret) or client_secret in the form, not both; the credential must then be the subject token's owner (401 invalid_client otherwise). An empty client_secret counts as none.",
		Security:    optionalBearer,
		RequestBody: form([]string{"grant_type"}, map[string]*huma.Schema{
			"grant_type":           str("urn:ietf:params:oauth:grant-type:token-exchange (a token for a JWT, or a workload's OIDC token for an lk_fed_ token), or urn:ietf:params:oauth:grant-type:device_code (RFC 8628)"),
			"subject_token":        str("Token exchange: a personal or admin access token (not a session token), or a workload's OIDC token (JWT)"),
			"subject_token_type":   str("Token exchange: urn:ietf:params:oauth:token-type:access_token, or urn:ietf:params:oauth:token-type:id_token / :jwt for workload identity federation"),
			"policy":               str("Workload identity federation: the trust policy's name, needed only when more than one policy matches"),
			"device_code":          str("Device grant: the device_code from /oauth2/device_authorization"),
			"client_id":            str("Device grant: latchkey-cli"),
			"client_secret":        str("Token exchange, optional (client_secret_post): a token of the subject token's owner"),
			"scope":                str("Space-separated scopes, a subset of the token's effective scopes"),
			"audience":             strs("Intended audiences: logical names such as billing-api (repeat the field for several)"),
			"resource":             strs("Intended resources: absolute URIs without a fragment (repeat the field for several)"),
			"requested_token_type": str("urn:ietf:params:oauth:token-type:jwt (the default)"),
		}),
		Responses: map[string]*huma.Response{
			"200": jsonAnswer("The issued token (RFC 8693 §2.2.1; RFC 8628 §3.5 for the device grant)", object(
				[]string{"access_token", "token_type", "expires_in"},
				map[string]*huma.Schema{
					"access_token":      str("The signed JWT (token exchange), an lk_fed_ token (federation) or an lk_ses_ session token (device grant)"),
					"issued_token_type": str("urn:ietf:params:oauth:token-type:jwt or urn:ietf:params:oauth:token-type:access_token (token exchange only)"),
					"token_type":        str("Bearer"),
					"expires_in":        integer("Seconds until the JWT expires"),
					"scope":             str("Space-separated scopes the JWT carries (JWT exchange only)"),
				})),
			"400": oauthError, "401": oauthError, "429": oauthTooMany, "503": oauthError,
		},
	})
	o.AddOperation(&huma.Operation{
		OperationID: "forward-auth", Method: http.MethodGet, Path: gateway.VerifyPath, Tags: []string{"Gateway"},
		Summary:     "Forward-auth for nginx auth_request, Traefik ForwardAuth, Caddy forward_auth and Envoy ext_authz",
		Description: "Judges the original request (X-Original-Method/-URI, or X-Forwarded-Method/-Uri, or the path below /auth/verify/) by the route rules. The headers are believed only from --trusted-proxies; descriptions that disagree are refused with 400. The token comes as Bearer, `token <t>`, or as the Basic-auth password (git). See docs/gateway.md.",
		Security:    []map[string][]string{{"bearer": {}}, {"basic": {}}},
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
	jwk := object([]string{"kty", "kid"}, map[string]*huma.Schema{
		"kty": str("Key type: OKP, EC or RSA"), "kid": str("Key id, as in the JWT header"),
		"use": str("sig"), "alg": str("Signing algorithm, e.g. EdDSA or ES256"),
		"crv": str("Curve (OKP, EC)"), "x": str("Public key (OKP, EC)"), "y": str("Public key (EC)"),
		"n": str("Modulus (RSA)"), "e": str("Exponent (RSA)"),
	})
	o.AddOperation(&huma.Operation{OperationID: "jwks", Method: http.MethodGet, Path: sts.JWKSPath, Tags: []string{"OAuth"},
		Summary: "The public keys that sign exchanged JWTs (current and previous)", Responses: map[string]*huma.Response{
			"200": jsonAnswer("JWK Set (RFC 7517)", object([]string{"keys"}, map[string]*huma.Schema{"keys": {Type: "array", Items: jwk}})),
		}})
	uri := func(doc string) *huma.Schema { return &huma.Schema{Type: "string", Format: "uri", Description: doc} }
	const metadataDoc = "Metadata naming the token, introspection, revocation and JWKS endpoints. Served also when token exchange is off " +
		"(PostgreSQL without a signing-key secret): it then lists only what works there, with no jwks_uri, no token-exchange grant and no token types"
	o.AddOperation(&huma.Operation{OperationID: "oauth-metadata", Method: http.MethodGet, Path: sts.MetadataPath, Tags: []string{"OAuth"},
		Summary: "RFC 8414 authorization server metadata", Responses: map[string]*huma.Response{
			"200": jsonAnswer(metadataDoc, object(
				[]string{"issuer", "token_endpoint", "introspection_endpoint", "revocation_endpoint", "grant_types_supported", "response_types_supported"},
				map[string]*huma.Schema{
					"issuer": uri("This server's URL"), "token_endpoint": uri("POST /oauth2/token"),
					"jwks_uri": uri("GET /.well-known/jwks.json; absent when token exchange is off"), "introspection_endpoint": uri("POST /oauth2/introspect"),
					"revocation_endpoint":                              uri("POST /oauth2/revoke (RFC 7009)"),
					"revocation_endpoint_auth_methods_supported":       strs("none: the token to revoke is the proof; client_secret_basic, client_secret_post: optional, any working token"),
					"grant_types_supported":                            strs(""),
					"subject_token_types_supported":                    strs("RFC 8693 token types accepted as subject_token_type: access_token (a Latchkey token), id_token and jwt (a workload's OIDC token, for federation)"),
					"issued_token_types_supported":                     strs("RFC 8693 token types the exchange answers as issued_token_type"),
					"device_authorization_endpoint":                    uri("POST /oauth2/device_authorization (RFC 8628)"),
					"response_types_supported":                         strs(""),
					"token_endpoint_auth_methods_supported":            strs(""),
					"introspection_endpoint_auth_methods_supported":    strs(""),
					"scopes_supported":                                 strs("The scope catalog"),
					"token_endpoint_auth_signing_alg_values_supported": strs(""),
					"access_token_signing_alg_values_supported":        strs(""),
					"latchkey_scope_implies": {Type: "object", AdditionalProperties: strs("Scopes implied by the key"),
						Description: "Scope hierarchy: each scope and the scopes it implies"},
					"service_documentation": uri(""),
				})),
		}})
	plain := map[string]*huma.Response{"200": {Description: "text/plain"}}
	o.AddOperation(&huma.Operation{OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"Operations"}, Summary: "The process is up", Responses: plain})
	o.AddOperation(&huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"Operations"}, Summary: "The database answers (503 when not)", Responses: plain})
	o.AddOperation(&huma.Operation{OperationID: "metrics", Method: http.MethodGet, Path: "/metrics", Tags: []string{"Operations"}, Summary: "Prometheus metrics", Responses: plain})
}

// documentLoginLimits adds to the login operation (registered by huma,
// which lists only the answers it knows) the 429 that the failed-login
// limits answer with, and its Retry-After.
func (a *API) documentLoginLimits(retryAfter map[string]*huma.Param) {
	item := a.OpenAPI().Paths["/api/v1/auth/login"]
	if item == nil || item.Post == nil {
		return
	}
	item.Post.Responses["429"] = &huma.Response{
		Description: "Too many failed logins from the client's address or for the user name; answered before the password is checked. Wait Retry-After seconds.",
		Headers:     retryAfter,
		Content: map[string]*huma.MediaType{"application/problem+json": {
			Schema: a.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(huma.ErrorModel{}), true, ""),
		}},
	}
}
