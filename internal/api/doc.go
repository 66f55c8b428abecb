// Package api serves Latchkey's REST API under /api/v1 and the RFC 7662
// introspection endpoint. Operations are declared with huma on the standard
// library's ServeMux, so the OpenAPI 3.1 document at /api/v1/openapi.json is
// generated from the Go types below and every input is validated against it.
//
// Each request flows: authenticate middleware (auth.Verifier) → handler
// (decode, build a service.Actor, call one service method, encode) → the
// one error mapping in errors.go, which turns service and auth kind errors
// into RFC 9457 problem+json responses. Handlers hold no business rules.
package api
