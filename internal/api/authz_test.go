package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestMemberCannotSeeOrTouchAnotherUsersToken(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		theirs := createToken(t, s, w.Other, map[string]any{"name": "theirs", "scopes": []string{"repo"}})
		id := theirs.Token.ID
		mine := createToken(t, s, w.Member, map[string]any{"name": "mine", "scopes": []string{"tokens"}})
		// The same answer as for a token that does not exist, so existence does not leak.
		for _, auth := range []string{w.Member, bearer(mine.Secret)} {
			for _, c := range []call{
				{Method: http.MethodGet, Path: "/api/v1/tokens/" + id},
				{Method: http.MethodPatch, Path: "/api/v1/tokens/" + id, Body: map[string]any{"description": "pwned"}},
				{Method: http.MethodPost, Path: "/api/v1/tokens/" + id + "/regenerate"},
				{Method: http.MethodDelete, Path: "/api/v1/tokens/" + id},
				{Method: http.MethodGet, Path: "/api/v1/tokens/" + id + "/usage"},
			} {
				c.Auth = auth
				wantProblem(t, send(t, s, c), http.StatusNotFound)
			}
			list := decode[tokenList](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens", Auth: auth}), http.StatusOK)
			for _, it := range list.Items {
				if it.UserID != w.MemberID {
					t.Errorf("member's list shows %s's token %s", it.UserID, it.ID)
				}
			}
			wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens" + q("user_id", w.OtherID), Auth: auth}), http.StatusForbidden)
			wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens" + q("all", "true"), Auth: auth}), http.StatusForbidden)
		}
		// Untouched.
		if got := getToken(t, s, w.Other, id); got.State != "active" || got.Description != "" || got.Hint != theirs.Token.Hint {
			t.Errorf("the other user's token changed: %+v", got)
		}
		me(t, s, bearer(theirs.Secret))
	})
}

func TestMemberCannotCreateTokensOnBehalfOfAnyone(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		owner := me(t, s, w.Owner).User.ID
		for _, target := range []string{w.OtherID, "otto", owner, w.AdminID} {
			p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member,
				Body: map[string]any{"name": "for-" + target, "user_id": target}}), http.StatusForbidden)
			if !strings.Contains(p.Detail, "behalf") {
				t.Errorf("403 does not explain: %s", p.Detail)
			}
		}
		// On behalf of yourself is just a token.
		if got := createToken(t, s, w.Member, map[string]any{"name": "self", "user_id": w.MemberID}); got.Token.UserID != w.MemberID {
			t.Errorf("token owned by %s", got.Token.UserID)
		}
		list := decode[tokenList](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens", Auth: w.Other}), http.StatusOK)
		if len(list.Items) != 0 {
			t.Errorf("the other member got tokens: %+v", list.Items)
		}
	})
}

func TestMemberCannotGrantItselfMoreThanItsRole(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		for _, sc := range []string{"admin:org", "*"} {
			p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member,
				Body: map[string]any{"name": "escalate", "scopes": []string{"repo", sc}}}), http.StatusForbidden)
			if !strings.Contains(p.Detail, sc) {
				t.Errorf("403 for %s does not name it: %s", sc, p.Detail)
			}
		}
		tk := createToken(t, s, w.Member, map[string]any{"name": "plain", "scopes": []string{"repo"}})
		p := wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + tk.Token.ID, Auth: w.Member,
			Body: map[string]any{"scopes": []string{"admin:org"}}}), http.StatusForbidden)
		if !strings.Contains(p.Detail, "admin:org") {
			t.Errorf("403 does not name admin:org: %s", p.Detail)
		}
		// A token cannot mint a token with scopes it does not hold itself.
		narrow := createToken(t, s, w.Member, map[string]any{"name": "narrow", "scopes": []string{"tokens", "job"}})
		p = wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: bearer(narrow.Secret),
			Body: map[string]any{"name": "wider", "scopes": []string{"machine"}}}), http.StatusForbidden)
		if !strings.Contains(p.Detail, "machine") {
			t.Errorf("403 does not name machine: %s", p.Detail)
		}
		// Nor widen itself.
		wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + narrow.Token.ID, Auth: bearer(narrow.Secret),
			Body: map[string]any{"scopes": []string{"tokens", "job", "machine"}}}), http.StatusForbidden)
		// And member-only tokens do not reach admin routes.
		for _, c := range []call{
			{Method: http.MethodGet, Path: "/api/v1/users"},
			{Method: http.MethodPost, Path: "/api/v1/users", Body: map[string]any{"username": "x", "password": "password-123"}},
			{Method: http.MethodPatch, Path: "/api/v1/users/" + w.OtherID, Body: map[string]any{"suspended": true}},
			{Method: http.MethodDelete, Path: "/api/v1/users/" + w.OtherID},
			{Method: http.MethodPut, Path: "/api/v1/policy", Body: map[string]any{"default_lifetime": "", "max_lifetime": "", "creation": "everyone", "allow_no_expiry": true}},
			{Method: http.MethodGet, Path: "/api/v1/audit"},
		} {
			c.Auth = w.Member
			if r := send(t, s, c); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
				t.Errorf("member %s %s: %s, want 403 or 404", c.Method, c.Path, r)
			} else {
				wantProblem(t, r, r.Status)
			}
		}
	})
}

