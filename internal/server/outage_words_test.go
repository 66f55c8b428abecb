package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestADatabaseTimeoutSaysItDidNotAnswerInTime: when PostgreSQL itself
// stops a write at the statement_timeout (57014) or lock_timeout (55P03)
// an operator set, the 503 says the database did not answer in time and
// nothing was changed, not that it is unreachable: it answered, and an
// operator sent looking for an outage would find none.
func TestADatabaseTimeoutSaysItDidNotAnswerInTime(t *testing.T) {
	for _, setting := range []string{"statement_timeout=300", "lock_timeout=300"} {
		t.Run(strings.SplitN(setting, "=", 2)[0], func(t *testing.T) {
			u, err := url.Parse(testenv.PostgresDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("options", "-c"+setting) // no space: the test schema's DSN is re-encoded
			u.RawQuery = q.Encode()
			s := servertest.StartPostgres(t, u.String())
			admin := s.AdminSession(t)

			tx := lockTokensTable(t, s)
			defer tx.Rollback(context.Background())
			st, body, h := s.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "blocked", "scopes": []string{"repo:read"}})
			if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
				t.Fatalf("create while the statement times out: %d %s (Retry-After %q); want 503 with Retry-After", st, body, h.Get("Retry-After"))
			}
			if b := string(body); strings.Contains(b, "unreachable") || !strings.Contains(b, "did not answer in time") || !strings.Contains(b, "nothing was changed") {
				t.Errorf("create while the statement times out says %s; want the database did not answer in time and nothing was changed, not unreachable", b)
			}
		})
	}
}

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
