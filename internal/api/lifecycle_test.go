package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

var secretRE = regexp.MustCompile(`^lk_pat_[0-9A-Za-z]{36}$`)

func TestCreateAnswers201WithTheTokenShapeAndASecretShownOnce(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member, Body: map[string]any{
			"name": "ci-deploy", "description": "deploys from CI", "scopes": []string{"repo:read"}, "expires_in": "720h",
		}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %s", r)
		}
		top := rawKeys(t, r.Body)
		if _, ok := top["token"]; !ok || len(top) < 2 {
			t.Fatalf("create answer lacks token/secret: %s", r.Body)
		}
		var out issued
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		if !secretRE.MatchString(out.Secret) {
			t.Errorf("secret %q does not have the lk_pat_<36 base62> format", out.Secret)
		}
		fields := rawKeys(t, top["token"])
		for _, k := range []string{"id", "name", "description", "scopes", "user_id", "kind", "state", "created_at", "expires_at", "last_used_at", "last_used_ip", "hint"} {
			if _, ok := fields[k]; !ok {
				t.Errorf("token object lacks %q: %s", k, top["token"])
			}
		}
		if strings.Contains(string(top["token"]), out.Secret) {
			t.Errorf("token object contains the secret")
		}
		tk := out.Token
		if tk.Name != "ci-deploy" || tk.Description != "deploys from CI" || !slices.Equal(tk.Scopes, []string{"repo:read"}) {
			t.Errorf("token = %+v", tk)
		}
		if tk.UserID != w.MemberID || tk.Kind != "pat" || tk.State != "active" {
			t.Errorf("user_id/kind/state = %s/%s/%s, want %s/pat/active", tk.UserID, tk.Kind, tk.State, w.MemberID)
		}
		if tk.Hint != out.Secret[len(out.Secret)-4:] {
			t.Errorf("hint %q is not the last 4 characters of the secret", tk.Hint)
		}
		if string(fields["last_used_at"]) != "null" {
			t.Errorf("a new token's last_used_at = %s, want null", fields["last_used_at"])
		}
		if tk.ExpiresAt == nil || absDur(tk.ExpiresAt.Sub(tk.CreatedAt)-720*time.Hour) > time.Second {
			t.Errorf("expires_at %v is not created_at %v + 720h", tk.ExpiresAt, tk.CreatedAt)
		}
		// Shown once: no later answer contains the secret.
		for _, path := range []string{"/api/v1/tokens/" + tk.ID, "/api/v1/tokens"} {
			if r := send(t, s, call{Method: http.MethodGet, Path: path, Auth: w.Member}); strings.Contains(string(r.Body), out.Secret) {
				t.Errorf("GET %s reveals the secret", path)
			}
		}
	})
}

func TestTokenLifecycleCreateUseUpdateRegenerateRevoke(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		made := createToken(t, s, w.Member, map[string]any{"name": "laptop", "scopes": []string{"repo", "tokens"}})
		id, secret := made.Token.ID, made.Secret
		if got := me(t, s, bearer(secret)); got.User.ID != w.MemberID || got.Token == nil || got.Token.ID != id {
			t.Fatalf("the new token does not authenticate as its owner: %+v", got)
		}

		// Show and list.
		if got := getToken(t, s, w.Member, id); got.Name != "laptop" || got.State != "active" {
			t.Errorf("show = %+v", got)
		}
		list := decode[tokenList](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens", Auth: w.Member}), http.StatusOK)
		if len(list.Items) != 1 || list.Items[0].ID != id {
			t.Errorf("list = %+v, want just the new token", list.Items)
		}

		// Update: description and scopes change, the secret does not.
		upd := decode[tokenJSON](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + id, Auth: w.Member,
			Body: map[string]any{"description": "my laptop", "scopes": []string{"repo:read", "tokens"}}}), http.StatusOK)
		if upd.Description != "my laptop" || !slices.Equal(upd.Scopes, []string{"repo:read", "tokens"}) || upd.Hint != made.Token.Hint {
			t.Errorf("after update: %+v", upd)
		}
		if got := me(t, s, bearer(secret)); slices.Contains(got.Scopes, "repo") || !slices.Contains(got.Scopes, "repo:read") {
			t.Errorf("after narrowing to repo:read the token still has scopes %v", got.Scopes)
		}
		// Only the description: scopes stay.
		upd = decode[tokenJSON](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + id, Auth: bearer(secret),
			Body: map[string]any{"description": "renamed by itself"}}), http.StatusOK)
		if !slices.Equal(upd.Scopes, []string{"repo:read", "tokens"}) {
			t.Errorf("a description-only update changed scopes to %v", upd.Scopes)
		}

		// Regenerate: same id, name, scopes; the old secret stops at once.
		regen := decode[issued](t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + id + "/regenerate", Auth: w.Member}), http.StatusOK)
		if regen.Token.ID != id || regen.Token.Name != "laptop" || !slices.Equal(regen.Token.Scopes, upd.Scopes) {
			t.Errorf("regenerate changed identity: %+v", regen.Token)
		}
		if regen.Secret == secret || !secretRE.MatchString(regen.Secret) || regen.Token.Hint != regen.Secret[len(regen.Secret)-4:] {
			t.Errorf("regenerated secret %q / hint %q", regen.Secret, regen.Token.Hint)
		}
		want401(t, meStatus(t, s, bearer(secret)))
		if got := me(t, s, bearer(regen.Secret)); got.Token.ID != id {
			t.Errorf("new secret authenticates token %s, want %s", got.Token.ID, id)
		}

		// Revoke: 204, then every use fails and the token shows revoked.
		r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + id, Auth: w.Member})
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("revoke: %s, want 204 with no body", r)
		}
		p := want401(t, meStatus(t, s, bearer(regen.Secret)))
		if !strings.Contains(p.Detail, "revoked") {
			t.Errorf("401 for a revoked token says %q; want it to say revoked", p.Detail)
		}
		got := getToken(t, s, w.Member, id)
		if got.State != "revoked" || got.RevokedAt == nil {
			t.Errorf("after revoke: state %s, revoked_at %v", got.State, got.RevokedAt)
		}
		// A revoked token cannot be changed or regenerated; revoking again is harmless.
		wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + id, Auth: w.Member, Body: map[string]any{"description": "x"}}), http.StatusConflict)
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + id + "/regenerate", Auth: w.Member}), http.StatusConflict)
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + id, Auth: w.Member}); r.Status != http.StatusNoContent {
			t.Errorf("revoking again: %s", r)
		}
	})
}