func TestAdminsSeeAndManageEveryToken(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		a := createToken(t, s, w.Member, map[string]any{"name": "a", "scopes": []string{"repo"}})
		b := createToken(t, s, w.Other, map[string]any{"name": "b", "scopes": []string{"job"}})
		c := createToken(t, s, w.Other, map[string]any{"name": "c", "scopes": []string{"job", "repo:read=acme/*"}, "expires_in": "2d"})
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + b.Token.ID, Auth: w.Other})

		ids := func(path string) []string {
			l := decode[tokenList](t, send(t, s, call{Method: http.MethodGet, Path: path, Auth: w.Admin}), http.StatusOK)
			var out []string
			for _, it := range l.Items {
				out = append(out, it.ID)
			}
			slices.Sort(out)
			return out
		}
		sorted := func(xs ...string) []string { slices.Sort(xs); return xs }
		for _, tc := range []struct {
			path string
			want []string
		}{
			{"/api/v1/tokens" + q("all", "true"), sorted(a.Token.ID, b.Token.ID, c.Token.ID)},
			{"/api/v1/tokens" + q("user_id", w.OtherID), sorted(b.Token.ID, c.Token.ID)},
			{"/api/v1/tokens" + q("user_id", "otto"), sorted(b.Token.ID, c.Token.ID)},
			{"/api/v1/tokens" + q("all", "true", "state", "revoked"), sorted(b.Token.ID)},
			{"/api/v1/tokens" + q("all", "true", "state", "expiring"), sorted(c.Token.ID)},
			{"/api/v1/tokens" + q("all", "true", "state", "active"), sorted(a.Token.ID)},
			{"/api/v1/tokens" + q("all", "true", "state", "expired"), nil},
			{"/api/v1/tokens" + q("all", "true", "scope", "job"), sorted(b.Token.ID, c.Token.ID)},
			{"/api/v1/tokens" + q("all", "true", "scope", "repo:read"), sorted(c.Token.ID)},
			{"/api/v1/tokens" + q("user_id", w.OtherID, "state", "active", "scope", "job"), nil},
			{"/api/v1/tokens", nil}, // the admin's own: none
		} {
			if got := ids(tc.path); !slices.Equal(got, tc.want) {
				t.Errorf("GET %s = %v, want %v", tc.path, got, tc.want)
			}
		}
		// Show, update, regenerate and revoke someone else's token.
		if got := getToken(t, s, w.Admin, a.Token.ID); got.UserID != w.MemberID {
			t.Errorf("admin sees owner %s", got.UserID)
		}
		decode[tokenJSON](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + a.Token.ID, Auth: w.Admin,
			Body: map[string]any{"description": "checked by admin"}}), http.StatusOK)
		regen := decode[issued](t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + a.Token.ID + "/regenerate", Auth: w.Admin}), http.StatusOK)
		want401(t, meStatus(t, s, bearer(a.Secret)))
		me(t, s, bearer(regen.Secret))
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + a.Token.ID, Auth: w.Admin}); r.Status != http.StatusNoContent {
			t.Fatalf("admin revoke: %s", r)
		}
		want401(t, meStatus(t, s, bearer(regen.Secret)))
	})
}

