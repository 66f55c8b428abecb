package server_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// These run a real server with its verification cache on (the default),
// warm the cache with a request, change the token or its owner over the
// API, and expect the very next request to see the change.

func TestRevokedTokenIsRejectedOnNextRequestThroughTheCache(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		tk := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo", "tokens"}})
		for range 3 {
			if code, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", tk.Secret, nil); code != http.StatusOK {
				t.Fatalf("before revocation: %d %s", code, body)
			}
		}
		if code, body, _ := s.Do(t, http.MethodDelete, "/api/v1/tokens/"+tk.ID(), admin, nil); code != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", code, body)
		}
		if code, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", tk.Secret, nil); code != http.StatusUnauthorized {
			t.Fatalf("first request after revocation answered %d, want 401", code)
		}
	})
}

func TestSuspendedOwnersTokenIsRejectedOnNextRequestThroughTheCache(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		id := s.CreateUser(t, admin, "mia", "a-long-enough-password", "member", "person")
		mia := s.Login(t, "mia", "a-long-enough-password")
		tk := s.CreateToken(t, mia, map[string]any{"name": "ci", "scopes": []string{"repo"}})
		for range 3 {
			if code, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", tk.Secret, nil); code != http.StatusOK {
				t.Fatalf("before suspension: %d %s", code, body)
			}
		}
		if code, body, _ := s.Do(t, http.MethodPatch, "/api/v1/users/"+id, admin, map[string]any{"suspended": true}); code != http.StatusOK {
			t.Fatalf("suspend: %d %s", code, body)
		}
		if code, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", tk.Secret, nil); code != http.StatusUnauthorized {
			t.Fatalf("first request after suspension answered %d, want 401", code)
		}
	})
}

func TestRegeneratedTokenOldSecretIsRejectedOnNextRequestThroughTheCache(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		tk := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo"}})
		if code, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", tk.Secret, nil); code != http.StatusOK {
			t.Fatalf("before regeneration: %d %s", code, body)
		}
		var next servertest.CreatedToken
		s.JSON(t, http.MethodPost, "/api/v1/tokens/"+tk.ID()+"/regenerate", admin, map[string]any{}, http.StatusOK, &next)
		if code, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", tk.Secret, nil); code != http.StatusUnauthorized {
			t.Fatalf("old secret after regeneration answered %d, want 401", code)
		}
		if code, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", next.Secret, nil); code != http.StatusOK {
			t.Fatalf("new secret: %d %s", code, body)
		}
	})
}
