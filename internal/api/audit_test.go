package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

type auditEvent struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorID    string         `json:"actor_id"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	IP         string         `json:"ip"`
	UserAgent  string         `json:"user_agent"`
	Details    map[string]any `json:"details"`
}

type auditPage struct {
	Items      []auditEvent `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// auditAll walks every page of the audit log matching query.
func auditAll(t testing.TB, s *servertest.Server, auth, query string) []auditEvent {
	t.Helper()
	var out []auditEvent
	cursor := ""
	for range 100 {
		path := "/api/v1/audit?limit=7" + query
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := decode[auditPage](t, send(t, s, call{Method: http.MethodGet, Path: path, Auth: auth}), http.StatusOK)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
	t.Fatalf("audit log has more than 100 pages")
	return nil
}

const auditAgent = "audit-probe/1.0"

func TestAuditRecordsEveryChangeWithActorTargetTimeIPAndAgent(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		start := time.Now().Add(-time.Second)
		do := func(c call, want int) reply {
			t.Helper()
			c.Agent = auditAgent
			r := send(t, s, c)
			if r.Status != want {
				t.Fatalf("%s %s: %s, want %d", c.Method, c.Path, r, want)
			}
			return r
		}
		login := decode[struct {
			Token string `json:"token"`
		}](t, do(call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "admin", "password": servertest.AdminPassword}}, 200), 200)
		owner := bearer(login.Token)
		ownerID := me(t, s, owner).User.ID
		do(call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "admin", "password": "wrong-password"}}, 401)
		user := decode[struct {
			ID string `json:"id"`
		}](t, do(call{Method: http.MethodPost, Path: "/api/v1/users", Auth: owner, Body: map[string]any{"username": "mia", "password": memberPassword}}, 201), 201)
		tk := decode[issued](t, do(call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: owner, Body: map[string]any{"name": "for-mia", "user_id": user.ID, "scopes": []string{"repo"}}}, 201), 201)
		tokPath := "/api/v1/tokens/" + tk.Token.ID
		do(call{Method: http.MethodPatch, Path: tokPath, Auth: owner, Body: map[string]any{"description": "audited", "scopes": []string{"repo:read"}}}, 200)
		regen := decode[issued](t, do(call{Method: http.MethodPost, Path: tokPath + "/regenerate", Auth: owner, Body: map[string]any{"grace_period": "1m"}}, 200), 200)
		do(call{Method: http.MethodDelete, Path: tokPath, Auth: owner}, 204)
		userPath := "/api/v1/users/" + user.ID
		do(call{Method: http.MethodPatch, Path: userPath, Auth: owner, Body: map[string]any{"role": "admin"}}, 200)
		do(call{Method: http.MethodPatch, Path: userPath, Auth: owner, Body: map[string]any{"suspended": true}}, 200)
		do(call{Method: http.MethodPatch, Path: userPath, Auth: owner, Body: map[string]any{"suspended": false}}, 200)
		do(call{Method: http.MethodPut, Path: "/api/v1/policy", Auth: owner, Body: map[string]any{"default_lifetime": "30d", "max_lifetime": "90d", "allow_no_expiry": false, "creation": "everyone"}}, 200)
		do(call{Method: http.MethodDelete, Path: userPath, Auth: owner}, 204)
		other := decode[struct {
			Token string `json:"token"`
		}](t, do(call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "admin", "password": servertest.AdminPassword}}, 200), 200).Token
		do(call{Method: http.MethodPost, Path: "/api/v1/auth/logout", Auth: bearer(other)}, 204)

		events := auditAll(t, s, owner, "")
		find := func(action, target string) *auditEvent {
			for i := range events {
				if events[i].Action == action && (target == "" || events[i].TargetID == target) {
					return &events[i]
				}
			}
			t.Errorf("no %s event for target %q; have %v", action, target, actions(events))
			return nil
		}
		for _, c := range []struct{ action, target, targetType string }{
			{"auth.login", "", "session"},
			{"auth.login_failed", ownerID, "user"},
			{"user.create", user.ID, "user"},
			{"token.create", tk.Token.ID, "token"},
			{"token.update", tk.Token.ID, "token"},
			{"token.regenerate", tk.Token.ID, "token"},
			{"token.revoke", tk.Token.ID, "token"},
			{"user.update", user.ID, "user"},
			{"user.suspend", user.ID, "user"},
			{"user.unsuspend", user.ID, "user"},
			{"policy.update", "", "policy"},
			{"user.delete", user.ID, "user"},
		} {
			e := find(c.action, c.target)
			if e == nil {
				continue
			}
			if e.ActorID != ownerID || e.ActorName != "admin" {
				t.Errorf("%s: actor %s/%s, want %s/admin", c.action, e.ActorID, e.ActorName, ownerID)
			}
			if e.IP != "127.0.0.1" || e.UserAgent != auditAgent {
				t.Errorf("%s: ip %q agent %q", c.action, e.IP, e.UserAgent)
			}
			if e.TargetType != c.targetType {
				t.Errorf("%s: target_type %q, want %q", c.action, e.TargetType, c.targetType)
			}
			if e.At.Before(start) || e.At.After(time.Now().Add(time.Second)) {
				t.Errorf("%s: at %v is not about now", c.action, e.At)
			}
		}
		if e := find("auth.logout", ""); e != nil && e.ActorID != ownerID {
			t.Errorf("logout actor %s", e.ActorID)
		}
		if e := find("policy.update", ""); e != nil {
			after, _ := e.Details["after"].(map[string]any)
			if after["max_lifetime"] != "90d" {
				t.Errorf("policy.update details %v lack the new max_lifetime", e.Details)
			}
		}
		if e := find("token.update", tk.Token.ID); e != nil && e.Details["scopes"] == nil {
			t.Errorf("token.update details %v do not show the scope change", e.Details)
		}
		// Newest first, ids unique and decreasing.
		for i := 1; i < len(events); i++ {
			if events[i].ID >= events[i-1].ID {
				t.Fatalf("audit not newest first at %d: %d then %d", i, events[i-1].ID, events[i].ID)
			}
		}
		// No secret is ever written to the log.
		raw := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/audit?limit=500", Auth: owner})
		for _, secret := range []string{login.Token, tk.Secret, regen.Secret, other, memberPassword, servertest.AdminPassword} {
			if strings.Contains(string(raw.Body), secret) {
				t.Errorf("the audit log contains a secret")
			}
		}
	})
}