func TestOnBehalfTokensAndAdminAccessTokensForServiceAccounts(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		// An admin makes a token for a member; it acts as the member.
		forMia := createToken(t, s, w.Admin, map[string]any{"name": "for-mia", "user_id": w.MemberID, "scopes": []string{"repo"}})
		if forMia.Token.UserID != w.MemberID || forMia.Token.Kind != "pat" {
			t.Errorf("on-behalf token: user %s kind %s", forMia.Token.UserID, forMia.Token.Kind)
		}
		if got := me(t, s, bearer(forMia.Secret)); got.User.ID != w.MemberID {
			t.Errorf("on-behalf token authenticates as %s", got.User.Username)
		}
		// The member sees it among their own.
		if got := getToken(t, s, w.Member, forMia.Token.ID); got.Name != "for-mia" {
			t.Errorf("member's view: %+v", got)
		}
		// Not beyond the member's role, even when an admin asks.
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Admin,
			Body: map[string]any{"name": "too-much", "user_id": w.MemberID, "scopes": []string{"admin:org"}}}), http.StatusForbidden)
		// An admin may not act for an owner; the owner may act for anyone.
		owner := me(t, s, w.Owner).User.ID
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Admin,
			Body: map[string]any{"name": "for-owner", "user_id": owner}}), http.StatusForbidden)
		createToken(t, s, w.Owner, map[string]any{"name": "for-ada", "user_id": "ada"})
		// Nor take an owner's token over by regenerating it.
		ownersToken := createToken(t, s, w.Owner, map[string]any{"name": "owners-own", "scopes": []string{"repo"}})
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + ownersToken.Token.ID + "/regenerate", Auth: w.Admin,
			Body: map[string]any{}}), http.StatusForbidden)
		me(t, s, bearer(ownersToken.Secret))
		// Unknown user: 404 that names it.
		p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Admin,
			Body: map[string]any{"name": "ghost", "user_id": "nobody-here"}}), http.StatusNotFound)
		if !strings.Contains(p.Detail, "nobody-here") {
			t.Errorf("404 does not name the user: %s", p.Detail)
		}

		// Admin access tokens belong to service accounts and outlive their creator.
		robotID := s.CreateUser(t, strings.TrimPrefix(w.Owner, "Bearer "), "deploy-bot", "", "admin", "service")
		adm := createToken(t, s, w.Admin, map[string]any{"name": "deploy", "user_id": robotID, "scopes": []string{"repo", "admin:org"}, "no_expiry": true})
		if adm.Token.Kind != "adm" || !strings.HasPrefix(adm.Secret, "lk_adm_") || adm.Token.UserID != robotID {
			t.Fatalf("admin access token: kind %s, secret prefix %.7s, owner %s", adm.Token.Kind, adm.Secret, adm.Token.UserID)
		}
		if got := me(t, s, bearer(adm.Secret)); got.User.ID != robotID || !slices.Contains(got.Scopes, "admin:org") {
			t.Errorf("admin access token: %+v", got)
		}
		kinds := decode[tokenList](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens" + q("all", "true", "kind", "adm"), Auth: w.Owner}), http.StatusOK)
		if len(kinds.Items) != 1 || kinds.Items[0].ID != adm.Token.ID {
			t.Errorf("kind=adm lists %+v", kinds.Items)
		}
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/users/ada", Auth: w.Owner}); r.Status != http.StatusNoContent {
			t.Fatalf("delete ada: %s", r)
		}
		me(t, s, bearer(adm.Secret))
		// Service accounts cannot log in.
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "deploy-bot", "password": "anything-at-all"}}), http.StatusUnauthorized)
	})
}

func TestEffectivePermissionIsTokenScopesWithinTheOwnersCurrentRole(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Admin, map[string]any{"name": "admin-work", "scopes": []string{"admin:org", "tokens", "repo"}})
		auth := bearer(tk.Secret)
		decode[map[string]any](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/users", Auth: auth}), http.StatusOK)
		// Demote the owner of the token: it loses admin:org at once.
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.AdminID, Auth: w.Owner,
			Body: map[string]any{"role": "member"}}), http.StatusOK)
		got := me(t, s, auth)
		if slices.Contains(got.Scopes, "admin:org") || !slices.Contains(got.Scopes, "repo") {
			t.Errorf("after demotion the token's effective scopes are %v", got.Scopes)
		}
		p := wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/users", Auth: auth}), http.StatusForbidden)
		if !strings.Contains(p.Detail, "admin") {
			t.Errorf("403 does not explain: %s", p.Detail)
		}
		wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens" + q("all", "true"), Auth: auth}), http.StatusForbidden)
		// Promote again: back.
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.AdminID, Auth: w.Owner,
			Body: map[string]any{"role": "admin"}}), http.StatusOK)
		decode[map[string]any](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/users", Auth: auth}), http.StatusOK)
	})
}

