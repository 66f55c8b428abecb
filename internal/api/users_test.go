package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

type userJSON struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Kind      string    `json:"kind"`
	Suspended bool      `json:"suspended"`
	CreatedAt time.Time `json:"created_at"`
}

func TestLoginMeAndLogoutShapes(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": servertest.AdminUser, "password": servertest.AdminPassword}})
		for _, k := range []string{"token", "expires_at"} {
			if _, ok := rawKeys(t, r.Body)[k]; !ok {
				t.Errorf("login answer lacks %q: %s", k, r.Body)
			}
		}
		login := decode[struct {
			Token     string    `json:"token"`
			ExpiresAt time.Time `json:"expires_at"`
		}](t, r, http.StatusOK)
		if !strings.HasPrefix(login.Token, "lk_ses_") || absDur(time.Until(login.ExpiresAt)-24*time.Hour) > time.Minute {
			t.Errorf("session %.7s... expires %v, want lk_ses_ and 24h", login.Token, login.ExpiresAt)
		}
		sess := bearer(login.Token)

		r = meStatus(t, s, sess)
		keys := rawKeys(t, r.Body)
		for _, k := range []string{"user", "token", "scopes"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("/me lacks %q: %s", k, r.Body)
			}
		}
		if string(keys["token"]) != "null" {
			t.Errorf("/me with a session: token = %s, want null", keys["token"])
		}
		got := decode[meJSON](t, r, http.StatusOK)
		if got.User.Username != servertest.AdminUser || got.User.Role != "owner" || !contains(got.Scopes, "*") {
			t.Errorf("/me = %+v", got)
		}
		tk := createToken(t, s, sess, map[string]any{"name": "pat", "scopes": []string{"repo"}})
		if got := me(t, s, bearer(tk.Secret)); got.Token == nil || got.Token.ID != tk.Token.ID || !contains(got.Scopes, "repo") || contains(got.Scopes, "*") {
			t.Errorf("/me with a PAT = %+v", got)
		}
		// Logging out with a PAT is refused with an explanation; with the session it ends it.
		p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/logout", Auth: bearer(tk.Secret)}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "DELETE /api/v1/tokens") {
			t.Errorf("logout with a PAT: %s", p.Detail)
		}
		if r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/logout", Auth: sess}); r.Status != http.StatusNoContent {
			t.Fatalf("logout: %s", r)
		}
		p = want401(t, meStatus(t, s, sess))
		if !strings.Contains(p.Detail, "log in") {
			t.Errorf("401 after logout: %s", p.Detail)
		}
		me(t, s, bearer(tk.Secret)) // tokens outlive the session that made them
	})
}

