package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

func regenerate(t testing.TB, s *servertest.Server, auth, id string, body map[string]any) issued {
	t.Helper()
	c := call{Method: http.MethodPost, Path: "/api/v1/tokens/" + id + "/regenerate", Auth: auth}
	if body != nil {
		c.Body = body
	}
	return decode[issued](t, send(t, s, c), http.StatusOK)
}

func TestGracePeriodKeepsTheOldSecretUntilItEnds(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "deploy", "scopes": []string{"repo"}})
		me(t, s, bearer(tk.Secret))
		before := time.Now()
		regen := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"grace_period": "3s"})
		if regen.Token.GraceExpiresAt == nil || regen.Token.GraceExpiresAt.Before(before) || regen.Token.GraceExpiresAt.After(before.Add(4*time.Second)) {
			t.Errorf("grace_expires_at %v, want about 3s from %v", regen.Token.GraceExpiresAt, before)
		}
		// Both secrets work during the grace period, as the same token.
		if got := me(t, s, bearer(tk.Secret)); got.Token.ID != tk.Token.ID {
			t.Errorf("old secret during grace is token %s", got.Token.ID)
		}
		me(t, s, bearer(regen.Secret))
		// Then the old one stops; the new one goes on.
		eventually(t, 10*time.Second, "the old secret to stop after its 3s grace", func() bool {
			return meStatus(t, s, bearer(tk.Secret)).Status == http.StatusUnauthorized
		})
		want401(t, meStatus(t, s, bearer(tk.Secret)))
		me(t, s, bearer(regen.Secret))
		if got := getToken(t, s, w.Member, tk.Token.ID); got.GraceExpiresAt != nil {
			t.Errorf("grace_expires_at still shown after the grace: %v", got.GraceExpiresAt)
		}
	})
}

func TestRegeneratingAgainOrRevokingEndsTheGraceAtOnce(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "deploy"})
		first := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"grace_period": "10m"})
		me(t, s, bearer(tk.Secret))
		// A second regeneration without grace: only the newest secret works.
		second := regenerate(t, s, w.Member, tk.Token.ID, nil)
		want401(t, meStatus(t, s, bearer(tk.Secret)))
		want401(t, meStatus(t, s, bearer(first.Secret)))
		me(t, s, bearer(second.Secret))
		// Revoking during a grace period stops both secrets.
		third := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"grace_period": "1h"})
		me(t, s, bearer(second.Secret))
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + tk.Token.ID, Auth: w.Member}); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %s", r)
		}
		want401(t, meStatus(t, s, bearer(second.Secret)))
		want401(t, meStatus(t, s, bearer(third.Secret)))
	})
}

func TestRegenerateKeepsTheLifetimeOrTakesANewExpiration(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		day := 24 * time.Hour
		tk := createToken(t, s, w.Member, map[string]any{"name": "ninety", "expires_in": "90d", "description": "keep me", "scopes": []string{"job"}})
		kept := regenerate(t, s, w.Member, tk.Token.ID, nil)
		if kept.Token.ExpiresAt == nil || absDur(time.Until(*kept.Token.ExpiresAt)-90*day) > 5*time.Second {
			t.Errorf("regenerated without an expiration: expires_at %v, want 90d from now", kept.Token.ExpiresAt)
		}
		if kept.Token.Description != "keep me" || kept.Token.RegeneratedAt == nil || !kept.Token.CreatedAt.Equal(tk.Token.CreatedAt) {
			t.Errorf("regenerate changed description/created_at or set no regenerated_at: %+v", kept.Token)
		}
		short := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"expires_in": "7d"})
		if short.Token.ExpiresAt == nil || absDur(time.Until(*short.Token.ExpiresAt)-7*day) > 5*time.Second {
			t.Errorf("expires_in 7d: expires_at %v", short.Token.ExpiresAt)
		}
		if short.Token.State != "expiring" {
			t.Errorf("7d token state %s, want expiring", short.Token.State)
		}
		at := time.Now().Add(20 * day).UTC().Truncate(time.Second)
		dated := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"expires_at": at.Format(time.RFC3339)})
		if dated.Token.ExpiresAt == nil || !dated.Token.ExpiresAt.Equal(at) {
			t.Errorf("expires_at %v, want %v", dated.Token.ExpiresAt, at)
		}
		never := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"no_expiry": true})
		if never.Token.ExpiresAt != nil {
			t.Errorf("no_expiry: expires_at %v", never.Token.ExpiresAt)
		}
		// A token regenerated with its own credential goes on with the new secret.
		self := createToken(t, s, w.Member, map[string]any{"name": "self", "scopes": []string{"tokens"}})
		next := regenerate(t, s, bearer(self.Secret), self.Token.ID, nil)
		want401(t, meStatus(t, s, bearer(self.Secret)))
		me(t, s, bearer(next.Secret))
	})
}

