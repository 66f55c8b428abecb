package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestADatabaseThatGivesUpOnAStatementAnswers503 runs a server whose
// PostgreSQL role has a statement_timeout or a lock_timeout, as operators
// set to keep one stuck query from holding connections, while another
// session holds the tokens table locked. The writes that time out answer
// 503 problem+json with Retry-After (the client should retry; nothing was
// changed) saying the database did not answer in time, not 500 "internal
// error" nor "unreachable"; once the lock is gone the same revocation goes
// through.
func TestADatabaseThatGivesUpOnAStatementAnswers503(t *testing.T) {
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
			victim := s.CreateToken(t, admin, map[string]any{"name": "victim", "scopes": []string{"repo:read"}})

			ctx := context.Background()
			tx := lockTokensTable(t, s)
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{http.MethodPost, "/api/v1/tokens", map[string]any{"name": "blocked", "scopes": []string{"repo:read"}}},
				{http.MethodDelete, "/api/v1/tokens/" + victim.ID(), nil},
			} {
				st, body, h := s.Do(t, c.method, c.path, admin, c.body)
				if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
					t.Errorf("%s %s while the statement times out: %d %s (Retry-After %q, Content-Type %q); want 503 problem+json with Retry-After",
						c.method, c.path, st, body, h.Get("Retry-After"), h.Get("Content-Type"))
				}
				// The database answered and rolled the statement back: an
				// operator told "unreachable" would look for an outage.
				if b := string(body); strings.Contains(b, "unreachable") || !strings.Contains(b, "did not answer in time") || !strings.Contains(b, "nothing was changed") {
					t.Errorf("%s %s while the statement times out says %s; want the database did not answer in time and nothing was changed, not unreachable", c.method, c.path, b)
				}
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+victim.ID(), admin, nil, http.StatusNoContent, nil)
			if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", victim.Secret, nil); st != http.StatusUnauthorized {
				t.Errorf("the revoked token answers %d; want 401", st)
			}
		})
	}
}

// TestARequestStuckOnTheDatabaseAnswers503InTime: with no timeout at the
// database at all, a request that waits on a lock (or on a connection that
// stopped answering) ends at --request-timeout with 503 problem+json and
// Retry-After, rather than hanging for as long as the database does.
func TestARequestStuckOnTheDatabaseAnswers503InTime(t *testing.T) {
	s := servertest.StartPostgres(t, testenv.PostgresDSN(t), "--request-timeout", "1s")
	admin := s.AdminSession(t)
	victim := s.CreateToken(t, admin, map[string]any{"name": "victim", "scopes": []string{"repo:read"}})

	ctx := context.Background()
	tx := lockTokensTable(t, s)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/tokens", map[string]any{"name": "blocked", "scopes": []string{"repo:read"}}},
		{http.MethodDelete, "/api/v1/tokens/" + victim.ID(), nil},
		{http.MethodGet, "/api/v1/tokens", nil},
	} {
		done := make(chan struct{})
		var st int
		var body []byte
		var h http.Header
		go func() {
			defer close(done)
			st, body, h = s.Do(t, c.method, c.path, admin, c.body)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second): // a hang, not a measurement: the deadline is 1 s
			t.Fatalf("%s %s still waits on the locked table after 20 s", c.method, c.path)
		}
		if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") ||
			!strings.Contains(string(body), "did not answer in time") {
			t.Errorf("%s %s on a locked table: %d %s (Retry-After %q); want 503 problem+json saying the database did not answer in time",
				c.method, c.path, st, body, h.Get("Retry-After"))
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+victim.ID(), admin, nil, http.StatusNoContent, nil)
}

// lockTokensTable holds the tokens table of s's database locked, from a
// session of its own with no statement timeout, until the transaction it
// returns ends (or the test does).
func lockTokensTable(t *testing.T, s *servertest.Server) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.App.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0; LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return tx
}
