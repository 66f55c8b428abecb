package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestMeShowsTheTokenAndOwnerAsStored pins the verification read, which
// reads only the columns verification and the Principal need: /api/v1/me,
// built from that read, shows the token and its owner exactly as
// GET /api/v1/tokens/{id} and GET /api/v1/users/{id}, which read whole rows,
// by the current secret and by the previous one in its grace period, with
// the verification cache on and off.
func TestMeShowsTheTokenAndOwnerAsStored(t *testing.T) {
	for name, args := range map[string][]string{"cached": nil, "uncached": {"--cache-size", "0"}} {
		t.Run(name, func(t *testing.T) {
			servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
				admin := s.AdminSession(t)
				var owner struct {
					ID string `json:"id"`
				}
				s.JSON(t, http.MethodPost, "/api/v1/users", admin, map[string]any{
					"username": "mia", "password": "mia-password-long", "email": "mia@example.org",
				}, http.StatusCreated, &owner)
				mia := s.Login(t, "mia", "mia-password-long")
				tk := s.CreateToken(t, mia, map[string]any{"name": "ci", "description": "deploys the app",
					"scopes": []string{"repo:read=acme/*", "tokens"}, "ip_allowlist": []string{"127.0.0.0/8"}, "expires_in": "30d"})
				// Uses from two addresses give it last-used fields and recent IPs.
				for _, from := range []string{"127.0.0.2", "127.0.0.3"} {
					if r := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/me", Auth: bearer(tk.Secret), From: from, Agent: "probe/1"}); r.Status != http.StatusOK {
						t.Fatalf("use from %s: %s", from, r)
					}
				}
				settled(t, s, mia, tk.ID(), func(v map[string]any) bool {
					ips, _ := v["recent_ips"].([]any)
					return len(ips) == 2
				})
				var next servertest.CreatedToken
				s.JSON(t, http.MethodPost, "/api/v1/tokens/"+tk.ID()+"/regenerate", mia, map[string]any{"grace_period": "1h"}, http.StatusOK, &next)
				for what, secret := range map[string]string{"current secret": next.Secret, "previous secret": tk.Secret} {
					want := settled(t, s, mia, tk.ID(), nil)
					var user map[string]any
					s.JSON(t, http.MethodGet, "/api/v1/users/"+owner.ID, admin, nil, http.StatusOK, &user)
					var me struct {
						User  map[string]any `json:"user"`
						Token map[string]any `json:"token"`
					}
					s.JSON(t, http.MethodGet, "/api/v1/me", secret, nil, http.StatusOK, &me)
					delete(want, "$schema") // only top-level objects name their schema
					delete(user, "$schema")
					if !reflect.DeepEqual(me.Token, want) {
						t.Errorf("by the %s, /api/v1/me shows the token\n  %v\nGET /api/v1/tokens/{id} shows\n  %v", what, me.Token, want)
					}
					if !reflect.DeepEqual(me.User, user) {
						t.Errorf("by the %s, /api/v1/me shows the owner\n  %v\nGET /api/v1/users/{id} shows\n  %v", what, me.User, user)
					}
				}
			}, args...)
		})
	}
}

// settled returns the token as GET /api/v1/tokens/{id} shows it once every
// use has been written (two reads in a row agree) and done holds (nil:
// always).
func settled(t *testing.T, s *servertest.Server, bearer, id string, done func(map[string]any) bool) map[string]any {
	t.Helper()
	var last map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(150 * time.Millisecond) {
		var v map[string]any
		s.JSON(t, http.MethodGet, "/api/v1/tokens/"+id, bearer, nil, http.StatusOK, &v)
		if reflect.DeepEqual(v, last) && (done == nil || done(v)) {
			return v
		}
		last = v
	}
	b, _ := json.Marshal(last)
	t.Fatalf("token %s did not settle: %s", id, b)
	return nil
}

// TestCachedMeAnswerFollowsChangesToTheTokenAndItsOwner pins the encoded
// /api/v1/me answer kept per cached credential: a change to the token's
// description or scopes, or to its owner, shows in the next answer.
func TestCachedMeAnswerFollowsChangesToTheTokenAndItsOwner(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		tk := s.CreateToken(t, admin, map[string]any{"name": "ci", "description": "first", "scopes": []string{"repo:read", "tokens"}})
		var body struct {
			User struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"user"`
			Token struct {
				Description string   `json:"description"`
				Scopes      []string `json:"scopes"`
			} `json:"token"`
			Scopes []string `json:"scopes"`
		}
		read := func() {
			for range 2 { // the second answer is the cached one
				s.JSON(t, http.MethodGet, "/api/v1/me", tk.Secret, nil, http.StatusOK, &body)
			}
		}
		read()
		s.JSON(t, http.MethodPatch, "/api/v1/tokens/"+tk.ID(), admin, map[string]any{"description": "second", "scopes": []string{"repo:read"}}, http.StatusOK, nil)
		read()
		if body.Token.Description != "second" || !reflect.DeepEqual(body.Token.Scopes, []string{"repo:read"}) || !reflect.DeepEqual(body.Scopes, []string{"repo:read"}) {
			t.Errorf("after the token changed, /api/v1/me shows %+v", body)
		}
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+body.User.ID, admin, map[string]any{"email": "owner@example.org"}, http.StatusOK, nil)
		read()
		if body.User.Email != "owner@example.org" {
			t.Errorf("after the owner changed, /api/v1/me shows the user %+v", body.User)
		}
	})
}
