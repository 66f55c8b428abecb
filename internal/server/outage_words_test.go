package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestASQLiteFileLockedByAnotherProgramSaysItIsBusy: another program (a
// sqlite3 shell, a backup) holds the SQLite file's write lock past the
// busy timeout (5 s). The write answers 503 with Retry-After saying the
// database is busy with another write, not that it is unreachable; once
// the lock is gone the write goes through.
func TestASQLiteFileLockedByAnotherProgramSaysItIsBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out SQLite's 5 s busy timeout")
	}
	s := servertest.Start(t)
	admin := s.AdminSession(t)

	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.App.Config.DataDir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	st, body, h := s.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "blocked", "scopes": []string{"repo:read"}})
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("create while another program holds the file: %d %s (Retry-After %q); want 503 problem+json with Retry-After", st, body, h.Get("Retry-After"))
	}
	if b := string(body); strings.Contains(b, "unreachable") || !strings.Contains(b, "busy with another write") {
		t.Errorf("create while another program holds the file says %s; want busy with another write, not unreachable", b)
	}
	s.CreateToken(t, admin, map[string]any{"name": "after", "scopes": []string{"repo:read"}})
}
