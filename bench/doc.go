// Command bench is Latchkey's load harness: one entry point, go run ./bench.
//
// It builds ./cmd/latchkey, seeds a temporary SQLite data directory (or a
// fresh schema of the PostgreSQL database given by -database-url) with
// -tokens tokens through the store's batched CreateTokens, starts the
// server with a routes section so that /auth/verify has a rule to check,
// and drives it with wrk: a Lua script (load.lua) spreads the requests over
// many distinct valid tokens. In the same run, a floor server — a bare
// net/http server doing SHA-256 and a Go map lookup of the same tokens —
// is driven by the same load, so every result carries the floor's
// requests/s and the ratio to it.
//
// Scenarios: verify-cached, verify-uncached (--cache-size 0), introspect,
// api-me, create, invalid-flood. Each prints one JSON line (with -json,
// nothing else goes to stdout): requests/s, p50, p99, errors, the server's
// RSS and its CPU time per request, the floor's requests/s and the ratio,
// and the DESIGN.md §5 target
// the scenario is judged against. Answers other than the expected status
// are errors and make the run exit 1. -plot FILE sweeps the verify
// scenarios over -plot-tokens and draws throughput and p99 against the
// token count as SVG.
//
// All traffic goes to 127.0.0.1. The token files the load tool reads are
// secrets of a throwaway database, written with mode 0600 into a temporary
// directory that is removed at the end (unless -keep).
package main
