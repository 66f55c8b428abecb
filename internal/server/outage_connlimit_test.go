package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// ownRoleServer starts a server on PostgreSQL that connects as a role of
// its own, owning the server's schema, so that a test can change what the
// database allows that role (connections, writes) while the server runs.
// It returns the server, a superuser connection and the role's name.
func ownRoleServer(t *testing.T, args ...string) (*servertest.Server, *pgx.Conn, string) {
	t.Helper()
	base := testenv.PostgresDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "lk_limited_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE ROLE `+role+` LOGIN`); err != nil {
		t.Fatal(err)
	}
	// Registered before the schema's: runs after it is dropped.
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, `DROP OWNED BY `+role)
		if _, err := conn.Exec(ctx, `DROP ROLE `+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	dsn := servertest.NewPostgresSchema(t, base)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ALTER SCHEMA `+pgx.Identifier{u.Query().Get("search_path")}.Sanitize()+` OWNER TO `+role); err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	s := servertest.StartReplica(t, u.String(), args...)
	return s, conn, role
}

// terminateRole closes every connection of role, so that the server's
// pool opens new ones under what the database now allows the role.
func terminateRole(t *testing.T, conn *pgx.Conn, role string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role); err != nil {
		t.Fatal(err)
	}
}

// TestADatabaseOutOfConnectionsSaysSo: PostgreSQL refuses Latchkey's new
// connections because its role reached its CONNECTION LIMIT (SQLSTATE
// 53300, the same refusal as a server at max_connections: "sorry, too many
// clients already"). The database answers, so /readyz and the API must say
// it refuses more connections and what to change, never that it is
// unreachable, which would send an operator looking at the network.
func TestADatabaseOutOfConnectionsSaysSo(t *testing.T) {
	s, conn, role := ownRoleServer(t)
	ctx := context.Background()
	admin := s.AdminSession(t)

	// No more connections for the role, and none of the ones it has: the
	// server's pool must open new ones, and PostgreSQL refuses them.
	if _, err := conn.Exec(ctx, `ALTER ROLE `+role+` CONNECTION LIMIT 0`); err != nil {
		t.Fatal(err)
	}
	terminateRole(t, conn, role)
	// The first requests may still meet a connection the termination
	// closed under them (a lost connection); the refusal follows.
	for _, probe := range []struct{ method, path, bearer string }{
		{http.MethodGet, "/readyz", ""},
		{http.MethodPost, "/api/v1/tokens", admin},
	} {
		var st int
		var body []byte
		for range 20 {
			st, body, _ = s.Do(t, probe.method, probe.path, probe.bearer, map[string]any{"name": "refused", "scopes": []string{"repo:read"}})
			if strings.Contains(string(body), "too many clients") {
				break
			}
		}
		if b := string(body); st != http.StatusServiceUnavailable || strings.Contains(b, "unreachable") ||
			!strings.Contains(b, "refuses more connections (too many clients)") || !strings.Contains(b, "max_connections") {
			t.Errorf("%s %s while the database refuses connections: %d %s; want 503 saying it refuses more connections and naming max_connections, not unreachable", probe.method, probe.path, st, b)
		}
	}
}

// TestADatabaseThatAcceptsNoWritesSaysSo: after a failover the URL may
// lead to a PostgreSQL standby, or an operator turned
// default_transaction_read_only on: reads work, every write is refused
// with SQLSTATE 25006. The database answers, so the API must say it accepts
// no writes and how to point the server at the primary, never that it is
// unreachable; /readyz turns 503 at the refused write (a load balancer
// sends writes elsewhere) and back to 200 once writes are accepted again.
func TestADatabaseThatAcceptsNoWritesSaysSo(t *testing.T) {
	s, conn, role := ownRoleServer(t)
	ctx := context.Background()
	admin := s.AdminSession(t)
	if _, err := conn.Exec(ctx, `ALTER ROLE `+role+` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	terminateRole(t, conn, role)
	var st int
	var body []byte
	for range 20 {
		st, body, _ = s.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "refused", "scopes": []string{"repo:read"}})
		if st == http.StatusServiceUnavailable && !strings.Contains(string(body), "unreachable") {
			break
		}
	}
	if b := string(body); st != http.StatusServiceUnavailable || strings.Contains(b, "unreachable") ||
		!strings.Contains(b, "accepts no writes") || !strings.Contains(b, "target_session_attrs=read-write") {
		t.Errorf("POST /api/v1/tokens on a read-only database: %d %s; want 503 saying it accepts no writes and naming target_session_attrs=read-write, not unreachable", st, b)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/api/v1/tokens", admin, nil); st != http.StatusOK {
		t.Errorf("GET /api/v1/tokens on a read-only database: %d %s; reads still work", st, body)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(body), "accepts no writes") {
		t.Errorf("/readyz after a refused write: %d %s; want 503 saying the database accepts no writes", st, body)
	}
	if _, err := conn.Exec(ctx, `ALTER ROLE `+role+` RESET default_transaction_read_only`); err != nil {
		t.Fatal(err)
	}
	terminateRole(t, conn, role)
	for i := 0; ; i++ {
		st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil)
		if st == http.StatusOK {
			break
		}
		if i == 40 {
			t.Fatalf("/readyz once the database accepts writes again: %d %s; want 200", st, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.JSON(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "accepted", "scopes": []string{"repo:read"}}, http.StatusCreated, nil)
}