func TestExpiredTokensAreRefused(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		// A token made a month ago that expired yesterday.
		id, secret := plantToken(t, s, w.MemberID, "old", time.Now().AddDate(0, -1, 0), ptr(time.Now().Add(-24*time.Hour)), "repo")
		p := want401(t, meStatus(t, s, bearer(secret)))
		if !strings.Contains(p.Detail, "expired") {
			t.Errorf("401 does not say expired: %s", p.Detail)
		}
		if got := getToken(t, s, w.Member, id); got.State != "expired" {
			t.Errorf("state %s, want expired", got.State)
		}
		// A token that expires on the wall clock while in use.
		soon := time.Now().Add(3 * time.Second)
		_, live := plantToken(t, s, w.MemberID, "short", time.Now(), &soon, "repo")
		me(t, s, bearer(live))
		eventually(t, 10*time.Second, "the token to expire", func() bool {
			return meStatus(t, s, bearer(live)).Status == http.StatusUnauthorized
		})
		// An expired token cannot be restored by regenerating it: the
		// answer says to create a new one, and the old secret stays dead.
		p = wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + id + "/regenerate", Auth: w.Member,
			Body: map[string]any{"expires_in": "30d"}}), http.StatusConflict)
		if !strings.Contains(p.Detail, "create a new token") {
			t.Errorf("409 does not say to create a new token: %s", p.Detail)
		}
		want401(t, meStatus(t, s, bearer(secret)))
	})
}

func TestATokenCannotRegenerateAStrongerTokenToGetItsSecret(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		strong := s.CreateToken(t, admin, map[string]any{"name": "strong", "scopes": []string{"repo", "admin:org"}})
		manager := s.CreateToken(t, admin, map[string]any{"name": "manager", "scopes": []string{"tokens"}})

		status, body, _ := s.Do(t, http.MethodPost, "/api/v1/tokens/"+strong.ID()+"/regenerate", manager.Secret, map[string]any{})
		if status != http.StatusForbidden || !strings.Contains(string(body), "admin:org") {
			t.Fatalf("regenerate a stronger token with a tokens-only token: %d %s; want 403 naming what it lacks", status, body)
		}
		s.JSON(t, http.MethodGet, "/api/v1/me", strong.Secret, nil, http.StatusOK, nil) // untouched

		// A token holding everything the target grants may regenerate it.
		peer := s.CreateToken(t, admin, map[string]any{"name": "peer", "scopes": []string{"repo"}})
		var out servertest.CreatedToken
		s.JSON(t, http.MethodPost, "/api/v1/tokens/"+peer.ID()+"/regenerate", s.CreateToken(t, admin, map[string]any{
			"name": "holder", "scopes": []string{"tokens", "repo"},
		}).Secret, map[string]any{}, http.StatusOK, &out)
		if out.Secret == "" || out.Secret == peer.Secret {
			t.Fatalf("regenerate by a token holding the scopes gave no new secret: %+v", out)
		}
	})
}
