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

// TestADeadlockAnswers503SayingAChangeConflicted makes PostgreSQL detect a
// real deadlock between a token update the API is making and another
// session, and kill the API's transaction (40P01). The answer is 503 with
// Retry-After, as for every storage failure, and says what happened: a
// conflicting change, worth retrying, not an unreachable database. The
// retry then goes through.
//
// The cycle: a trigger (installed by the test) makes the API's UPDATE of
// the token, whose row it holds locked, wait for an advisory lock the other
// session holds; that session then updates the same row. The server's
// connections check for deadlocks after 100 ms, the other session's only
// after a minute, so PostgreSQL picks the server's transaction to abort.
func TestADeadlockAnswers503SayingAChangeConflicted(t *testing.T) {
	s := startDeadlockServer(t)
	admin := s.AdminSession(t)
	victim := s.CreateToken(t, admin, map[string]any{"name": "victim", "scopes": []string{"repo:read"}})
	tx := setDeadlockTrap(t, s, "NEW.description = 'deadlock'")

	type answer struct {
		status int
		body   []byte
		header http.Header
	}
	answered := make(chan answer, 1)
	go func() {
		st, body, h := s.Do(t, http.MethodPatch, "/api/v1/tokens/"+victim.ID(), admin, map[string]any{"description": "deadlock"})
		answered <- answer{st, body, h}
	}()
	closeDeadlockCycle(t, tx, victim.ID(), "the API's update")

	var a answer
	select {
	case a = <-answered:
	case <-time.After(20 * time.Second):
		t.Fatal("the API's update still waits after the deadlock")
	}
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" ||
		!strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("update in a deadlock: %d %s (Retry-After %q); want 503 problem+json with Retry-After", a.status, a.body, a.header.Get("Retry-After"))
	}
	if body := string(a.body); strings.Contains(body, "unreachable") || !strings.Contains(body, "conflicting") {
		t.Errorf("update in a deadlock says %s; want it to name a conflicting change, not an unreachable database", body)
	}
	s.JSON(t, http.MethodPatch, "/api/v1/tokens/"+victim.ID(), admin, map[string]any{"description": "retried"}, http.StatusOK, nil)
}

// startDeadlockServer starts a server on PostgreSQL whose connections look
// for deadlocks after 100 ms (a minute for the test's own session, see
// setDeadlockTrap), so that PostgreSQL picks the server's transaction to
// abort when the two meet in a cycle.
func startDeadlockServer(t *testing.T) *servertest.Server {
	t.Helper()
	u, err := url.Parse(testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-cdeadlock_timeout=100") // no space: the test schema's DSN is re-encoded
	u.RawQuery = q.Encode()
	return servertest.StartPostgres(t, u.String())
}

// setDeadlockTrap installs a trigger that makes an UPDATE of a token row
// matching when wait for an advisory lock, and returns a transaction of
// another session that holds that lock: the first half of a deadlock,
// which closeDeadlockCycle completes.
func setDeadlockTrap(t *testing.T, s *servertest.Server, when string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.App.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, `
		CREATE FUNCTION wait_for_the_test() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$;
		CREATE TRIGGER wait_for_the_test BEFORE UPDATE ON tokens
		FOR EACH ROW WHEN (`+when+`) EXECUTE FUNCTION wait_for_the_test();`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, `SET LOCAL deadlock_timeout = '60s'; SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock(4242)`); err != nil {
		t.Fatal(err)
	}
	return tx
}

// closeDeadlockCycle waits until the server's transaction (what) holds the
// token's row and waits for the trap's advisory lock, then updates that row
// from the trap's session: a cycle, which PostgreSQL breaks by aborting the
// server's side. The trap's transaction then ends.
func closeDeadlockCycle(t *testing.T, tx pgx.Tx, tokenID, what string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never waited for the advisory lock", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := tx.Exec(ctx, `UPDATE tokens SET description = 'other session' WHERE id = $1`, tokenID); err != nil {
		t.Fatalf("the other session was chosen as the deadlock's victim: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
}
