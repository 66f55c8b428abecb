package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAuditExportThatFailsMidwayDoesNotLookComplete: an admin exports the
// audit log as evidence, and the store fails after the first page was sent
// (here an unreadable row further back; a lost database connection does
// the same). The answer must not end the way a complete export ends, a
// clean end of the stream after whole lines: the download has to fail, so
// nobody takes a truncated log for the whole record.
func TestAuditExportThatFailsMidwayDoesNotLookComplete(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	for i := range 510 { // more than one export page
		s.CreateToken(t, admin, map[string]any{"name": fmt.Sprintf("t%03d", i), "expires_in": "1h"})
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.App.Config.DataDir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The oldest event, on the last page, can no longer be read.
	if _, err := db.ExecContext(context.Background(),
		`UPDATE audit_events SET details = '{not json' WHERE id = (SELECT MIN(id) FROM audit_events)`); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/audit/export", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("export answered %d and ended cleanly after %d whole lines, though the store failed before the last page: a truncated audit log looks complete",
			resp.StatusCode, strings.Count(string(body), "\n"))
	}
	if n := strings.Count(string(body), "\n"); n < 500 {
		t.Errorf("export sent %d lines before failing; want the first page (500)", n)
	}
}
