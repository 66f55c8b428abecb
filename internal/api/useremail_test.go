package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// userEmail reads a user's email as the API shows it.
func userEmail(t *testing.T, s *servertest.Server, bearer, id string) string {
	t.Helper()
	var u struct {
		Email *string `json:"email"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/users/"+id, bearer, nil, http.StatusOK, &u)
	if u.Email == nil {
		t.Fatalf("the user object has no email field")
	}
	return *u.Email
}

// problemDetail sends a request that must fail with status and returns the
// problem's detail.
func problemDetail(t *testing.T, s *servertest.Server, method, path, bearer string, body any, status int) string {
	t.Helper()
	got, out, h := s.Do(t, method, path, bearer, body)
	if got != status || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s %s: %d %s %s; want a %d problem", method, path, got, h.Get("Content-Type"), out, status)
	}
	var p struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p.Detail
}

func TestUsersHaveAnEmailForNotices(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		var created struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		}
		s.JSON(t, http.MethodPost, "/api/v1/users", admin, map[string]any{
			"username": "erin", "password": "erin-password", "email": " erin@example.org ",
		}, http.StatusCreated, &created)
		if created.Email != "erin@example.org" || userEmail(t, s, admin, created.ID) != "erin@example.org" {
			t.Fatalf("created with email %q", created.Email)
		}
		plain := s.CreateUser(t, admin, "frank", "frank-password", "member", "person")
		if got := userEmail(t, s, admin, plain); got != "" {
			t.Fatalf("a user created without email shows %q", got)
		}

		// Yourself, with a session.
		erin := s.Login(t, "erin", "erin-password")
		s.JSON(t, http.MethodPatch, "/api/v1/users/erin", erin, map[string]any{"email": "erin@work.example"}, http.StatusOK, nil)
		var me struct {
			User struct {
				Email string `json:"email"`
			} `json:"user"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/me", erin, nil, http.StatusOK, &me)
		if me.User.Email != "erin@work.example" {
			t.Fatalf("/me shows email %q after the change", me.User.Email)
		}
		// Not with a narrow token: it would redirect the notices about a leak.
		narrow := s.CreateToken(t, erin, map[string]any{"name": "narrow", "scopes": []string{"tokens"}})
		if d := problemDetail(t, s, http.MethodPatch, "/api/v1/users/erin", narrow.Secret, map[string]any{"email": "thief@example.net"}, http.StatusForbidden); !strings.Contains(d, "login session") {
			t.Errorf("email change with a narrow token: %q", d)
		}
		// Nor someone else's, unless admin.
		if d := problemDetail(t, s, http.MethodPatch, "/api/v1/users/"+plain, erin, map[string]any{"email": "x@example.org"}, http.StatusNotFound); d == "" {
			t.Error("a member setting another user's email got no explanation")
		}
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+plain, admin, map[string]any{"email": "frank@example.org"}, http.StatusOK, nil)
		if got := userEmail(t, s, admin, plain); got != "frank@example.org" {
			t.Fatalf("after an admin set it, email is %q", got)
		}
		// An empty string removes it.
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+plain, admin, map[string]any{"email": ""}, http.StatusOK, nil)
		if got := userEmail(t, s, admin, plain); got != "" {
			t.Fatalf("after removing it, email is %q", got)
		}

		for _, bad := range []string{"not-an-address", "Erin <erin@example.org>", "erin@localhost", "a@b@example.org", "erin@example.org\r\nBcc: x@example.net"} {
			d := problemDetail(t, s, http.MethodPatch, "/api/v1/users/erin", erin, map[string]any{"email": bad}, http.StatusUnprocessableEntity)
			if !strings.Contains(d, "email") {
				t.Errorf("email %q: problem %q does not say what is wrong", bad, d)
			}
		}
		problemDetail(t, s, http.MethodPost, "/api/v1/users", admin, map[string]any{
			"username": "gina", "password": "gina-password", "email": strings.Repeat("a", 250) + "@example.org",
		}, http.StatusUnprocessableEntity)

		var audit struct {
			Items []struct {
				Details map[string]any `json:"details"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?action=user.update&target_id="+created.ID, admin, nil, http.StatusOK, &audit)
		if len(audit.Items) == 0 || audit.Items[0].Details["email"] == nil {
			t.Fatalf("the email change is not in the audit log: %+v", audit.Items)
		}
	})
}
