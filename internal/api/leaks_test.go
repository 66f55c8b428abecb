package api_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestLeakReportRevokesTheTokenAndTellsTheScanner(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		leaked := s.CreateToken(t, admin, map[string]any{"name": "leaky", "scopes": []string{"repo:read"}})
		kept := s.CreateToken(t, admin, map[string]any{"name": "kept", "scopes": []string{"repo:read"}})
		s.JSON(t, http.MethodGet, "/api/v1/me", leaked.Secret, nil, http.StatusOK, nil)

		report := []map[string]string{
			{"token": leaked.Secret, "type": "latchkey_pat", "url": "https://example.com/gist/1", "source": "gist"},
			{"token": "lk_pat_notarealtokennotarealtokennotareal", "type": "latchkey_pat", "url": "https://example.com/2"},
		}
		var verdicts []struct {
			TokenRaw string `json:"token_raw"`
			Label    string `json:"label"`
		}
		s.JSON(t, http.MethodPost, "/api/v1/leaks", "", report, http.StatusOK, &verdicts)
		if len(verdicts) != 2 || verdicts[0].Label != "true_positive" || verdicts[1].Label != "false_positive" {
			t.Fatalf("verdicts = %+v, want true_positive then false_positive", verdicts)
		}
		if status, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", leaked.Secret, nil); status != http.StatusUnauthorized {
			t.Fatalf("leaked token still works: %d %s", status, body)
		}
		s.JSON(t, http.MethodGet, "/api/v1/me", kept.Secret, nil, http.StatusOK, nil)

		var audit struct {
			Items []struct {
				Action   string         `json:"action"`
				TargetID string         `json:"target_id"`
				Details  map[string]any `json:"details"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?action=token.leak_reported", admin, nil, http.StatusOK, &audit)
		if len(audit.Items) != 1 || audit.Items[0].TargetID != leaked.ID() || audit.Items[0].Details["url"] != "https://example.com/gist/1" {
			t.Fatalf("audit = %+v, want one leak report for the leaked token with its URL", audit.Items)
		}
	})
}

func TestLeakReportRejectsMalformedBodies(t *testing.T) {
	s := servertest.Start(t)
	for name, body := range map[string]string{
		"empty array":  `[]`,
		"not an array": `{"token":"x"}`,
		"bad json":     `[{"token":`,
		"wrong type":   `[{"token":5}]`,
	} {
		t.Run(name, func(t *testing.T) {
			status, out, h := s.Do(t, http.MethodPost, "/api/v1/leaks", "", body)
			if status < 400 || status > 499 || h.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %s: %s, want a 4xx problem", status, h.Get("Content-Type"), out)
			}
		})
	}
}