func TestAuditCanBeFilteredAndIsForAdminsOnly(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		a := createToken(t, s, w.Member, map[string]any{"name": "a"})
		b := createToken(t, s, w.Other, map[string]any{"name": "b"})
		mid := time.Now()
		time.Sleep(10 * time.Millisecond)
		send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + a.Token.ID, Auth: w.Member, Body: map[string]any{"description": "x"}})
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + a.Token.ID, Auth: w.Member})
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + b.Token.ID, Auth: w.Admin})

		for _, c := range []struct {
			name  string
			query string
			check func(e auditEvent) bool
			want  []string // actions, newest first; nil = only check
		}{
			{"by target", "&target_id=" + a.Token.ID, nil, []string{"token.revoke", "token.update", "token.create"}},
			{"by actor", "&actor_id=" + w.OtherID, func(e auditEvent) bool { return e.ActorID == w.OtherID }, nil},
			{"by exact action", "&action=token.revoke", func(e auditEvent) bool { return e.Action == "token.revoke" }, []string{"token.revoke", "token.revoke"}},
			{"by action prefix", "&action=token.", func(e auditEvent) bool { return strings.HasPrefix(e.Action, "token.") }, nil},
			{"since", "&since=" + mid.UTC().Format(time.RFC3339Nano), func(e auditEvent) bool { return !e.At.Before(mid) }, []string{"token.revoke", "token.revoke", "token.update"}},
			{"until", "&until=" + mid.UTC().Format(time.RFC3339Nano), func(e auditEvent) bool { return !e.At.After(mid) }, nil},
			{"actor and action", "&actor_id=" + w.AdminID + "&action=token.revoke", nil, []string{"token.revoke"}},
		} {
			got := auditAll(t, s, w.Owner, c.query)
			if len(got) == 0 {
				t.Errorf("%s: no events", c.name)
			}
			for _, e := range got {
				if c.check != nil && !c.check(e) {
					t.Errorf("%s: unexpected event %+v", c.name, e)
				}
			}
			if c.want != nil && !slices.Equal(actions(got), c.want) {
				t.Errorf("%s: actions %v, want %v", c.name, actions(got), c.want)
			}
		}
		// Members and admin tokens without admin:org may not read it.
		wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/audit", Auth: w.Member}), http.StatusForbidden)
		want401(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/audit"}))
		// An admin may.
		decode[auditPage](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/audit", Auth: w.Admin}), http.StatusOK)
	})
}

func actions(es []auditEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}
