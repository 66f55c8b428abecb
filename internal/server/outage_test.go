package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// TestAFullDiskAnswers503SayingSo fills the SQLite database (its page limit
// set to the pages in use, which fails writes with SQLITE_FULL as a full
// disk does): creating tokens then answers 503 "the disk is full" with
// Retry-After on the API; /readyz says the same; reads
// and cached verification keep working.
func TestAFullDiskAnswers503SayingSo(t *testing.T) {
	s := servertest.Start(t, "--cache-ttl=1h")
	admin := s.AdminSession(t)
	earlier := s.CreateToken(t, admin, map[string]any{"name": "earlier", "scopes": []string{"repo:read"}})
	s.JSON(t, http.MethodGet, "/api/v1/me", earlier.Secret, nil, http.StatusOK, nil)

	if err := s.App.Store.(*sqlite.Store).FillForTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	var status int
	var body []byte
	var h http.Header
	for i := 0; i < 500; i++ {
		status, body, h = s.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "filler-" + strings.Repeat("x", 80) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)), "scopes": []string{"repo:read"}, "description": strings.Repeat("d", 400)})
		if status != http.StatusCreated {
			break
		}
	}
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "the disk is full") || h.Get("Retry-After") == "" {
		t.Fatalf("create on a full disk: %d %s (Retry-After %q); want 503 saying the disk is full, with Retry-After", status, body, h.Get("Retry-After"))
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Errorf("Content-Type %q, want problem+json", h.Get("Content-Type"))
	}
	if st, body, h := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(body), "the disk is full") || h.Get("Retry-After") == "" {
		t.Errorf("/readyz on a full disk: %d %q; want 503 saying the disk is full", st, body)
	}
	s.JSON(t, http.MethodGet, "/api/v1/me", earlier.Secret, nil, http.StatusOK, nil)
	s.JSON(t, http.MethodGet, "/api/v1/tokens/"+earlier.ID(), admin, nil, http.StatusOK, nil)
}
