package server_test

import (
	"net/http"
	"net/url"
	"testing"

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

	fault := newAuditFault(t, schemaDSN)
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
			st, body := fault.during(t, func() (int, string) {
				st, body, _ := s.Do(t, c.method, c.path, c.bearer, c.body)
				return st, string(body)
			})
			made := c.made()
			var event bool
			if c.target != "" {
				event = audited(c.action, c.target)
			} else {
				event = audited(c.action, other) || auditedBy(t, s, admin, c.action, other)
			}
			wantBothOrNeither(t, st, body, made, event)
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
