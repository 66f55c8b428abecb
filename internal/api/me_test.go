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
