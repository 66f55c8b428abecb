package identity_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// linkOnConsole links a local user to an identity at provider corp on the
// admins' Single sign-on page, as an owner would.
func linkOnConsole(t *testing.T, s *servertest.Server, admin, username, subject string) {
	t.Helper()
	c := browser(t)
	u, _ := url.Parse(s.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: admin}})
	_, page, _ := get(t, c, s.URL+"/admin/sso")
	csrf := between(page, `name="csrf_token" value="`, `"`)
	resp, err := c.PostForm(s.URL+"/admin/sso/link", url.Values{"csrf_token": {csrf}, "user": {username}, "provider": {"corp"}, "subject": {subject}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.RawQuery, "msg=linked") {
		t.Fatalf("link %s to corp/%s: %d at %s", username, subject, resp.StatusCode, resp.Request.URL)
	}
}

// activeOwners lists the user names of the active owners, as an owner
// reads them over the API.
func activeOwners(t *testing.T, s *servertest.Server, bearer string) []string {
	t.Helper()
	var list struct {
		Items []struct {
			Username  string `json:"username"`
			Role      string `json:"role"`
			Suspended bool   `json:"suspended"`
		} `json:"items"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/users?limit=100", bearer, nil, 200, &list)
	var out []string
	for _, u := range list.Items {
		if u.Role == "owner" && !u.Suspended {
			out = append(out, u.Username)
		}
	}
	return out
}

// TestSSOSignInNeverLeavesTheOrganisationWithoutAnOwner: the only owner,
// moved to single sign-on, signs in while the provider's groups map them
// to admin (the owner list of the mapping forgot them), then to nothing.
// The API refuses to demote or suspend the last active owner (409); the
// role mapping applied at sign-in must keep the same rule, or the
// organisation is left without anyone who may make an owner again.
func TestSSOSignInNeverLeavesTheOrganisationWithoutAnOwner(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	owner := s.AdminSession(t)
	pat := s.CreateToken(t, owner, map[string]any{"name": "ops", "scopes": []string{"*"}, "expires_in": "720h"})
	linkOnConsole(t, s, owner, servertest.AdminUser, "sub-boss")

	m.QueueUser(user("sub-boss", servertest.AdminUser, "lk-admins"))
	code, _, sess := signIn(t, s, "corp")
	if got := activeOwners(t, s, pat.Secret); len(got) == 0 {
		t.Errorf("after the last owner signed in with a group mapped to admin (%d, session %t): no active owner is left", code, sess != "")
	}

	m.QueueUser(user("sub-boss", servertest.AdminUser, "design"))
	code, body, _ := signIn(t, s, "corp")
	if code != http.StatusForbidden {
		t.Errorf("the last owner signing in with no mapped group: %d, want 403: %.300s", code, between(body, "<main", "</main>"))
	}
	if strings.Contains(body, "was suspended") {
		t.Errorf("the refusal tells the last owner their account was suspended, which it was not: %.300s", between(body, "<main", "</main>"))
	}
	if got := activeOwners(t, s, pat.Secret); len(got) == 0 {
		t.Errorf("after the last owner signed in with no mapped group: no active owner is left (%s's token: /me %d)", servertest.AdminUser, meStatus(t, s, pat.Secret))
	}
}

// TestSCIMNeverDeactivatesOrDeletesTheLastOwner: an identity provider's
// SCIM client, even with an owner's admin access token, cannot deactivate, replace as
// inactive, or delete the last active owner: the API answers 409 to the
// same change, and SCIM is another door to the same rule.
func TestSCIMNeverDeactivatesOrDeletesTheLastOwner(t *testing.T) {
	s := servertest.Start(t, "--config="+scimConfig(t))
	owner := s.AdminSession(t)
	linkOnConsole(t, s, owner, servertest.AdminUser, "sub-boss")
	// An owner's admin access token (a service account's: SCIM takes no
	// personal token); service accounts are not owners to keep.
	robot := s.CreateUser(t, owner, "scim-owner", "", "owner", "service")
	tok := s.CreateToken(t, owner, map[string]any{"name": "idp", "user_id": robot, "scopes": []string{"scim"}, "expires_in": "720h"}).Secret
	c := scimCall{t, s, tok}
	var me struct {
		User struct{ ID string } `json:"user"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/me", owner, nil, 200, &me)
	id := me.User.ID

	for _, call := range []struct{ method, path, body string }{
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`},
		{"PUT", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"admin","active":false}`},
		{"DELETE", "/Users/" + id, ""},
	} {
		code, out, _ := c.do(call.method, call.path, call.body)
		if got := activeOwners(t, s, owner); len(got) == 0 {
			t.Fatalf("SCIM %s of the last owner: %d %v; no active owner is left", call.method, code, out)
		}
		if code != http.StatusConflict {
			t.Errorf("SCIM %s of the last owner: %d %v, want 409 (the last active owner stays)", call.method, code, out)
		}
	}
}