func TestMissingScopeIsRefusedWith403NamingIt(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		repoOnly := createToken(t, s, w.Member, map[string]any{"name": "repo-only", "scopes": []string{"repo"}})
		for _, c := range []call{
			{Method: http.MethodGet, Path: "/api/v1/tokens"},
			{Method: http.MethodPost, Path: "/api/v1/tokens", Body: map[string]any{"name": "x"}},
			{Method: http.MethodGet, Path: "/api/v1/tokens/" + repoOnly.Token.ID},
			{Method: http.MethodDelete, Path: "/api/v1/tokens/" + repoOnly.Token.ID},
		} {
			c.Auth = bearer(repoOnly.Secret)
			p := wantProblem(t, send(t, s, c), http.StatusForbidden)
			if !strings.Contains(p.Detail, `"tokens"`) {
				t.Errorf("%s %s: 403 does not name the tokens scope: %s", c.Method, c.Path, p.Detail)
			}
		}
		// The token was not revoked by the refused DELETE.
		me(t, s, bearer(repoOnly.Secret))
		adminNoOrg := createToken(t, s, w.Admin, map[string]any{"name": "no-org", "scopes": []string{"tokens"}})
		for _, c := range []call{
			{Method: http.MethodGet, Path: "/api/v1/audit"},
			{Method: http.MethodGet, Path: "/api/v1/users"},
			{Method: http.MethodGet, Path: "/api/v1/tokens?all=true"},
			{Method: http.MethodGet, Path: "/api/v1/tokens?user_id=mia"},
			{Method: http.MethodPost, Path: "/api/v1/tokens", Body: map[string]any{"name": "for-mia", "user_id": "mia"}},
		} {
			c.Auth = bearer(adminNoOrg.Secret)
			p := wantProblem(t, send(t, s, c), http.StatusForbidden)
			if !strings.Contains(p.Detail, "admin:org") {
				t.Errorf("%s %s: 403 does not name admin:org: %s", c.Method, c.Path, p.Detail)
			}
		}
	})
}

func TestSuspendedOrDeletedOwnersTokensFailAtOnce(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "ci", "scopes": []string{"repo", "tokens"}})
		me(t, s, bearer(tk.Secret)) // warm any cache
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.MemberID, Auth: w.Admin,
			Body: map[string]any{"suspended": true}}), http.StatusOK)
		p := want401(t, meStatus(t, s, bearer(tk.Secret)))
		if !strings.Contains(p.Detail, "suspended") {
			t.Errorf("401 does not say suspended: %s", p.Detail)
		}
		want401(t, meStatus(t, s, w.Member)) // the session too
		// A suspended account answers its right password like a wrong one,
		// so a guesser learns nothing.
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "mia", "password": memberPassword}}), http.StatusUnauthorized)
		// Admins cannot mint new tokens for a suspended user either.
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Admin,
			Body: map[string]any{"name": "sneak", "user_id": w.MemberID}}), http.StatusConflict)
		// Lifting the suspension restores the tokens.
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.MemberID, Auth: w.Admin,
			Body: map[string]any{"suspended": false}}), http.StatusOK)
		me(t, s, bearer(tk.Secret))

		// Deletion is for good.
		other := createToken(t, s, w.Other, map[string]any{"name": "gone"})
		me(t, s, bearer(other.Secret))
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/users/" + w.OtherID, Auth: w.Admin}); r.Status != http.StatusNoContent {
			t.Fatalf("delete user: %s", r)
		}
		want401(t, meStatus(t, s, bearer(other.Secret)))
		want401(t, meStatus(t, s, w.Other))
		got := getToken(t, s, w.Admin, other.Token.ID)
		if got.State != "revoked" {
			t.Errorf("a deleted user's token is %s, want revoked", got.State)
		}
		// It stays visible to admins, and changing it is refused, not an error.
		path := "/api/v1/tokens/" + other.Token.ID
		wantProblem(t, send(t, s, call{Method: http.MethodPatch, Path: path, Auth: w.Admin, Body: map[string]any{"scopes": []string{"repo"}}}), http.StatusConflict)
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: path + "/regenerate", Auth: w.Admin}), http.StatusConflict)
		if r := send(t, s, call{Method: http.MethodDelete, Path: path, Auth: w.Admin}); r.Status != http.StatusNoContent {
			t.Errorf("revoking a deleted user's token: %s", r)
		}
		wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens" + q("user_id", w.OtherID), Auth: w.Admin}), http.StatusNotFound)
		// The name is free for someone new.
		s.CreateUser(t, strings.TrimPrefix(w.Admin, "Bearer "), "otto", memberPassword, "member", "person")
	})
}

func TestEveryCredentialSchemeIsAccepted(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "git", "scopes": []string{"repo"}})
		for _, auth := range []string{
			"Bearer " + tk.Secret,
			"bearer " + tk.Secret,
			"token " + tk.Secret,
			"Token " + tk.Secret,
			basic("mia", tk.Secret),
			basic("x-access-token", tk.Secret),
			basic("", tk.Secret),
		} {
			if got := me(t, s, auth); got.User.ID != w.MemberID || got.Token == nil || got.Token.ID != tk.Token.ID {
				t.Errorf("%.12s...: authenticated as %+v", auth, got.User)
			}
		}
		// The session also works as a bearer token.
		if got := me(t, s, w.Member); got.Token != nil || got.User.ID != w.MemberID {
			t.Errorf("session /me: %+v", got)
		}
	})
}
