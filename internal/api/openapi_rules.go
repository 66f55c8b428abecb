package api

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// The OpenAPI document is linted in CI (`redocly lint`, recommended rules:
// TestOpenAPIPassesRedoclyLint). The rules it checks on every operation come
// from here, applied by a hook that huma runs for each operation added, so an
// operation registered anywhere (huma.Register or OpenAPI().AddOperation)
// gets them without doing anything:
//
//   - security: an operation that declares none is public and says so with
//     `security: []`; operations that take a credential set Security to
//     [security] (bearer) explicitly.
//   - a 4XX answer: every path may be refused with 400 (an undecodable query
//     string is refused before routing, see RejectUndecodableQuery) and
//     every secured one with 401; the problem+json shape is declared for both
//     unless the operation declared its own 4XX answers.

// publicSecurity is the explicit "no credential needed" of public operations.
var publicSecurity = []map[string][]string{}

// documentRules installs the shared OpenAPI rules into cfg: the document's
// servers and license, and the per-operation hook described above. It must
// run before any operation is registered.
func documentRules(cfg *huma.Config) {
	cfg.Servers = []*huma.Server{{URL: "/", Description: "This Latchkey server (paths are relative to where it is reached)"}}
	// The repository has no license file yet: say so rather than invent one
	// (change both fields when a LICENSE is chosen).
	cfg.Info.License = &huma.License{Name: "Proprietary: no license granted yet", Identifier: "LicenseRef-Proprietary"}
	cfg.OnAddOperation = append(cfg.OnAddOperation, operationDefaults)
}

// operationDefaults gives op what every operation needs (see above).
func operationDefaults(o *huma.OpenAPI, op *huma.Operation) {
	if op.Security == nil {
		op.Security = publicSecurity
	}
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	for code := range op.Responses {
		if strings.HasPrefix(strings.ToUpper(code), "4") {
			return
		}
	}
	problem := problemContent(o, op.Path)
	op.Responses["400"] = &huma.Response{Description: "The request could not be read (for example a query string that is not valid percent-encoding, or a single-valued query parameter given more than once)", Content: problem}
	if len(op.Security) > 0 {
		op.Responses["401"] = &huma.Response{Description: "No credential, or one that was refused", Content: problem}
	}
}

// problemContent is how a 4XX answer of the path is shaped: RFC 6749 §5.2
// JSON for the OAuth endpoints, problem+json everywhere else.
func problemContent(o *huma.OpenAPI, path string) map[string]*huma.MediaType {
	if strings.HasPrefix(path, "/oauth2/") {
		return map[string]*huma.MediaType{"application/json": {Schema: oauthErrorSchema()}}
	}
	ref := o.Components.Schemas.Schema(reflect.TypeOf(huma.ErrorModel{}), true, "")
	return map[string]*huma.MediaType{"application/problem+json": {Schema: ref}}
}

// oauthErrorSchema is the RFC 6749 §5.2 error answer.
func oauthErrorSchema() *huma.Schema {
	return &huma.Schema{
		Type: "object", Required: []string{"error"},
		Properties: map[string]*huma.Schema{
			"error":             {Type: "string", Description: "invalid_request, invalid_client, invalid_grant, invalid_scope, invalid_target, unsupported_grant_type, ...", Examples: []any{"invalid_request"}},
			"error_description": {Type: "string", Description: "What was wrong and how to fix it"},
		},
	}
}

// nullableObjects rewrites the named properties of the body schema of op's
// 200 answer as `oneOf: [<object>, {type: null}]`: huma cannot tag a struct
// pointer nullable, yet /me answers null for the credential it was not
// called with, and generated clients must be able to hold that.
func nullableObjects(o *huma.OpenAPI, path, method string, props ...string) {
	item := o.Paths[path]
	if item == nil {
		return
	}
	var op *huma.Operation
	switch method {
	case http.MethodGet:
		op = item.Get
	case http.MethodPost:
		op = item.Post
	}
	if op == nil || op.Responses[strconv.Itoa(http.StatusOK)] == nil {
		return
	}
	mt := op.Responses["200"].Content["application/json"]
	if mt == nil || mt.Schema == nil {
		return
	}
	s := mt.Schema
	if s.Ref != "" {
		s = o.Components.Schemas.SchemaFromRef(s.Ref)
	}
	for _, name := range props {
		p := s.Properties[name]
		if p == nil || p.OneOf != nil {
			continue
		}
		s.Properties[name] = &huma.Schema{Description: p.Description, OneOf: []*huma.Schema{{Ref: p.Ref, Type: p.Type, Properties: p.Properties}, {Type: "null"}}}
	}
}