func TestExpirationPresetsCustomAndNone(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		day := 24 * time.Hour
		at := time.Now().Add(45 * day).UTC().Truncate(time.Second)
		cases := []struct {
			name string
			body map[string]any
			life time.Duration // 0 = never
		}{
			{"default is 180 days", map[string]any{}, 180 * day},
			{"preset 7d", map[string]any{"expires_in": "7d"}, 7 * day},
			{"preset 30d", map[string]any{"expires_in": "30d"}, 30 * day},
			{"preset 60d", map[string]any{"expires_in": "60d"}, 60 * day},
			{"preset 90d", map[string]any{"expires_in": "90d"}, 90 * day},
			{"preset 180d", map[string]any{"expires_in": "180d"}, 180 * day},
			{"custom Go duration", map[string]any{"expires_in": "36h30m"}, 36*time.Hour + 30*time.Minute},
			{"custom date", map[string]any{"expires_at": at.Format(time.RFC3339)}, -1},
			{"no expiry", map[string]any{"no_expiry": true}, 0},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.body["name"] = "t" + string(rune('a'+i))
				r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member, Body: c.body})
				out := decode[issued](t, r, http.StatusCreated)
				exp := rawKeys(t, rawKeys(t, r.Body)["token"])["expires_at"]
				switch {
				case c.life == 0:
					if string(exp) != "null" {
						t.Fatalf("expires_at = %s, want null", exp)
					}
					if h := me(t, s, bearer(out.Secret)); h.Token.ExpiresAt != nil {
						t.Errorf("/me shows expires_at %v for a token that never expires", h.Token.ExpiresAt)
					}
					if h := meStatus(t, s, bearer(out.Secret)).Header.Get("Latchkey-Token-Expiration"); h != "" {
						t.Errorf("Latchkey-Token-Expiration %q on a token without expiry", h)
					}
				case c.life < 0:
					if out.Token.ExpiresAt == nil || !out.Token.ExpiresAt.Equal(at) {
						t.Fatalf("expires_at = %v, want %v", out.Token.ExpiresAt, at)
					}
				default:
					if out.Token.ExpiresAt == nil || absDur(out.Token.ExpiresAt.Sub(out.Token.CreatedAt)-c.life) > time.Second {
						t.Fatalf("expires_at = %v, want created_at %v + %s", out.Token.ExpiresAt, out.Token.CreatedAt, c.life)
					}
				}
			})
		}
	})
}