func TestUsersAreManagedByAdmins(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/users", Auth: w.Admin, Body: map[string]any{"username": "newbie", "password": "a-long-password"}})
		for _, k := range []string{"id", "username", "role", "kind", "suspended", "created_at"} {
			if _, ok := rawKeys(t, r.Body)[k]; !ok {
				t.Errorf("user lacks %q: %s", k, r.Body)
			}
		}
		u := decode[userJSON](t, r, http.StatusCreated)
		if u.Role != "member" || u.Kind != "person" || u.Suspended {
			t.Errorf("defaults: %+v", u)
		}
		if strings.Contains(string(r.Body), "a-long-password") || strings.Contains(string(r.Body), "argon2") {
			t.Errorf("user answer contains the password or its hash: %s", r.Body)
		}
		// Members see themselves, nobody else.
		if got := decode[userJSON](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/users/" + w.MemberID, Auth: w.Member}), http.StatusOK); got.Username != "mia" {
			t.Errorf("self: %+v", got)
		}
		wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/users/" + u.ID, Auth: w.Member}), http.StatusNotFound)
		// Admins may not make owners or touch them.
		owner := me(t, s, w.Owner).User.ID
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/users", Auth: w.Admin, Body: map[string]any{"username": "boss", "password": "a-long-password", "role": "owner"}}), http.StatusForbidden)
		wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + u.ID, Auth: w.Admin, Body: map[string]any{"role": "owner"}}), http.StatusForbidden)
		wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + owner, Auth: w.Admin, Body: map[string]any{"suspended": true}}), http.StatusForbidden)
		wantProblem(t, send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/users/" + owner, Auth: w.Admin}), http.StatusForbidden)
		// The last owner stays an owner.
		p := wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + owner, Auth: w.Owner, Body: map[string]any{"role": "admin"}}), http.StatusConflict)
		if !strings.Contains(p.Detail, "owner") {
			t.Errorf("last-owner refusal: %s", p.Detail)
		}
		// Admins cannot touch owners even when another owner exists, and not through the password either.
		second := s.CreateUser(t, strings.TrimPrefix(w.Owner, "Bearer "), "second-owner", "a-long-password", "owner", "person")
		for _, body := range []map[string]any{{"suspended": true}, {"role": "member"}, {"password": "admin-chosen-pw"}} {
			wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + second, Auth: w.Admin, Body: body}), http.StatusForbidden)
		}
		wantProblem(t, send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/users/" + second, Auth: w.Admin}), http.StatusForbidden)
		s.Login(t, "second-owner", "a-long-password")
		// Nobody suspends or deletes themselves.
		wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.AdminID, Auth: w.Admin, Body: map[string]any{"suspended": true}}), http.StatusForbidden)
		wantProblem(t, send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/users/" + w.AdminID, Auth: w.Admin}), http.StatusForbidden)
		// PATCH role and suspended.
		got := decode[userJSON](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/newbie", Auth: w.Admin, Body: map[string]any{"role": "admin", "suspended": true}}), http.StatusOK)
		if got.Role != "admin" || !got.Suspended {
			t.Errorf("after PATCH: %+v", got)
		}
		// Anyone changes their own password.
		decode[userJSON](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/mia", Auth: w.Member, Body: map[string]any{"password": "a-new-password"}}), http.StatusOK)
		s.Login(t, "mia", "a-new-password")
		wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/otto", Auth: w.Member, Body: map[string]any{"password": "a-new-password"}}), http.StatusNotFound)
		// Listing pages through everyone once.
		seen := map[string]int{}
		cursor := ""
		for range 10 {
			path := "/api/v1/users?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			page := decode[struct {
				Items      []userJSON `json:"items"`
				NextCursor string     `json:"next_cursor"`
			}](t, send(t, s, call{Method: http.MethodGet, Path: path, Auth: w.Admin}), http.StatusOK)
			for _, it := range page.Items {
				seen[it.Username]++
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		for _, name := range []string{"admin", "ada", "mia", "otto", "newbie", "second-owner"} {
			if seen[name] != 1 {
				t.Errorf("user %s listed %d times", name, seen[name])
			}
		}
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestOnlyASessionMayChangeItsOwnPassword(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		id := s.CreateUser(t, admin, "pat-owner", "first-password", "member", "person")
		session := s.Login(t, "pat-owner", "first-password")
		narrow := s.CreateToken(t, session, map[string]any{"name": "narrow", "scopes": []string{"repo:read", "tokens"}})

		// A narrow token must not take over its owner's account.
		status, body, _ := s.Do(t, http.MethodPatch, "/api/v1/users/"+id, narrow.Secret, map[string]any{"password": "taken-over-pass"})
		if status != http.StatusForbidden {
			t.Fatalf("password change with a narrow token: %d %s; want 403", status, body)
		}
		if st, _, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": "pat-owner", "password": "taken-over-pass"}); st != http.StatusUnauthorized {
			t.Fatalf("login with the password a token tried to set: %d, want 401", st)
		}

		// The session may.
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+id, session, map[string]any{"password": "second-password"}, http.StatusOK, nil)
		s.Login(t, "pat-owner", "second-password")
	})
}
