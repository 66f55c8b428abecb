package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAnAccessTokenSetsNobodyElsesPassword: a leaked token with admin:org
// (or *) must not become a console sign-in as someone else, least of all
// as an owner. Setting another person's password takes a login session
// (or `latchkey admin reset-password` on the server); the refusal says so.
func TestAnAccessTokenSetsNobodyElsesPassword(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		owner := s.AdminSession(t)
		s.CreateUser(t, owner, "olga", "olga-password-1", "owner", "person")
		s.CreateUser(t, owner, "ada", "ada-password-1", "admin", "person")
		s.CreateUser(t, owner, "mia", "mia-password-1", "member", "person")
		ada := s.Login(t, "ada", "ada-password-1")
		for _, c := range []struct {
			name, bearer string
			targets      []string
		}{
			{"an owner's admin:org token", s.CreateToken(t, owner, map[string]any{"name": "org", "scopes": []string{"admin:org"}}).Secret, []string{"olga", "ada", "mia"}},
			{"an owner's * token", s.CreateToken(t, owner, map[string]any{"name": "star", "scopes": []string{"*"}}).Secret, []string{"olga", "ada", "mia"}},
			{"an admin's * token", s.CreateToken(t, ada, map[string]any{"name": "star", "scopes": []string{"*"}}).Secret, []string{"olga", "mia"}},
		} {
			for _, target := range c.targets {
				st, body, hdr := s.Do(t, http.MethodPatch, "/api/v1/users/"+target, c.bearer, map[string]any{"password": "taken-over-password"})
				var p struct{ Detail string }
				_ = json.Unmarshal(body, &p)
				if st != http.StatusForbidden || hdr.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s sets %s's password: %d %s; want 403 problem+json", c.name, target, st, body)
				} else if target != "olga" && !strings.Contains(p.Detail, "session") {
					t.Errorf("%s sets %s's password: the refusal does not say what to do instead: %s", c.name, target, p.Detail)
				}
				if st, _, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": target, "password": "taken-over-password"}); st != http.StatusUnauthorized {
					t.Errorf("%s: %s logs in with the password the token set: %d", c.name, target, st)
				}
			}
		}
		// A session still may: an owner for anyone, an admin for everyone
		// but owners.
		s.JSON(t, http.MethodPatch, "/api/v1/users/olga", owner, map[string]any{"password": "olga-password-2"}, http.StatusOK, nil)
		s.JSON(t, http.MethodPatch, "/api/v1/users/mia", ada, map[string]any{"password": "mia-password-2"}, http.StatusOK, nil)
		if st, body, _ := s.Do(t, http.MethodPatch, "/api/v1/users/olga", ada, map[string]any{"password": "taken-over-password"}); st != http.StatusForbidden {
			t.Errorf("an admin's session sets an owner's password: %d %s", st, body)
		}
		s.Login(t, "olga", "olga-password-2")
		s.Login(t, "mia", "mia-password-2")
		// One's own too, with a session only: a leaked * token that set
		// its owner's password would lock the owner out (the change ends
		// every other session) and keep the thief signed in for good.
		star := s.CreateToken(t, ada, map[string]any{"name": "own", "scopes": []string{"*"}}).Secret
		if st, body, _ := s.Do(t, http.MethodPatch, "/api/v1/users/ada", star, map[string]any{"password": "ada-password-2"}); st != http.StatusForbidden {
			t.Errorf("an admin's * token sets her own password: %d %s", st, body)
		}
		s.JSON(t, http.MethodPatch, "/api/v1/users/ada", ada, map[string]any{"password": "ada-password-2"}, http.StatusOK, nil)
		s.Login(t, "ada", "ada-password-2")
	})
}
