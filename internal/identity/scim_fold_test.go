package identity_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMOfAnAdminCannotRenameAnOwnerGroupToALookAlike: renaming lk-owners
// to "l\u212A-owners" (the Kelvin sign for k) is a rename: the role mapping
// no longer grants it the owner role, so an admin's SCIM token may not do
// it, as it may not rename it otherwise.
func TestSCIMOfAnAdminCannotRenameAnOwnerGroupToALookAlike(t *testing.T) {
	s := servertest.Start(t, "--config="+scimConfig(t))
	owner := s.AdminSession(t)
	byAdmin := scimCall{t, s, scimToken(t, s, owner, "scim")}
	ownerRobot := s.CreateUser(t, owner, "scim-owner", "", "owner", "service")
	byOwner := scimCall{t, s, s.CreateToken(t, owner, map[string]any{"name": "idp", "user_id": ownerRobot, "scopes": []string{"scim"}, "no_expiry": true}).Secret}
	eve := byOwner.want("POST", "/Users", `{"userName":"eve"}`, 201)["id"].(string)
	gid := byOwner.want("POST", "/Groups", `{"displayName":"lk-owners","members":[{"value":"`+eve+`"}]}`, 201)["id"].(string)
	for _, name := range []string{"l\u212A-owners", "lk-owner\u017F"} {
		code, out, _ := byAdmin.do("PUT", "/Groups/"+gid, `{"displayName":"`+name+`","members":[{"value":"`+eve+`"}]}`)
		if code != 403 || !strings.Contains(mustJSON(out), "owner") {
			t.Errorf("an admin's SCIM rename of lk-owners to %q: %d %v, want 403", name, code, out)
		}
	}
	if g := byOwner.want("GET", "/Groups/"+gid, "", 200); g["displayName"] != "lk-owners" {
		t.Errorf("lk-owners is now named %q", g["displayName"])
	}
}
