package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

// BenchmarkCachedAnswer drives the handler `latchkey serve` serves
// (App.Handler: edge, middleware, mux, gateway front) in process, with no
// network and no load tool, for the three answers DESIGN.md §5 holds to a
// ratio of the floor server: forward-auth, introspection and /api/v1/me,
// each with its credentials in the verification cache. "floor" is the
// bare SHA-256 + map lookup handler of the bench harness under the same
// request and response plumbing, so the ratios of the other cases to it
// are comparable to the harness's.
//
//	go test -run '^$' -bench CachedAnswer -benchmem -count 5 ./internal/server/
func BenchmarkCachedAnswer(b *testing.B) {
	s := startBenchServer(b)
	admin := s.AdminSession(b)
	caller := s.CreateToken(b, admin, map[string]any{"name": "resource-server", "scopes": []string{"introspect"}})
	subject := s.CreateToken(b, admin, map[string]any{
		"name": "git", "scopes": []string{"repo:read=acme/*", "machine"}, "expires_in": "30d",
	})
	h := s.App.Handler

	verify := benchRequest(b, http.MethodGet, s.URL+"/auth/verify", subject.Secret, "")
	verify.Header.Set("X-Original-Method", "GET")
	verify.Header.Set("X-Original-URI", "/repos/acme/web")
	introspect := benchRequest(b, http.MethodPost, s.URL+"/oauth2/introspect", caller.Secret,
		url.Values{"token": {subject.Secret}}.Encode())
	introspect.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	me := benchRequest(b, http.MethodGet, s.URL+"/api/v1/me", subject.Secret, "")

	digests := map[token.Digest]struct{}{token.Hash(subject.Secret): {}}
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, known := digests[sha256.Sum256([]byte(secret))]; !ok || !known {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})

	for _, c := range []struct {
		name string
		h    http.Handler
		tmpl *benchReq
		want string // in the body of the warm-up answer
	}{
		{"floor", floor, verify, ""},
		{"verify", h, verify, ""},
		{"introspect", h, introspect, `"active":true`},
		{"me", h, me, `"username":"admin"`},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := &benchWriter{h: http.Header{}}
			c.h.ServeHTTP(w, c.tmpl.new()) // fills the verification cache
			if w.status != http.StatusOK || !strings.Contains(w.body.String(), c.want) {
				b.Fatalf("warm-up: status %d, body %q", w.status, w.body.String())
			}
			b.ReportAllocs()
			// On a shared machine wall time is partly waiting for a core;
			// the process CPU per request (GC and background work
			// included) is reported too.
			cpu0 := processCPU()
			for b.Loop() {
				w.reset()
				c.h.ServeHTTP(w, c.tmpl.new())
				if w.status != http.StatusOK {
					b.Fatalf("status %d, body %q", w.status, w.body.String())
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// startBenchServer starts the server as the bench harness does: every
// route open to any authenticated caller, loopback a trusted proxy (so the
// nginx-style X-Original-* headers are read).
func startBenchServer(b *testing.B) *servertest.Server {
	b.Helper()
	cfg := filepath.Join(b.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(cfg, []byte("routes:\n  default: authenticated\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return servertest.Start(b, "--config", cfg, "--trusted-proxies", "127.0.0.1/32")
}

// processCPU is the CPU time the process used so far, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchReq is a request template: new returns a fresh request each time
// (handlers may change the request and its headers), sharing the header
// values and re-reading the body, at a fixed small cost per iteration.
type benchReq struct {
	*http.Request
	body string
}

func benchRequest(b *testing.B, method, target, bearer, body string) *benchReq {
	b.Helper()
	r, err := http.NewRequestWithContext(context.Background(), method, target, nil)
	if err != nil {
		b.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	r.RequestURI = r.URL.RequestURI()
	r.Header.Set("Authorization", "Bearer "+bearer)
	r.Header.Set("User-Agent", "bench")
	return &benchReq{Request: r, body: body}
}

func (t *benchReq) new() *http.Request {
	r := new(http.Request)
	*r = *t.Request
	r.Header = maps.Clone(t.Header)
	if t.body != "" {
		r.Body = io.NopCloser(strings.NewReader(t.body))
		r.ContentLength = int64(len(t.body))
	} else {
		r.Body = http.NoBody
	}
	return r
}

// benchWriter is a ResponseWriter reused between iterations. Its header
// map costs what net/http's does: a new map per request (so an answer with
// more than eight headers pays for the map's growth), copied when the
// status is written if the handler touched it.
type benchWriter struct {
	h       http.Header
	touched bool
	sent    http.Header // the copy taken at WriteHeader, as net/http does
	status  int
	body    bytes.Buffer
}

func (w *benchWriter) Header() http.Header {
	w.touched = true
	return w.h
}

func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if w.touched {
			w.sent = w.h.Clone()
		}
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *benchWriter) reset() {
	w.h, w.touched, w.sent = http.Header{}, false, nil
	w.status = 0
	w.body.Reset()
}
