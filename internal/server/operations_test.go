package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestHealthReadinessAndMetricsEndpoints(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
			status, body, _ := s.Do(t, http.MethodGet, path, "", nil)
			if status != http.StatusOK || strings.TrimSpace(string(body)) != want {
				t.Errorf("GET %s = %d %q, want 200 %q", path, status, body, want)
			}
		}
		// A request to the API shows up in the metrics by route and status.
		s.Do(t, http.MethodGet, "/api/v1/me", "", nil)
		status, body, h := s.Do(t, http.MethodGet, "/metrics", "", nil)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET /metrics = %d %s", status, h.Get("Content-Type"))
		}
		want := `latchkey_http_requests_total{code="401",route="GET /api/v1/me"} 1`
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
		if !strings.Contains(string(body), "go_goroutines") {
			t.Errorf("metrics lack the Go runtime collector")
		}
	})
}
