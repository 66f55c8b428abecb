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

// TestAPolicyChangeLostWithItsAnnouncementSays503: a policy change is
// stored, audited and announced to the other replicas (NOTIFY) in one
// transaction. When the database goes away at its commit (a restart, a
// failover, the network) the change, its audit event and its announcement
// are all lost together, and the admin must be told so in the answer: 503
// saying the database is unreachable and that nothing was changed, never
// a 500; and the policy is the one in force before.
func TestAPolicyChangeLostWithItsAnnouncementSays503(t *testing.T) {
	base := testenv.PostgresDSN(t)
	dsn := servertest.NewPostgresSchema(t, base)
	s := servertest.StartReplica(t, dsn)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := pgx.Identifier{u.Query().Get("search_path")}.Sanitize()
	admin := s.AdminSession(t)
	var before, after struct {
		MaxLifetime string `json:"max_lifetime"`
	}
	s.JSON(t, http.MethodPut, "/api/v1/policy", admin, map[string]any{"max_lifetime": "2160h"}, http.StatusOK, &before)

	// At the commit of the next change of the policy (after its NOTIFY),
	// the database ends the connection that commits.
	for _, stmt := range []string{
		`CREATE FUNCTION ` + schema + `.cut_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$`,
		`CREATE CONSTRAINT TRIGGER cut_at_commit AFTER INSERT OR UPDATE ON ` + schema + `.policy
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ` + schema + `.cut_at_commit()`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	st, body, _ := s.Do(t, http.MethodPut, "/api/v1/policy", admin, map[string]any{"max_lifetime": "720h"})
	if b := string(body); st != http.StatusServiceUnavailable || !strings.Contains(b, "unreachable") || !strings.Contains(b, "nothing was changed") {
		t.Errorf("PUT /api/v1/policy when the database goes away at the commit: %d %s; want 503 saying the database is unreachable and nothing was changed", st, b)
	}
	if _, err := conn.Exec(ctx, `DROP TRIGGER cut_at_commit ON `+schema+`.policy`); err != nil {
		t.Fatal(err)
	}
	s.JSON(t, http.MethodGet, "/api/v1/policy", admin, nil, http.StatusOK, &after)
	if after.MaxLifetime != before.MaxLifetime {
		t.Errorf("policy after a change lost at its commit: max_lifetime %q; want the one before (%q)", after.MaxLifetime, before.MaxLifetime)
	}
	var stored int64
	if err := conn.QueryRow(ctx, `SELECT max_lifetime FROM `+schema+`.policy`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if time.Duration(stored) != 90*24*time.Hour {
		t.Errorf("stored max_lifetime after a change lost at its commit: %v; want the one before (2160h)", time.Duration(stored))
	}
}

// TestAPolicyChangeOnADatabaseThatAcceptsNoWritesSaysSo: a policy change
// on a standby (SQLSTATE 25006) answers 503 saying the database accepts no
// writes, never a 500, and /readyz turns 503 for it.
func TestAPolicyChangeOnADatabaseThatAcceptsNoWritesSaysSo(t *testing.T) {
	s, conn, role := ownRoleServer(t)
	admin := s.AdminSession(t)
	setReadOnly(t, conn, role, true)
	var st int
	var body []byte
	for range 20 {
		st, body, _ = s.Do(t, http.MethodPut, "/api/v1/policy", admin, map[string]any{"max_lifetime": "720h"})
		if st != http.StatusServiceUnavailable || !strings.Contains(string(body), "unreachable") {
			break
		}
	}
	if b := string(body); st != http.StatusServiceUnavailable || !strings.Contains(b, "accepts no writes") {
		t.Errorf("PUT /api/v1/policy on a read-only database: %d %s; want 503 saying the database accepts no writes", st, b)
	}
	if st, b, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(b), "accepts no writes") {
		t.Errorf("/readyz after a refused policy change: %d %s; want 503 saying the database accepts no writes", st, b)
	}
}