func TestExpirationHeaderCarriesTheTokensExpiry(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "soon", "expires_in": "72h"})
		r := meStatus(t, s, bearer(tk.Secret))
		h := r.Header.Get("Latchkey-Token-Expiration")
		got, err := time.Parse(time.RFC3339, h)
		if err != nil {
			t.Fatalf("Latchkey-Token-Expiration %q is not RFC 3339: %v", h, err)
		}
		if absDur(got.Sub(*tk.Token.ExpiresAt)) > time.Second {
			t.Errorf("Latchkey-Token-Expiration %s, want %s", got, tk.Token.ExpiresAt)
		}
		// Also on answers that are errors about something else.
		r = send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens/00000000-0000-0000-0000-000000000000", Auth: bearer(tk.Secret)})
		if r.Status < 400 || r.Header.Get("Latchkey-Token-Expiration") == "" {
			t.Errorf("status %d, Latchkey-Token-Expiration %q; want an error that still carries the header", r.Status, r.Header.Get("Latchkey-Token-Expiration"))
		}
	})
}

func TestTokenStateIsExpiringWithinSevenDays(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		for _, c := range []struct{ in, state string }{{"2m", "expiring"}, {"6d", "expiring"}, {"8d", "active"}} {
			tk := createToken(t, s, w.Member, map[string]any{"name": "in-" + c.in, "expires_in": c.in})
			if tk.Token.State != c.state {
				t.Errorf("expires_in %s: state %s, want %s", c.in, tk.Token.State, c.state)
			}
			if got := getToken(t, s, w.Member, tk.Token.ID); got.State != c.state {
				t.Errorf("expires_in %s: shown state %s, want %s", c.in, got.State, c.state)
			}
		}
		tk := createToken(t, s, w.Member, map[string]any{"name": "forever", "no_expiry": true})
		if tk.Token.State != "active" {
			t.Errorf("a token that never expires is %s, want active", tk.Token.State)
		}
	})
}

func TestNameIsUniquePerOwner(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		first := createToken(t, s, w.Member, map[string]any{"name": "deploy"})
		p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member, Body: map[string]any{"name": "deploy"}}), http.StatusConflict)
		if !strings.Contains(p.text(), "deploy") {
			t.Errorf("conflict does not name the clashing name: %s", p.text())
		}
		// Another user may use the same name.
		createToken(t, s, w.Other, map[string]any{"name": "deploy"})
		// Once revoked, the name is free again.
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + first.Token.ID, Auth: w.Member})
		createToken(t, s, w.Member, map[string]any{"name": "deploy"})
	})
}

func TestScopesFollowTheHierarchyAndResourcePatterns(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		// repo implies repo:read: a token holding repo may hand out repo:read,
		// one holding repo:read may not hand out repo.
		repo := createToken(t, s, w.Member, map[string]any{"name": "repo", "scopes": []string{"repo", "tokens"}})
		createToken(t, s, bearer(repo.Secret), map[string]any{"name": "child", "scopes": []string{"repo:read"}})
		read := createToken(t, s, w.Member, map[string]any{"name": "read", "scopes": []string{"repo:read", "tokens"}})
		p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: bearer(read.Secret),
			Body: map[string]any{"name": "wider", "scopes": []string{"repo"}}}), http.StatusForbidden)
		if !strings.Contains(p.Detail, "repo") {
			t.Errorf("403 does not name the scope: %s", p.Detail)
		}
		// A narrowed repo grant implies repo:read on the same resources only.
		acme := createToken(t, s, w.Member, map[string]any{"name": "acme", "scopes": []string{"repo=acme/*", "tokens"}})
		createToken(t, s, bearer(acme.Secret), map[string]any{"name": "acme-read", "scopes": []string{"repo:read=acme/web"}})
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: bearer(acme.Secret),
			Body: map[string]any{"name": "other-read", "scopes": []string{"repo:read=other/*"}}}), http.StatusForbidden)

		narrow := createToken(t, s, w.Member, map[string]any{"name": "narrow", "scopes": []string{"repo:read=acme/*"}})
		if !slices.Equal(narrow.Token.Scopes, []string{"repo:read=acme/*"}) {
			t.Errorf("narrowed scope written as %v, want [repo:read=acme/*]", narrow.Token.Scopes)
		}
		if got := getToken(t, s, w.Member, narrow.Token.ID); !slices.Equal(got.Scopes, []string{"repo:read=acme/*"}) {
			t.Errorf("shown scopes %v", got.Scopes)
		}
		if got := me(t, s, bearer(narrow.Secret)); !slices.Contains(got.Scopes, "repo:read=acme/*") {
			t.Errorf("narrowed token's effective scopes %v", got.Scopes)
		}
		// The catalog lists every default scope.
		type scopeList struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
		}
		cat := decode[scopeList](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/scopes", Auth: w.Member}), http.StatusOK)
		var names []string
		for _, d := range cat.Items {
			names = append(names, d.Name)
		}
		for _, n := range []string{"repo", "repo:read", "machine", "service", "job", "admin:org", "admin:ssh_key", "tokens", "introspect", "*"} {
			if !slices.Contains(names, n) {
				t.Errorf("catalog lacks %q: %v", n, names)
			}
		}
	})
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
