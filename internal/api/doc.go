// Package api serves Latchkey's REST API under /api/v1 and the RFC 7662
// introspection endpoint. Operations are declared with huma on the standard
// library's ServeMux, so the OpenAPI 3.1 document at /api/v1/openapi.json is
// generated from the Go types below and every input is validated against it.
//
// Each request flows: authenticate middleware (auth.Verifier) → handler
// (decode, build a service.Actor, call one service method, encode) → the
// one error mapping in errors.go, which turns service and auth kind errors
// into RFC 9457 problem+json responses; huma's own validation problems get
// their specifics spelled out in the detail too (explain). Handlers hold no
// business rules.
//
// The tests in this directory drive a real server on loopback
// (servertest.ForEachBackend: SQLite always, PostgreSQL when
// LATCHKEY_TEST_POSTGRES_DSN is set) through the whole token lifecycle, the
// authorization matrix, policy limits, introspection, the audit log and a
// table of malformed inputs that must each get an explained 4xx.
package api
