package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestBasicUserNameMustMatchOnTheAPITooWhenAsked: with
// --basic-auth-username-must-match, Basic credentials whose user name is
// not the token owner's are refused on the REST API as at /auth/verify;
// without the flag any user name goes, as Git clients send one of their own.
func TestBasicUserNameMustMatchOnTheAPITooWhenAsked(t *testing.T) {
	for _, strict := range []bool{true, false} {
		var args []string
		if strict {
			args = append(args, "--basic-auth-username-must-match")
		}
		s := servertest.Start(t, args...)
		tok := s.CreateToken(t, s.AdminSession(t), map[string]any{"name": "basic", "scopes": []string{"*"}})
		owner := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/me", Auth: basic(servertest.AdminUser, tok.Secret)})
		if owner.Status != http.StatusOK {
			t.Fatalf("strict=%v: the owner's own user name with the token: %v", strict, owner)
		}
		for _, user := range []string{"mallory", "", strings.ToUpper(servertest.AdminUser)} {
			r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: basic(user, tok.Secret),
				Body: map[string]any{"name": "via-basic-" + user, "scopes": []string{"*"}}})
			if !strict {
				if r.Status != http.StatusCreated {
					t.Errorf("without the flag, Basic user %q with the token: %v", user, r)
				}
				continue
			}
			p := want401(t, r)
			if !strings.Contains(p.Detail, "user name does not match the token's owner") {
				t.Errorf("Basic user %q with the admin's token: detail %q does not say the user name is wrong", user, p.Detail)
			}
		}
	}
}
