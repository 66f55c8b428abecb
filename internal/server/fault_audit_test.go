package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestARevocationIsAuditedOrNotMade makes PostgreSQL end the connection
// that writes an audit event (as a restart or pg_terminate_backend does
// between the change and its event) and then revokes: a token by DELETE,
// a session by logout, a user by suspension. Each answer must leave the
// change and its audit event together, or neither: a 2xx with the change
// made and no event loses the record of who revoked what; a 503 with the
// change made is a change the client was told did not happen.
func TestARevocationIsAuditedOrNotMade(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	schemaDSN := servertest.NewPostgresSchema(t, dsn)
	s := servertest.StartReplica(t, schemaDSN, "--cache-ttl=1h")
	admin := s.AdminSession(t)
	tok := s.CreateToken(t, admin, map[string]any{"name": "victim", "scopes": []string{"repo:read"}})
	userID := s.CreateUser(t, admin, "member1", "member-password-1", "member", "person")
	memberSession := s.Login(t, "member1", "member-password-1")
	other := s.CreateUser(t, admin, "member2", "member-password-2", "member", "person")
	otherSession := s.Login(t, "member2", "member-password-2")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, schemaDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	breakAudit := func(on bool) {
		t.Helper()
		q := `DROP TRIGGER IF EXISTS fault_audit ON audit_events`
		if on {
			q = `CREATE OR REPLACE FUNCTION fault_audit() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = '57P01'; END $$;
				CREATE TRIGGER fault_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fault_audit()`
		}
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	audited := func(action, target string) bool {
		var out struct {
			Items []map[string]any `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?action="+url.QueryEscape(action)+"&target_id="+url.QueryEscape(target), admin, nil, http.StatusOK, &out)
		return len(out.Items) > 0
	}

	for _, c := range []struct {
		name, method, path, bearer string
		body                       any
		action, target             string
		made                       func() bool
	}{
		{"token DELETE", http.MethodDelete, "/api/v1/tokens/" + tok.ID(), admin, nil, "token.revoke", tok.ID(), func() bool {
			st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", tok.Secret, nil)
			return st == http.StatusUnauthorized
		}},
		{"user suspension", http.MethodPatch, "/api/v1/users/" + userID, admin, map[string]any{"suspended": true}, "user.suspend", userID, func() bool {
			st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", memberSession, nil)
			return st == http.StatusUnauthorized
		}},
		{"logout", http.MethodPost, "/api/v1/auth/logout", otherSession, nil, "auth.logout", "", func() bool {
			st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", otherSession, nil)
			return st == http.StatusUnauthorized
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			breakAudit(true)
			st, body, _ := s.Do(t, c.method, c.path, c.bearer, c.body)
			breakAudit(false)
			made := c.made()
			var event bool
			if c.target != "" {
				event = audited(c.action, c.target)
			} else {
				event = audited(c.action, other) || auditedBy(t, s, admin, c.action, other)
			}
			t.Logf("answer %d %s; change made: %v; audit event %s: %v", st, body, made, c.action, event)
			if made != event {
				t.Errorf("the change made: %v, its audit event stored: %v (answer %d); want both or neither", made, event, st)
			}
			if st < 300 && !made {
				t.Errorf("answered %d but the change was not made", st)
			}
			if st >= 500 && made {
				t.Errorf("answered %d but the change was made", st)
			}
		})
	}
}

// auditedBy reports whether actor has an event named action.
func auditedBy(t *testing.T, s *servertest.Server, admin, action, actor string) bool {
	var out struct {
		Items []map[string]any `json:"items"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/audit?action="+url.QueryEscape(action)+"&actor_id="+url.QueryEscape(actor), admin, nil, http.StatusOK, &out)
	return len(out.Items) > 0
}
