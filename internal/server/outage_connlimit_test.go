package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestADatabaseOutOfConnectionsSaysSo: PostgreSQL refuses Latchkey's new
// connections because its role reached its CONNECTION LIMIT (SQLSTATE
// 53300, the same refusal as a server at max_connections: "sorry, too many
// clients already"). The database answers, so /readyz and the API must say
// it refuses more connections and what to change, never that it is
// unreachable, which would send an operator looking at the network.
func TestADatabaseOutOfConnectionsSaysSo(t *testing.T) {
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
	s := servertest.StartReplica(t, u.String())
	admin := s.AdminSession(t)

	// No more connections for the role, and none of the ones it has: the
	// server's pool must open new ones, and PostgreSQL refuses them.
	if _, err := conn.Exec(ctx, `ALTER ROLE `+role+` CONNECTION LIMIT 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role); err != nil {
		t.Fatal(err)
	}
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
