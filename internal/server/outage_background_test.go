package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/servertest"
)

// setReadOnly turns the database's refusal of every write of role on or
// off, and closes role's connections so that the server's pool reconnects
// under the new setting.
func setReadOnly(t *testing.T, conn *pgx.Conn, role string, on bool) {
	t.Helper()
	stmt := `ALTER ROLE ` + role + ` RESET default_transaction_read_only`
	if on {
		stmt = `ALTER ROLE ` + role + ` SET default_transaction_read_only = on`
	}
	if _, err := conn.Exec(context.Background(), stmt); err != nil {
		t.Fatal(err)
	}
	terminateRole(t, conn, role)
}

// waitReady polls /readyz until it answers 200, as a load balancer would.
func waitReady(t *testing.T, s *servertest.Server) {
	t.Helper()
	for i := 0; ; i++ {
		st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil)
		if st == http.StatusOK {
			return
		}
		if i == 50 {
			t.Fatalf("/readyz once the database accepts writes again: %d %s; want 200", st, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestARefusedUsageFlushTurnsReadiness: after a failover the database URL
// leads to a standby (every write refused, SQLSTATE 25006) while the
// server's traffic is only verification: CI jobs and services presenting
// tokens, which read. Those requests go on, but the last-used data the
// server flushes in the background is refused, and nothing else writes.
// /readyz must turn 503 at the refused flush, saying the database accepts
// no writes, so that an operator (and a load balancer) learns of it before
// the usage kept in memory for a retry is lost; once writes are accepted
// again the kept usage is written and the server is ready.
func TestARefusedUsageFlushTurnsReadiness(t *testing.T) {
	s, conn, role := ownRoleServer(t)
	ctx := context.Background()
	admin := s.AdminSession(t)
	tok := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo:read"}})
	// What the admin's session did is written while writes work: the only
	// write left to refuse is the token's use below.
	s.App.Usage.Flush(ctx)

	setReadOnly(t, conn, role, true)
	var st int
	var body []byte
	// The first requests may meet a connection the termination closed
	// under them; verification then reads from a new one.
	for range 20 {
		if st, body, _ = s.Do(t, http.MethodGet, "/api/v1/me", tok.Secret, nil); st == http.StatusOK {
			break
		}
	}
	if st != http.StatusOK {
		t.Fatalf("GET /api/v1/me with a token on a read-only database: %d %s; verification only reads, it must go on", st, body)
	}
	s.App.Usage.Flush(ctx) // the next flush, whether the server's own ran first or not
	if s.App.Usage.Waiting() == 0 {
		t.Fatalf("no usage waits for a retry after a flush on a read-only database")
	}
	if st, b, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(b), "accepts no writes") {
		t.Errorf("/readyz after a usage flush the database refused: %d %s; want 503 saying the database accepts no writes", st, b)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", tok.Secret, nil); st != http.StatusOK {
		t.Errorf("GET /api/v1/me once readiness reports the refusal: %d %s; want 200", st, body)
	}

	setReadOnly(t, conn, role, false)
	waitReady(t, s)
	s.App.Usage.Flush(ctx)
	if n := s.App.Usage.Waiting(); n != 0 {
		t.Errorf("%d tokens' usage still waits after a flush on a writable database; want it written", n)
	}
	var got struct {
		LastUsedAt *time.Time `json:"last_used_at"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/tokens/"+tok.ID(), admin, nil, http.StatusOK, &got)
	if got.LastUsedAt == nil {
		t.Errorf("the token's last use, kept while the database refused it, was not written once it accepted writes")
	}
}

// TestARevocationTheDatabaseRefusesTurnsReadiness: RFC 7009 revocation
// (POST /oauth2/revoke), often the only write a CLI's logout or a secret
// scanner makes, on a database that accepts no writes. It answers 503 in
// OAuth's words saying so, and /readyz turns 503 too, as every other
// surface's refused write makes it, so that a load balancer sends the
// revocation to a replica that can store it.
func TestARevocationTheDatabaseRefusesTurnsReadiness(t *testing.T) {
	s, conn, role := ownRoleServer(t)
	ctx := context.Background()
	admin := s.AdminSession(t)
	secret := s.CreateToken(t, admin, map[string]any{"name": "leaked", "scopes": []string{"repo:read"}}).Secret
	s.App.Usage.Flush(ctx) // nothing of the setup is left to write

	setReadOnly(t, conn, role, true)
	revoke := func() (int, map[string]any) {
		resp, err := s.Client.PostForm(s.URL+"/oauth2/revoke", url.Values{"token": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out := map[string]any{}
		_ = json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	var st int
	var out map[string]any
	for range 20 {
		st, out = revoke()
		if st != http.StatusServiceUnavailable {
			t.Errorf("revocation while the database goes read-only: %d %v; want 503", st, out)
		}
		if desc, _ := out["error_description"].(string); st != http.StatusServiceUnavailable || !strings.Contains(desc, "unreachable") {
			break
		}
	}
	if desc, _ := out["error_description"].(string); st != http.StatusServiceUnavailable || out["error"] != "temporarily_unavailable" || !strings.Contains(desc, "accepts no writes") {
		t.Errorf("revocation on a read-only database: %d %v; want 503 temporarily_unavailable saying the database accepts no writes", st, out)
	}
	if st, b, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(b), "accepts no writes") {
		t.Errorf("/readyz after a refused revocation: %d %s; want 503 saying the database accepts no writes", st, b)
	}

	setReadOnly(t, conn, role, false)
	waitReady(t, s)
	if st, out := revoke(); st != http.StatusOK {
		t.Errorf("revocation once the database accepts writes again: %d %v; want 200", st, out)
	}
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", secret, nil); st != http.StatusUnauthorized {
		t.Errorf("the revoked token still works: %d; want 401", st)
	}
}
