// Package server assembles a running Latchkey from its configuration, in a
// few named steps: open the store, build the services, build verification,
// mount the HTTP surfaces (API, introspection, console, gateway, token
// exchange, operations), then serve until the context ends and shut down
// gracefully, flushing usage data last.
//
// Each optional surface is wired in its own file (web.go, gateway.go,
// sts.go, cache.go) so that the startup sequence stays readable.
package server
