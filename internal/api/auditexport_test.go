package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestAuditExportStreamsEveryMatchingEventAsJSONLines(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		const n = 520 // more than one export page
		for i := range n {
			s.CreateToken(t, admin, map[string]any{"name": fmt.Sprintf("t%03d", i), "expires_in": "1h"})
		}
		status, body, h := s.Do(t, http.MethodGet, "/api/v1/audit/export?action=token.create", admin, nil)
		if status != http.StatusOK || h.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("status %d, content type %q: %s", status, h.Get("Content-Type"), body)
		}
		seen := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var e struct {
				Action   string `json:"action"`
				TargetID string `json:"target_id"`
				ActorID  string `json:"actor_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("line %q is not a JSON event: %v", sc.Text(), err)
			}
			if e.Action != "token.create" || e.ActorID == "" || seen[e.TargetID] {
				t.Fatalf("unexpected or repeated event %+v", e)
			}
			seen[e.TargetID] = true
		}
		if len(seen) != n {
			t.Fatalf("exported %d token.create events, want %d", len(seen), n)
		}

		s.CreateUser(t, admin, "exporter", "member-password", "member", "person")
		memberSession := s.Login(t, "exporter", "member-password")
		if status, body, _ := s.Do(t, http.MethodGet, "/api/v1/audit/export", memberSession, nil); status != http.StatusForbidden {
			t.Fatalf("member export: status %d, want 403: %s", status, body)
		}
	})
}
