package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// mountOperations adds /healthz, /readyz and /metrics.
func (a *App) mountOperations() {
	a.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	a.Mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.ready(ctx); err != nil {
			msg, retry, ok := store.Outage(err)
			if !ok {
				msg, retry, _ = store.Outage(fmt.Errorf("%w: %w", store.ErrUnavailable, err))
			}
			a.Logger.Warn("readiness check failed", "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(msg + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	a.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "latchkey_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	reg.MustRegister(a.requests, a.latency)
	a.Mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack (streaming,
// WebSocket upgrades in reverse-proxy mode).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// middleware (inside the edge's handler, which sets the request id) adds baseline security headers, metrics and one
// access-log line per request. The log has the path but never the query or
// any header, so no secret reaches it.
func (a *App) middleware(next http.Handler) http.Handler {
	// Header values shared by every response, assigned without allocating.
	// net/http copies the header map when the status is written, and a
	// later Set or Add replaces or copies the one-element slice.
	nosniff, noStore := []string{"nosniff"}, []string{"no-store"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/oauth2/") {
			h["Cache-Control"] = noStore
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		a.observe(route, rec.status, elapsed)
		if a.Logger.Enabled(r.Context(), slog.LevelDebug) || rec.status >= 500 {
			a.Logger.LogAttrs(r.Context(), levelFor(rec.status), "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Duration("duration", elapsed), slog.String("remote", r.RemoteAddr),
				slog.String("client", auth.ClientOf(r).IP))
		}
	})
}

// withRequestTimeout is Latchkey's own handler h (the mux) with
// --request-timeout on the paths boundedPath names. It wraps the mux, not
// the whole server: in reverse-proxy mode a request for an upstream (on
// the upstream's host, /api/ paths included) goes around it, and an
// upstream's slow answer, long download or WebSocket is never cut.
//
// It also bounds how long a request body may take (withBodyDeadline), for
// the same reason: only Latchkey's own handlers, never an upstream's.
func (a *App) withRequestTimeout(h http.Handler) http.Handler {
	h = withBodyDeadline(h, bodyReadTimeout)
	if a.Config.RequestTimeout <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if boundedPath(r.URL.Path) {
			ctx, cancel := context.WithTimeout(r.Context(), a.Config.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// boundedPath reports whether a request to path gets --request-timeout:
// the API, OAuth and SCIM endpoints, which answer from the database, but
// not the audit export (a stream as long as the log) nor a job run (a
// cleanup may take minutes), nor the gateway, the console or what only
// verifies a token (/auth/verify, /api/v1/me, introspection: answered
// from the verification cache, and its reads are bounded on their own),
// which would pay for a deadline (a timer and a request copy) on every
// cached answer: +4 µs of CPU per /api/v1/me, 6% of its throughput, in an
// A/B of api-me on 3 December.
func boundedPath(path string) bool {
	switch path {
	case "/api/v1/audit/export", "/api/v1/me", "/oauth2/introspect":
		return false
	case "/login":
		// The console's login checks a password like the API's: a login
		// that waits past the timeout for its turn at the password check
		// is told the server is busy, instead of waiting as long as the
		// browser does.
		return true
	}
	if strings.HasPrefix(path, "/api/v1/jobs/") {
		return false
	}
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/oauth2/") || strings.HasPrefix(path, "/scim/")
}

func levelFor(status int) slog.Level {
	if status == http.StatusServiceUnavailable {
		return slog.LevelWarn // the storage is down; said once per request by the handler
	}
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

func statusText(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 999 {
		return "other"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}

// routeCode keys the metric children of one route and status.
type routeCode struct {
	route string
	code  int
}

type routeMetrics struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// observe counts one request. The children of the metric vectors are
// looked up once per route and status and kept, so a request costs one
// lock-free map read instead of hashing its labels into two vectors.
func (a *App) observe(route string, code int, d time.Duration) {
	k := routeCode{route, code}
	v, ok := a.routeMetrics.Load(k)
	if !ok {
		v, _ = a.routeMetrics.LoadOrStore(k, &routeMetrics{
			count: a.requests.WithLabelValues(route, statusText(code)), latency: a.latency.WithLabelValues(route),
		})
	}
	m := v.(*routeMetrics)
	m.count.Inc()
	m.latency.Observe(d.Seconds())
}
